package io.kernels4j.ops;

import io.kernels4j.bindings.NativeLibrary;

/**
 * Entry point for asking whether kernels4j can run here, without risking an exception.
 *
 * <pre>{@code
 * Kernels4j.Availability a = Kernels4j.availability();
 * if (!a.available()) log.info("kernels4j disabled: " + a.reason());
 * }</pre>
 */
public final class Kernels4j {
    private Kernels4j() {}

    /**
     * Whether a usable GPU (or the CPU emulator) is there, and if not, why.
     *
     * @param available true when at least one device can be used
     * @param reason empty when available, else one line saying why not (no driver, no device,
     *     unsupported platform, library not loadable, ...)
     * @param unavailableReason null when available, else the {@link GpuUnavailableException.Reason}
     *     the entry points throw with
     * @param libraryPath where the native library was loaded from, or null when it could not be loaded
     * @param deviceCount the number of devices (0 when unavailable)
     * @param emulated true when the library is the CPU emulator ({@code -Dkernels4j.device=emulator})
     */
    public record Availability(boolean available, String reason, GpuUnavailableException.Reason unavailableReason,
                               String libraryPath, int deviceCount, boolean emulated) {}

    /**
     * Probes the native library and the CUDA driver once per process (the answer is cached). Never
     * throws, whatever the operating system, architecture, driver or library: a failure is an answer
     * with {@code available() == false} and the reason.
     *
     * @return the answer, never null
     */
    public static Availability availability() {
        return Cuda.availability();
    }

    /**
     * The emulator's description, e.g. {@code "kernels4j CPU emulator (sm_90), seed 1234"}, when
     * the loaded library is the CPU emulator.
     *
     * @return the description, or null on the GPU library or when no library could be loaded
     */
    public static String emulatorDescription() {
        return Cuda.availability().emulated() ? NativeLibrary.emulatorDescription() : null;
    }
}
