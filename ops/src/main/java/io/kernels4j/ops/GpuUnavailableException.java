package io.kernels4j.ops;

/**
 * No usable GPU: thrown by every public entry point that needs one (device lookup, streams, events,
 * allocation, pinned memory, the CUDA runtime queries) when there is none to use. {@link #reason()}
 * says which case it is; the message says what was found and what to do. It is a
 * {@link CudaException}, so a handler for CUDA failures sees it too; {@link #code()} is the
 * cudaError_t the runtime answered ({@code cudaErrorNoDevice}, {@code cudaErrorInsufficientDriver},
 * ...), or 0 when the native library itself could not be used.
 *
 * <p>To ask without catching anything, use {@link Kernels4j#availability()}, which never throws.
 */
public class GpuUnavailableException extends CudaException {
    private static final long serialVersionUID = 1L;

    /** Why there is no usable GPU. */
    public enum Reason {
        /** No NVIDIA driver is installed (or it cannot be loaded). */
        NO_DRIVER,
        /** The driver is older than the CUDA runtime inside the library. */
        DRIVER_TOO_OLD,
        /** A driver, but no CUDA device it can use. */
        NO_DEVICE,
        /** kernels4j has no native build for this operating system and architecture. */
        UNSUPPORTED_PLATFORM,
        /** The native library was not found, would not load, or does not match these jars. */
        LIBRARY_NOT_LOADABLE,
        /** The library selection or configuration (system properties, environment) is invalid. */
        INVALID_CONFIGURATION,
        /** Another CUDA runtime failure while looking for devices (the message has the CUDA error). */
        CUDA_ERROR
    }

    /** Why there is no usable GPU. */
    private final Reason reason;

    /**
     * Creates the exception.
     *
     * @param reason why there is no usable GPU
     * @param code the cudaError_t the runtime answered, or 0 when the library could not be used
     * @param errorName the cudaError_t's name, or "" when {@code code} is 0
     * @param message what was found and what to do
     * @param cause the underlying failure, or null
     */
    public GpuUnavailableException(Reason reason, int code, String errorName, String message, Throwable cause) {
        super(code, errorName, message, cause);
        this.reason = reason;
    }

    /**
     * Why there is no usable GPU.
     *
     * @return the reason, never null
     */
    public Reason reason() {
        return reason;
    }
}
