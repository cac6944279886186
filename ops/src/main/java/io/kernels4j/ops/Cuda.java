package io.kernels4j.ops;

import static io.kernels4j.bindings.cuda.CudaRuntime.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.bindings.NativeLibrary;
import io.kernels4j.bindings.NativeLibraryException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The CUDA runtime linked into libkernels4j: versions, device count and error translation. Every
 * entry point of the ops layer goes through here first, which loads the library; a library that
 * cannot be loaded is a {@link GpuUnavailableException}, never an {@link Error}.
 */
public final class Cuda {
    private static volatile Kernels4j.Availability availability;
    /** " [emulated: kernels4j CPU emulator (sm_90)]" on the emulator, "" on a GPU; set once loaded. */
    private static volatile String emulationLabel;

    private Cuda() {}

    /**
     * Loads the native library, translating a failure.
     *
     * @throws GpuUnavailableException if it cannot be loaded
     */
    static void requireLibrary() {
        if (emulationLabel != null) return;
        try {
            NativeLibrary.load();
            String d = NativeLibrary.emulatorDescription();
            emulationLabel = d == null ? "" : " [emulated: " + d.split(",", 2)[0] + "]";
        } catch (NativeLibraryException e) {
            throw unavailable(e);
        }
    }

    private static GpuUnavailableException unavailable(NativeLibraryException e) {
        return new GpuUnavailableException(reasonOf(e), 0, "", "no usable GPU: " + e.getMessage(), e);
    }

    private static GpuUnavailableException.Reason reasonOf(NativeLibraryException e) {
        return switch (e.reason()) {
            case UNSUPPORTED_PLATFORM -> GpuUnavailableException.Reason.UNSUPPORTED_PLATFORM;
            case INVALID_CONFIGURATION -> GpuUnavailableException.Reason.INVALID_CONFIGURATION;
            case NOT_LOADABLE, MISMATCH -> GpuUnavailableException.Reason.LIBRARY_NOT_LOADABLE;
        };
    }

    /**
     * Says which device runs the work when it is not a GPU: {@code " [emulated: kernels4j CPU
     * emulator (sm_90)]"} on the CPU emulator, {@code ""} on a GPU or before the library is loaded.
     * Appended to device names and CUDA error messages so no result is mistaken for a GPU's.
     *
     * @return the label, possibly empty
     */
    public static String emulationLabel() {
        String l = emulationLabel;
        return l == null ? "" : l;
    }

    /**
     * Throws {@link CudaException} unless {@code err} is cudaSuccess. Also resets the thread's CUDA
     * "last error": a failed runtime call (say an out-of-memory cudaMalloc the caller catches) would
     * otherwise be reported by the next kernel launch's check as that launch's failure.
     *
     * @param err a cudaError_t
     * @param what the call, for the message
     */
    public static void check(int err, String what) {
        if (err != 0) {
            cudaGetLastError();
            throw exception(err, what);
        }
    }

    /**
     * The exception for a cudaError_t.
     *
     * @param err a cudaError_t other than cudaSuccess
     * @param what the call, for the message
     * @return the exception, naming the emulator when it runs the work
     */
    public static CudaException exception(int err, String what) {
        String name = errorName(err);
        return new CudaException(err, name, what + ": " + name + " (" + errorString(err) + ")" + emulationLabel());
    }

    /**
     * The name of a cudaError_t.
     *
     * @param err a cudaError_t
     * @return e.g. {@code cudaErrorMemoryAllocation}
     * @throws GpuUnavailableException if the native library cannot be loaded
     */
    public static String errorName(int err) {
        requireLibrary();
        return Kernels4jNative.cString(cudaGetErrorName(err));
    }

    /**
     * The text of a cudaError_t.
     *
     * @param err a cudaError_t
     * @return the runtime's description
     * @throws GpuUnavailableException if the native library cannot be loaded
     */
    public static String errorString(int err) {
        requireLibrary();
        return Kernels4jNative.cString(cudaGetErrorString(err));
    }

    /**
     * CUDA runtime version linked into the library.
     *
     * @return e.g. 13000 for 13.0
     * @throws GpuUnavailableException if the native library cannot be loaded
     */
    public static int runtimeVersion() {
        requireLibrary();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check(cudaRuntimeGetVersion(v), "cudaRuntimeGetVersion");
            return v.get(JAVA_INT, 0);
        }
    }

    /**
     * Highest CUDA version the installed driver supports.
     *
     * @return e.g. 13000, or 0 when there is no driver
     * @throws GpuUnavailableException if the native library cannot be loaded
     */
    public static int driverVersion() {
        requireLibrary();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            int err = cudaDriverGetVersion(v);
            return err == 0 ? v.get(JAVA_INT, 0) : 0;
        }
    }

    /**
     * Number of CUDA devices; never throws.
     *
     * @return the count, 0 when there is no library, driver or device
     */
    public static int deviceCount() {
        return availability().deviceCount();
    }

    /**
     * Whether a usable device is there; never throws.
     *
     * @return {@code availability().available()}
     */
    public static boolean isAvailable() {
        return availability().available();
    }

    /**
     * Probes the library and the driver once per process; never throws (see {@link Kernels4j#availability()}).
     *
     * @return the cached answer
     */
    public static Kernels4j.Availability availability() {
        Kernels4j.Availability a = availability;
        if (a != null) return a;
        synchronized (Cuda.class) {
            if (availability == null) availability = probe();
            return availability;
        }
    }

    private static Kernels4j.Availability probe() {
        try {
            requireLibrary();
        } catch (GpuUnavailableException e) {
            // The loader's own message: requireAvailable() and the examples put their prefix before it.
            String why = e.getCause() != null ? e.getCause().getMessage() : e.getMessage();
            return new Kernels4j.Availability(false, oneLine(why), e.reason(), null, 0, false);

        } catch (RuntimeException | LinkageError e) { // whatever else the platform throws: still an answer
            return new Kernels4j.Availability(false, oneLine("the native library could not be loaded: " + e),
                    GpuUnavailableException.Reason.LIBRARY_NOT_LOADABLE, null, 0, false);
        }
        String from = NativeLibrary.loadedFrom();
        boolean emulated = !emulationLabel().isEmpty();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(JAVA_INT);
            int err = cudaGetDeviceCount(n);
            if (err == 0 && n.get(JAVA_INT, 0) > 0)
                return new Kernels4j.Availability(true, "", null, from, n.get(JAVA_INT, 0), emulated);
            cudaGetLastError(); // the probe's error is expected; do not leave it for later calls
            String reason;
            GpuUnavailableException.Reason kind;
            if (err == cudaErrorInsufficientDriver() && driverVersion() == 0) {
                reason = "no CUDA driver";
                kind = GpuUnavailableException.Reason.NO_DRIVER;
            } else if (err == cudaErrorInsufficientDriver()) {
                reason = "the CUDA driver is older than the runtime (" + version(driverVersion()) + " < "
                        + version(runtimeVersion()) + ")";
                kind = GpuUnavailableException.Reason.DRIVER_TOO_OLD;
            } else if (err == 0 || err == cudaErrorNoDevice()) {
                reason = "no CUDA device";
                kind = GpuUnavailableException.Reason.NO_DEVICE;
            } else {
                reason = errorName(err) + ": " + errorString(err);
                kind = GpuUnavailableException.Reason.CUDA_ERROR;
            }
            return new Kernels4j.Availability(false, reason, kind, from, 0, emulated);
        } catch (RuntimeException | LinkageError e) {
            return new Kernels4j.Availability(false, oneLine("the CUDA runtime failed while looking for devices: " + e),
                    GpuUnavailableException.Reason.CUDA_ERROR, from, 0, emulated);
        }
    }

    /** The loader's multi-line "tried:" list on one line (the reason is printed in one line by the CLI). */
    private static String oneLine(String s) {
        return s.replaceAll(":\\s*\\n\\s*", ": ").replaceAll("\\s*\\n\\s*", "; ");
    }

    /**
     * A CUDA version number as text.
     *
     * @param v e.g. 13000
     * @return e.g. "13.0", or "none" for 0
     */
    public static String version(int v) {
        return v == 0 ? "none" : (v / 1000) + "." + (v % 1000) / 10;
    }

    /**
     * Throws unless a usable device is there.
     *
     * @throws GpuUnavailableException with the availability reason when no GPU can be used
     */
    public static void requireAvailable() {
        Kernels4j.Availability a = availability();
        if (!a.available()) {
            int code = switch (a.unavailableReason()) {
                case NO_DRIVER, DRIVER_TOO_OLD -> cudaErrorInsufficientDriver();
                case NO_DEVICE -> cudaErrorNoDevice();
                default -> 0;
            };
            throw new GpuUnavailableException(a.unavailableReason(), code, code == 0 ? "" : errorName(code),
                    "no CUDA GPU available: " + a.reason(), null);
        }
    }
}
