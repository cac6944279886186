package io.kernels4j.bench.jmh;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.kernels4j.bindings.Downcalls;
import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.internal.Checks;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.CompilerControl;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * Host cost of what an op call does besides launching, measured without a GPU: the Java argument
 * checks and the Panama downcall itself. Baselines: an out-of-line Java call (the floor of any
 * call), a downcall into libc ({@code abs}), and the same kernels4j downcall made "critical"
 * (no Java-to-native thread-state transition), which shows what the transition costs.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class HostOnlyBench {
    static final MethodHandle ABI = Downcalls.handle("k4j_abi_version", FunctionDescriptor.of(JAVA_INT));
    static final MethodHandle ABI_CRITICAL = Linker.nativeLinker().downcallHandle(
            io.kernels4j.bindings.NativeLibrary.lookup().findOrThrow("k4j_abi_version"),
            FunctionDescriptor.of(JAVA_INT), Linker.Option.critical(false));
    static final MethodHandle ABS = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().findOrThrow("abs"), FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    // Non-final fields: the JIT must not constant-fold the checked values.
    long m = 64, n = 2112, k = 7168;
    int k4jInt = -7;
    long[] shape = {2112, 7168};
    long[] expected = {2112, 7168};

    @CompilerControl(CompilerControl.Mode.DONT_INLINE)
    static int javaNoop() {
        return 1;
    }

    /** Floor: a Java static call that is not inlined. */
    @Benchmark
    public int javaCallBaseline() {
        return javaNoop();
    }

    /** A trivial libc function ({@code abs}) through the same Panama path: the cost of any downcall. */
    @Benchmark
    public int downcallLibcAbs() throws Throwable {
        return (int) ABS.invokeExact(k4jInt);
    }

    /** {@code k4j_abi_version}: a no-op kernels4j downcall, as every op makes one. */
    @Benchmark
    public int downcallAbiVersion() throws Throwable {
        return (int) ABI.invokeExact();
    }

    /** The same downcall as a critical one (no thread-state transition): the transition's cost. */
    @Benchmark
    public int downcallAbiVersionCritical() throws Throwable {
        return (int) ABI_CRITICAL.invokeExact();
    }

    /** {@code k4j_last_error}: what an error path reads (returns a pointer; no string decoding). */
    @Benchmark
    public MemorySegment downcallLastError() throws Throwable {
        return (MemorySegment) Kernels4jNative.k4j_last_error.invokeExact();
    }

    /**
     * The scalar argument checks of a dense FP8 GEMM (M, N, K positive, K % 16, N % 8) plus one
     * shape comparison as {@link Checks#requireTensor} does it, without tensors (which need a device).
     */
    @Benchmark
    public boolean gemmScalarChecks() {
        Checks.requirePositive(m, "m");
        Checks.requirePositive(n, "n");
        Checks.requirePositive(k, "k");
        Checks.requireMultiple(k, 16, "k");
        Checks.requireMultiple(n, 8, "n");
        boolean ok = shape.length == expected.length;
        for (int i = 0; ok && i < shape.length; i++) ok = expected[i] == Checks.ANY || expected[i] == shape[i];
        Checks.require(ok, "b: shape mismatch");
        return ok;
    }
}
