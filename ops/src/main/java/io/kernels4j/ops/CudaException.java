package io.kernels4j.ops;

/** A CUDA runtime failure: the {@code cudaError_t} code, its name and its text. */
public class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** The cudaError_t value. */
    private final int code;
    /** The cudaError_t name. */
    private final String errorName;

    /**
     * Creates the exception.
     *
     * @param code the cudaError_t value (0 when the failure did not come from CUDA)
     * @param errorName its name, e.g. {@code cudaErrorMemoryAllocation}
     * @param message what failed
     */
    public CudaException(int code, String errorName, String message) {
        this(code, errorName, message, null);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param code the cudaError_t value (0 when the failure did not come from CUDA)
     * @param errorName its name, e.g. {@code cudaErrorMemoryAllocation} ("" when {@code code} is 0)
     * @param message what failed
     * @param cause the underlying failure, or null
     */
    protected CudaException(int code, String errorName, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.errorName = errorName;
    }

    /**
     * The cudaError_t value.
     *
     * @return the code, 0 when the failure did not come from CUDA
     */
    public int code() {
        return code;
    }

    /**
     * The cudaError_t name, e.g. {@code cudaErrorMemoryAllocation}.
     *
     * @return the name, "" when {@link #code()} is 0
     */
    public String errorName() {
        return errorName;
    }
}
