package io.kernels4j.ops.internal;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.Cuda;
import io.kernels4j.ops.CudaException;

/** Turns a k4j_ status code into the exception the Java layer promises (internal, not exported). */
public final class Status {
    private Status() {}

    /**
     * Returns when {@code rc} is K4J_OK. Otherwise throws {@link IllegalArgumentException} for
     * K4J_ERR_INVALID_ARGUMENT, {@link UnsupportedOperationException} for K4J_ERR_UNSUPPORTED,
     * {@link CudaException} for a positive cudaError_t, {@link IllegalStateException} else; each with
     * the native message. A failure also ends the calling thread's op (see {@link OpSupport#activate}).
     */
    public static void check(int rc, String op) {
        if (rc == Kernels4jNative.K4J_OK) return;
        RuntimeException e = exception(rc, op);
        OpSupport.endOp();
        throw e;
    }

    public static RuntimeException exception(int rc, String op) {
        String msg = op + ": " + Kernels4jNative.lastError();
        if (rc == Kernels4jNative.K4J_ERR_INVALID_ARGUMENT) return new IllegalArgumentException(msg);
        if (rc == Kernels4jNative.K4J_ERR_UNSUPPORTED) return new UnsupportedOperationException(msg);
        if (rc > 0) {
            String name = Cuda.errorName(rc);
            return new CudaException(rc, name, msg + Cuda.emulationLabel());
        }
        return new IllegalStateException(msg + " (status " + rc + ")");
    }
}
