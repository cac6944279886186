package io.kernels4j.ops;

/** A CUDA runtime failure: the {@code cudaError_t} code, its name and its text. */
public class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int code;
    private final String errorName;

    public CudaException(int code, String errorName, String message) {
        super(message);
        this.code = code;
        this.errorName = errorName;
    }

    /** The cudaError_t value. */
    public int code() {
        return code;
    }

    /** The cudaError_t name, e.g. {@code cudaErrorMemoryAllocation}. */
    public String errorName() {
        return errorName;
    }
}
