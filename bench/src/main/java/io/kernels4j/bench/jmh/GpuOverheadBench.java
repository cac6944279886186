package io.kernels4j.bench.jmh;

import static io.kernels4j.bindings.cuda.CudaRuntime.cudaEventRecord;
import static io.kernels4j.bindings.cuda.CudaRuntime.cudaMemsetAsync;
import static io.kernels4j.bindings.cuda.CudaRuntime.cudaStreamQuery;

import io.kernels4j.bindings.GemmNative;
import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.Cuda;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Event;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.gemm.Fp8Gemm;
import io.kernels4j.ops.internal.OpSupport;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Host cost of op calls and of the CUDA runtime calls the library makes, on a GPU. Needs a usable
 * GPU: {@link JmhLauncher} runs these only when {@code Cuda.isAvailable()}, and run by hand without
 * one the setup fails with the reason.
 *
 * <p>Launch benchmarks enqueue a 1-element {@code k4j_fill}. So that the launch queue never fills
 * (a full queue turns a host-cost measurement into a GPU-throughput one), every
 * {@value #SYNC_EVERY}th call synchronises the stream; that cost, amortised, is in both the op and
 * the raw-launch figures, so their difference is the op's Java-side overhead.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class GpuOverheadBench {
    static final int SYNC_EVERY = 64;

    Stream stream;
    DeviceTensor one;
    Event event;
    MemorySegment streamHandle;
    MemorySegment eventHandle;
    long oneAddress;
    int calls;
    // A small dense FP8 GEMM (M=16, N=128, K=128): the full op path of a real kernel.
    static final int GM = 16, GN = 128, GK = 128;
    DeviceTensor ga, gsa, gb, gsb, gd;

    @Setup(Level.Trial)
    public void setUp() {
        var a = Cuda.availability();
        if (!a.available()) throw new IllegalStateException("no CUDA GPU available: " + a.reason());
        Device d = Device.get(0);
        stream = Stream.create(d);
        one = DeviceTensor.allocate(d, DType.INT32, 1);
        event = Event.create(false);
        streamHandle = OpSupport.handle(stream);
        eventHandle = event.handle();
        oneAddress = OpSupport.address(one);
        ga = DeviceTensor.allocate(d, DType.FP8_E4M3, GM, GK);
        gsa = DeviceTensor.allocate(d, DType.FP32, GK / 128, GM);
        gb = DeviceTensor.allocate(d, DType.FP8_E4M3, GN, GK);
        gsb = DeviceTensor.allocate(d, DType.FP32, GN / 128, GK / 128);
        gd = DeviceTensor.allocate(d, DType.BF16, GM, GN);
        ga.fill(0x38, stream); // e4m3 1.0 (host cost only, but never zeros)
        gb.fill(0xB8, stream); // e4m3 -1.0
        gsa.fill(Float.floatToRawIntBits(0.5f), stream);
        gsb.fill(Float.floatToRawIntBits(0.25f), stream);
        stream.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (stream != null) stream.synchronize();
        if (event != null) event.close();
        for (DeviceTensor t : new DeviceTensor[] {ga, gsa, gb, gsb, gd}) if (t != null) t.close();
        if (one != null) one.close();
        if (stream != null) stream.close();
    }

    private void drain() {
        if (++calls % SYNC_EVERY == 0) stream.synchronize();
    }

    /** The op path: Java checks, stream.activate(), downcall, argument checks in C, launch. */
    @Benchmark
    public void opFillOneElement() {
        one.fill(0x3F800000, stream);
        drain();
    }

    /** The raw launch: the same {@code k4j_fill} downcall with no Java-side work. */
    @Benchmark
    public int rawFillOneElement() throws Throwable {
        int rc = (int) Kernels4jNative.k4j_fill.invokeExact(oneAddress, 1L, 4, 0x3F800000, streamHandle);
        drain();
        return rc;
    }

    /** {@code Fp8Gemm.dense} end to end (M=16, N=128, K=128): Java checks, downcall, native checks, plan, launch. */
    @Benchmark
    public void opFp8GemmDenseSmall() {
        Fp8Gemm.dense(ga, gsa, gb, gsb, null, gd, stream);
        drain();
    }

    /** The same GEMM through the raw {@code k4j_fp8_gemm_dense} downcall (no Java-side checks). */
    @Benchmark
    public int rawFp8GemmDenseSmall() throws Throwable {
        int rc = (int) GemmNative.k4j_fp8_gemm_dense.invokeExact(OpSupport.address(ga), OpSupport.address(gsa), OpSupport.address(gb), OpSupport.address(gsb),
                0L, OpSupport.address(gd), DType.BF16.code(), (long) GM, (long) GN, (long) GK, streamHandle);
        drain();
        return rc;
    }

    /** A runtime-launched memset of 4 bytes (cudaMemsetAsync), the CUDA runtime's own launch path. */
    @Benchmark
    public int cudaMemsetAsyncFourBytes() {
        int rc = cudaMemsetAsync(MemorySegment.ofAddress(oneAddress), 1, 4, streamHandle);
        drain();
        return rc;
    }

    /** cudaEventRecord through Panama (the generated binding). */
    @Benchmark
    public int eventRecordPanama() {
        return cudaEventRecord(eventHandle, streamHandle);
    }

    /** cudaStreamQuery through Panama on an idle stream. */
    @Benchmark
    public int streamQueryPanama() {
        return cudaStreamQuery(streamHandle);
    }
}
