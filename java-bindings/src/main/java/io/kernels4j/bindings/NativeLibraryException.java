package io.kernels4j.bindings;

/**
 * The kernels4j native library cannot be used in this JVM: the platform has no build of it, it was
 * not found or would not load, it does not match these bindings, or its selection (system
 * properties or environment) is invalid. Thrown by {@link NativeLibrary#load()} (the same failure on
 * every call after the first) and by every downcall of these bindings when the library is missing.
 * The ops layer reports it as its {@code GpuUnavailableException}.
 */
public class NativeLibraryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why the library cannot be used. */
    public enum Reason {
        /** No native build for this operating system and architecture. */
        UNSUPPORTED_PLATFORM,
        /** Not found, or found but the dynamic loader refused it (the message says why, per place tried). */
        NOT_LOADABLE,
        /** Loaded, but built for another ABI version of these bindings, or not the kind of library selected. */
        MISMATCH,
        /** A system property or environment variable that selects or configures the library has an invalid value. */
        INVALID_CONFIGURATION
    }

    /** Why the library cannot be used. */
    private final Reason reason;

    /**
     * Creates the exception.
     *
     * @param reason why the library cannot be used
     * @param message what was tried and what to do about it
     * @param cause the underlying failure, or null
     */
    public NativeLibraryException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    /**
     * Why the library cannot be used.
     *
     * @return the reason, never null
     */
    public Reason reason() {
        return reason;
    }
}
