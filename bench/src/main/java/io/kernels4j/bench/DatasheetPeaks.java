package io.kernels4j.bench;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Vendor datasheet peaks, looked up by the CUDA device name. These are what NVIDIA publishes, not
 * what this machine was measured to do: reports label them "datasheet". Tensor-core figures are
 * dense (no 2:4 sparsity) with FP32 accumulation, the mode our GEMMs use; on GeForce parts FP32
 * accumulation runs at half the FP16-accumulate rate, and the table holds the FP32-accumulate
 * figure. An unknown device gives {@link Optional#empty()}: no made-up ceiling.
 *
 * @param product  the product the entry describes, e.g. {@code H100 SXM}
 * @param fp8Flops dense FP8 (e4m3) tensor-core FLOP/s, or 0 where the part has no FP8 tensor cores
 * @param bf16Flops dense BF16 tensor-core FLOP/s
 * @param memBytesPerSec datasheet DRAM bandwidth in bytes/s (for reference; the report's bandwidth
 *                 ceiling is the measured copy, see {@link Ceilings})
 */
public record DatasheetPeaks(String product, double fp8Flops, double bf16Flops, double memBytesPerSec) {
    private static final double T = 1e12;

    private record Entry(Pattern name, DatasheetPeaks peaks) {}

    // Order matters: more specific names first (H100 NVL before H100, H200 NVL before H200).
    // Sources: NVIDIA product datasheets (H100/H200/H20/A100/L40S/L4) and the Ada architecture
    // whitepaper (RTX 4090); sparse figures halved to dense.
    private static final List<Entry> TABLE = List.of(
            entry("\\bH100\\b.*\\bNVL\\b", "H100 NVL", 1670.5, 835.5, 3.9e12),
            entry("\\bH100\\b.*\\bPCIe\\b", "H100 PCIe", 1513, 756, 2.0e12),
            entry("\\bGH200\\b", "GH200 (H100 SXM compute)", 1979, 989.5, 4.0e12),
            entry("\\bH100\\b|\\bH800\\b", "H100 SXM", 1979, 989.5, 3.35e12),
            entry("\\bH200\\b.*\\bNVL\\b", "H200 NVL", 1670.5, 835.5, 4.8e12),
            entry("\\bH200\\b", "H200 SXM", 1979, 989.5, 4.8e12),
            entry("\\bH20\\b", "H20", 296, 148, 4.0e12),
            entry("\\bA100\\b.*\\bPCIe\\b", "A100 PCIe", 0, 312, 1.935e12),
            entry("\\bA100\\b|\\bA800\\b", "A100 SXM", 0, 312, 2.039e12),
            entry("\\bL40S\\b", "L40S", 733, 362, 0.864e12),
            entry("\\bL4\\b", "L4", 242.5, 121, 0.3e12),
            entry("\\bRTX 4090\\b", "GeForce RTX 4090", 330.3, 165.2, 1.008e12));

    private static Entry entry(String regex, String product, double fp8Tflops, double bf16Tflops, double mem) {
        return new Entry(Pattern.compile(regex, Pattern.CASE_INSENSITIVE),
                new DatasheetPeaks(product, fp8Tflops * T, bf16Tflops * T, mem));
    }

    /** The entry for a CUDA device name such as {@code NVIDIA H100 80GB HBM3}; empty when unknown. */
    public static Optional<DatasheetPeaks> lookup(String deviceName) {
        if (deviceName == null) return Optional.empty();
        for (Entry e : TABLE) if (e.name().matcher(deviceName).find()) return Optional.of(e.peaks());
        return Optional.empty();
    }

    /** Dense FP8 peak, empty where the part has none (A100). */
    public Optional<Double> fp8() {
        return fp8Flops > 0 ? Optional.of(fp8Flops) : Optional.empty();
    }
}
