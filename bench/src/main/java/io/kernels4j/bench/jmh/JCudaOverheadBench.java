package io.kernels4j.bench.jmh;

import java.util.concurrent.TimeUnit;
import jcuda.runtime.JCuda;
import jcuda.runtime.cudaEvent_t;
import jcuda.runtime.cudaStream_t;
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
 * The JCuda baseline for {@link GpuOverheadBench#eventRecordPanama} and
 * {@link GpuOverheadBench#streamQueryPanama}: the same runtime calls through JCuda's JNI bindings.
 * JCuda's natives (and the CUDA runtime they link) load on first use, here in the setup; where they
 * cannot load, the setup fails with that reason and nothing else is affected.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class JCudaOverheadBench {
    cudaStream_t stream;
    cudaEvent_t event;

    @Setup(Level.Trial)
    public void setUp() {
        var a = io.kernels4j.ops.Cuda.availability();
        if (!a.available()) throw new IllegalStateException("no CUDA GPU available: " + a.reason());
        try {
            stream = new cudaStream_t();
            event = new cudaEvent_t();
            check(JCuda.cudaStreamCreate(stream), "cudaStreamCreate");
            check(JCuda.cudaEventCreateWithFlags(event, jcuda.runtime.JCuda.cudaEventDisableTiming), "cudaEventCreateWithFlags");
        } catch (LinkageError e) {
            throw new IllegalStateException("JCuda natives could not be loaded: " + e, e);
        }
    }

    private static void check(int err, String what) {
        if (err != 0) throw new IllegalStateException("JCuda " + what + ": " + JCuda.cudaGetErrorString(err));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (event != null) JCuda.cudaEventDestroy(event);
        if (stream != null) JCuda.cudaStreamDestroy(stream);
    }

    @Benchmark
    public int eventRecordJCuda() {
        return JCuda.cudaEventRecord(event, stream);
    }

    @Benchmark
    public int streamQueryJCuda() {
        return JCuda.cudaStreamQuery(stream);
    }
}
