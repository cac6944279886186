package io.kernels4j.bench;

import static io.kernels4j.bindings.cuda.CudaRuntime.cudaMemcpyAsync;
import static io.kernels4j.bindings.cuda.CudaRuntime.cudaMemcpyDeviceToDevice;

import io.kernels4j.ops.Cuda;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.OpSupport;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The ceilings results are compared against, from the same run: the measured device-to-device copy
 * bandwidth (bytes read plus bytes written per second, timed like any kernel) and the datasheet
 * FP8/BF16 peaks ({@link DatasheetPeaks}, empty for an unknown device).
 *
 * @param device       the device name
 * @param copyBytesPerSec measured D2D copy bandwidth in bytes/s (0 when not measured)
 * @param copyTiming   the copy's timing (null when not measured)
 * @param copyBytes    bytes per copy direction
 * @param datasheet    datasheet peaks, labelled as such in reports
 */
public record Ceilings(String device, double copyBytesPerSec, Timing copyTiming, long copyBytes,
                       Optional<DatasheetPeaks> datasheet) {

    /** At most 1 GiB per buffer, at least 8x the L2, and never more than a quarter of free memory each. */
    static long copySize(long l2Bytes, long freeBytes) {
        long want = Math.max(1L << 30, 8 * l2Bytes);
        long cap = Math.max(1L << 20, freeBytes / 4);
        return Math.min(want, cap) & ~4095L;
    }

    /**
     * Measures the copy ceiling with {@code timer}: a {@code cudaMemcpyAsync} device-to-device of
     * {@link #copySize} bytes; bandwidth = 2 x bytes / median time.
     */
    public static Ceilings measure(Device device, Stream stream, KernelTimer timer) {
        Cuda.requireAvailable();
        long bytes = copySize(device.l2CacheBytes(), device.freeMemory());
        Timing t;
        try (DeviceTensor src = DeviceTensor.allocate(device, DType.INT32, bytes / 4);
             DeviceTensor dst = DeviceTensor.allocate(device, DType.INT32, bytes / 4)) {
            src.fill(0x3F800000, stream); // any non-zero pattern: never time on zeros
            MemorySegment s = MemorySegment.ofAddress(OpSupport.address(src));
            MemorySegment d = MemorySegment.ofAddress(OpSupport.address(dst));
            MemorySegment h = OpSupport.handle(stream);
            t = timer.time(() -> Cuda.check(cudaMemcpyAsync(d, s, bytes, cudaMemcpyDeviceToDevice(), h), "cudaMemcpyAsync(D2D)"));
        }
        return new Ceilings(device.name(), 2.0 * bytes / (t.medianMs() * 1e-3), t, bytes, DatasheetPeaks.lookup(device.name()));
    }

    /** Ceilings with no measurement (for CPU-side tests and reports written without a GPU). */
    public static Ceilings datasheetOnly(String deviceName) {
        return new Ceilings(deviceName, 0, null, 0, DatasheetPeaks.lookup(deviceName));
    }

    /** Ceilings from a known copy bandwidth (bytes/s), e.g. read back from a report. */
    public static Ceilings of(String deviceName, double copyBytesPerSec) {
        return new Ceilings(deviceName, copyBytesPerSec, null, 0, DatasheetPeaks.lookup(deviceName));
    }

    /** Fraction of the measured copy bandwidth a result reached (NaN when not measured). */
    public double bandwidthFraction(BenchResult r) {
        return copyBytesPerSec > 0 ? r.gbps() * 1e9 / copyBytesPerSec : Double.NaN;
    }

    /** Fraction of the datasheet FP8 peak a result reached (NaN when unknown). */
    public double fp8Fraction(BenchResult r) {
        return datasheet.flatMap(DatasheetPeaks::fp8).map(p -> r.tflops() * 1e12 / p).orElse(Double.NaN);
    }

    /** Fraction of the datasheet BF16 peak a result reached (NaN when unknown). */
    public double bf16Fraction(BenchResult r) {
        return datasheet.map(p -> r.tflops() * 1e12 / p.bf16Flops()).orElse(Double.NaN);
    }

    /** A Markdown section listing the ceilings and where each comes from. */
    public String markdown() {
        StringBuilder md = new StringBuilder("## Ceilings\n\n| ceiling | value | source |\n|---|---|---|\n");
        if (copyBytesPerSec > 0)
            md.append(String.format(java.util.Locale.ROOT, "| memory bandwidth | %.0f GB/s | measured: cudaMemcpyAsync D2D of %d MiB, (read + write) / median%s |%n",
                    copyBytesPerSec / 1e9, copyBytes >> 20, copyTiming == null ? "" : String.format(java.util.Locale.ROOT, ", spread %.1f%%", 100 * copyTiming.spread())));
        datasheet.ifPresentOrElse(p -> {
            if (p.fp8Flops() > 0)
                md.append(String.format(java.util.Locale.ROOT, "| FP8 tensor peak | %.0f TFLOP/s | datasheet (%s, dense), not measured |%n", p.fp8Flops() / 1e12, p.product()));
            md.append(String.format(java.util.Locale.ROOT, "| BF16 tensor peak | %.0f TFLOP/s | datasheet (%s, dense), not measured |%n", p.bf16Flops() / 1e12, p.product()));
            md.append(String.format(java.util.Locale.ROOT, "| DRAM bandwidth | %.0f GB/s | datasheet (%s), not measured |%n", p.memBytesPerSec() / 1e9, p.product()));
        }, () -> md.append("| compute peaks | - | no datasheet entry for ").append(device).append(" |\n"));
        return md.append('\n').toString();
    }

    /** For JSON reports: every figure with its source. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("device", device);
        if (copyBytesPerSec > 0) {
            m.put("copyGBps", copyBytesPerSec / 1e9);
            m.put("copySource", "measured: cudaMemcpyAsync device-to-device of " + copyBytes
                    + " bytes, (read + write) / median time");
            if (copyTiming != null) m.put("copySpread", copyTiming.spread());
        }
        datasheet.ifPresent(p -> {
            m.put("datasheetProduct", p.product());
            if (p.fp8Flops() > 0) m.put("fp8TflopsDatasheet", p.fp8Flops() / 1e12);
            m.put("bf16TflopsDatasheet", p.bf16Flops() / 1e12);
            m.put("memGBpsDatasheet", p.memBytesPerSec() / 1e9);
            m.put("peakSource", "datasheet (dense, FP32 accumulate), not measured");
        });
        return m;
    }
}
