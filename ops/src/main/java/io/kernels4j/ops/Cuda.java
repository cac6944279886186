package io.kernels4j.ops;

import static io.kernels4j.bindings.cuda.CudaRuntime.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.bindings.NativeLibrary;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The CUDA runtime linked into libkernels4j: versions, device count and error translation.
 * Every entry point of the ops layer goes through here first, which loads the library.
 */
public final class Cuda {
    static {
        NativeLibrary.load();
    }

    private static volatile Availability availability;

    private Cuda() {}

    /** Whether a usable GPU is present, and if not, why (one line). */
    public record Availability(boolean available, int deviceCount, String reason) {}

    /**
     * Throws {@link CudaException} unless {@code err} is cudaSuccess. Also resets the thread's CUDA
     * "last error": a failed runtime call (say an out-of-memory cudaMalloc the caller catches) would
     * otherwise be reported by the next kernel launch's check as that launch's failure.
     */
    public static void check(int err, String what) {
        if (err != 0) {
            cudaGetLastError();
            throw exception(err, what);
        }
    }

    public static CudaException exception(int err, String what) {
        String name = errorName(err);
        return new CudaException(err, name, what + ": " + name + " (" + errorString(err) + ")");
    }

    public static String errorName(int err) {
        return Kernels4jNative.cString(cudaGetErrorName(err));
    }

    public static String errorString(int err) {
        return Kernels4jNative.cString(cudaGetErrorString(err));
    }

    /** CUDA runtime version linked into the library (e.g. 13000). */
    public static int runtimeVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check(cudaRuntimeGetVersion(v), "cudaRuntimeGetVersion");
            return v.get(JAVA_INT, 0);
        }
    }

    /** Highest CUDA version the installed driver supports, or 0 when there is no driver. */
    public static int driverVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            int err = cudaDriverGetVersion(v);
            return err == 0 ? v.get(JAVA_INT, 0) : 0;
        }
    }

    /** Number of CUDA devices; 0 (not an exception) when there is no driver or no device. */
    public static int deviceCount() {
        return availability().deviceCount();
    }

    public static boolean isAvailable() {
        return availability().available();
    }

    /** Probes the driver once per process. A missing driver is a one-line reason, not an error. */
    public static Availability availability() {
        Availability a = availability;
        if (a != null) return a;
        synchronized (Cuda.class) {
            if (availability != null) return availability;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment n = arena.allocate(JAVA_INT);
                int err = cudaGetDeviceCount(n);
                if (err == 0 && n.get(JAVA_INT, 0) > 0) {
                    a = new Availability(true, n.get(JAVA_INT, 0), "");
                } else {
                    cudaGetLastError(); // the probe's error is expected; do not leave it for later calls
                    String reason;
                    if (err == cudaErrorInsufficientDriver() && driverVersion() == 0) reason = "no CUDA driver";
                    else if (err == cudaErrorInsufficientDriver()) reason = "the CUDA driver is older than the runtime ("
                            + version(driverVersion()) + " < " + version(runtimeVersion()) + ")";
                    else if (err == 0 || err == cudaErrorNoDevice()) reason = "no CUDA device";
                    else reason = errorName(err) + ": " + errorString(err);
                    a = new Availability(false, 0, reason);
                }
            }
            availability = a;
            return a;
        }
    }

    /** 13000 -> "13.0". */
    public static String version(int v) {
        return v == 0 ? "none" : (v / 1000) + "." + (v % 1000) / 10;
    }

    /** Throws an {@link IllegalStateException} with the availability reason when no GPU can be used. */
    public static void requireAvailable() {
        Availability a = availability();
        if (!a.available()) throw new IllegalStateException("no CUDA GPU available: " + a.reason());
    }
}
