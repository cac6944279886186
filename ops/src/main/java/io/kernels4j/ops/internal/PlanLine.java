package io.kernels4j.ops.internal;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.Stream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The one way the ops' plan queries ({@code Fp8Gemm.plan}, {@code MlaDecode.plan}) call a native
 * function that writes the kernel configuration as one NUL-terminated line into a buffer. Not on the
 * op path: it allocates its buffer.
 */
public final class PlanLine {
    /** Buffer bytes: the native side truncates to fit. */
    static final long BYTES = 512;

    /** The downcall: writes at most {@code size} bytes into {@code buf}, returns a k4j status code. */
    @FunctionalInterface
    public interface Call {
        /**
         * @param buf the buffer
         * @param size its bytes
         * @return the k4j status code
         * @throws Throwable what the downcall throws
         */
        int write(MemorySegment buf, long size) throws Throwable;
    }

    private PlanLine() {}

    /**
     * Makes the stream's device current, runs {@code call} and returns the line it wrote.
     *
     * @param stream a stream of the device to plan for
     * @param op the op's name, for the error
     * @param call the downcall
     * @return the line
     */
    public static String query(Stream stream, String op, Call call) {
        OpSupport.activate(stream);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(BYTES);
            int rc;
            try {
                rc = call.write(buf, BYTES);
            } catch (Throwable t) {
                OpSupport.endOp();
                throw Kernels4jNative.rethrow(t);
            }
            Status.check(rc, op);
            String line = buf.getString(0);
            OpSupport.endOp();
            return line;
        }
    }
}
