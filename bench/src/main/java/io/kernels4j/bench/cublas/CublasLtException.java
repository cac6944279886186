package io.kernels4j.bench.cublas;

/** A cuBLASLt call failed: the {@code cublasStatus_t} and which call. */
public class CublasLtException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;

    public CublasLtException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The cublasStatus_t value (15 = CUBLAS_STATUS_NOT_SUPPORTED). */
    public int status() {
        return status;
    }
}
