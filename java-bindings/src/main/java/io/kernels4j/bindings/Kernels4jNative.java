package io.kernels4j.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** Downcalls for the core of {@code native/include/kernels4j.h}: library information, host conversions, fill. */
public final class Kernels4jNative {
    /** K4J_ABI_VERSION of the header these bindings were written against. */
    public static final int EXPECTED_ABI_VERSION = 1;

    public static final int K4J_OK = 0;
    public static final int K4J_ERR_INVALID_ARGUMENT = -1;
    public static final int K4J_ERR_UNSUPPORTED = -2;
    public static final int K4J_ERR_INTERNAL = -3;

    public static final int K4J_DEVERR_INDEX_OUT_OF_RANGE = 1;
    public static final int K4J_DEVERR_LENGTH_OUT_OF_RANGE = 1 << 1;
    public static final int K4J_DEVERR_CAPACITY_OVERFLOW = 1 << 2;

    private Kernels4jNative() {}

    public static final MethodHandle k4j_version_string = Downcalls.handle("k4j_version_string", FunctionDescriptor.of(ADDRESS));
    public static final MethodHandle k4j_cuda_archs = Downcalls.handle("k4j_cuda_archs", FunctionDescriptor.of(ADDRESS));
    public static final MethodHandle k4j_cuda_build_version = Downcalls.handle("k4j_cuda_build_version", FunctionDescriptor.of(JAVA_INT));
    public static final MethodHandle k4j_last_error = Downcalls.handle("k4j_last_error", FunctionDescriptor.of(ADDRESS));
    public static final MethodHandle k4j_host_f32_to_e4m3 = Downcalls.handle("k4j_host_f32_to_e4m3",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT));
    public static final MethodHandle k4j_host_e4m3_to_f32 = Downcalls.handle("k4j_host_e4m3_to_f32",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
    public static final MethodHandle k4j_host_f32_to_bf16 = Downcalls.handle("k4j_host_f32_to_bf16",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
    public static final MethodHandle k4j_fill = Downcalls.handle("k4j_fill",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS));

    /** K4J_ABI_VERSION of the loaded library. */
    static int abiVersion() {
        NativeLibrary.load();
        return NativeLibrary.abiVersion();
    }

    public static String versionString() {
        try {
            return cString((MemorySegment) k4j_version_string.invokeExact());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The GPU targets compiled into the library, e.g. {@code [sm_80, sm_89, sm_90a, compute_90]}. */
    public static String[] cudaArchs() {
        try {
            return cString((MemorySegment) k4j_cuda_archs.invokeExact()).split(",");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int cudaBuildVersion() {
        try {
            return (int) k4j_cuda_build_version.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The message of the last failed k4j_ call on this thread ("" if none). */
    public static String lastError() {
        try {
            return cString((MemorySegment) k4j_last_error.invokeExact());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Reads a NUL-terminated C string returned by the library. */
    public static String cString(MemorySegment p) {
        if (p.address() == 0) return "";
        return p.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** Rethrows what a downcall threw: errors and runtime exceptions as they are, anything else wrapped. */
    public static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) throw r;
        if (t instanceof Error e) throw e;
        throw new IllegalStateException(t);
    }
}
