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

    /** {@code K4J_OK}: the call succeeded. */
    public static final int K4J_OK = 0;
    /** {@code K4J_ERR_INVALID_ARGUMENT}: an argument was rejected ({@link #lastError()} says which). */
    public static final int K4J_ERR_INVALID_ARGUMENT = -1;
    /** {@code K4J_ERR_UNSUPPORTED}: the device or the library build does not support the call. */
    public static final int K4J_ERR_UNSUPPORTED = -2;
    /** {@code K4J_ERR_INTERNAL}: a bug in the library. */
    public static final int K4J_ERR_INTERNAL = -3;

    /** Device error bit: an index read from device data was out of range (the element was skipped). */
    public static final int K4J_DEVERR_INDEX_OUT_OF_RANGE = 1;
    /** Device error bit: a length read from device data was out of range (it was clamped). */
    public static final int K4J_DEVERR_LENGTH_OUT_OF_RANGE = 1 << 1;
    /** Device error bit: more rows than an output holds (the excess was dropped). */
    public static final int K4J_DEVERR_CAPACITY_OVERFLOW = 1 << 2;

    private Kernels4jNative() {}

    /** Downcall handle of {@code const char *k4j_version_string(void)}. */
    public static final MethodHandle k4j_version_string = Downcalls.handle("k4j_version_string", FunctionDescriptor.of(ADDRESS));
    /** Downcall handle of {@code const char *k4j_cuda_archs(void)}. */
    public static final MethodHandle k4j_cuda_archs = Downcalls.handle("k4j_cuda_archs", FunctionDescriptor.of(ADDRESS));
    /** Downcall handle of {@code int k4j_cuda_build_version(void)}. */
    public static final MethodHandle k4j_cuda_build_version = Downcalls.handle("k4j_cuda_build_version", FunctionDescriptor.of(JAVA_INT));
    /** Downcall handle of {@code const char *k4j_last_error(void)}. */
    public static final MethodHandle k4j_last_error = Downcalls.handle("k4j_last_error", FunctionDescriptor.of(ADDRESS));
    /** Downcall handle of {@code int k4j_host_f32_to_e4m3(const float *, uint8_t *, int64_t n, int saturate)}. */
    public static final MethodHandle k4j_host_f32_to_e4m3 = Downcalls.handle("k4j_host_f32_to_e4m3",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT));
    /** Downcall handle of {@code int k4j_host_e4m3_to_f32(const uint8_t *, float *, int64_t n)}. */
    public static final MethodHandle k4j_host_e4m3_to_f32 = Downcalls.handle("k4j_host_e4m3_to_f32",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
    /** Downcall handle of {@code int k4j_host_f32_to_bf16(const float *, uint16_t *, int64_t n)}. */
    public static final MethodHandle k4j_host_f32_to_bf16 = Downcalls.handle("k4j_host_f32_to_bf16",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
    /** Downcall handle of {@code int k4j_fill(...)}: fills device memory with a bit pattern, stream-ordered. */
    public static final MethodHandle k4j_fill = Downcalls.handle("k4j_fill",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS));

    /** K4J_ABI_VERSION of the loaded library. */
    static int abiVersion() {
        NativeLibrary.load();
        return NativeLibrary.abiVersion();
    }

    /** {@return the library version, e.g. {@code 0.1.0}} */
    public static String versionString() {
        try {
            return cString((MemorySegment) k4j_version_string.invokeExact());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The GPU targets compiled into the library, e.g. {@code [sm_80, sm_89, sm_90a, compute_90]}.
     *
     * @return the targets, in build order
     */
    public static String[] cudaArchs() {
        try {
            return cString((MemorySegment) k4j_cuda_archs.invokeExact()).split(",");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@return the CUDA toolkit version the library was built with, e.g. 13000} */
    public static int cudaBuildVersion() {
        try {
            return (int) k4j_cuda_build_version.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The message of the last failed k4j_ call on this thread ("" if none).
     *
     * @return the message, or "" when the last call succeeded
     */
    public static String lastError() {
        try {
            return cString((MemorySegment) k4j_last_error.invokeExact());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Reads a NUL-terminated C string returned by the library.
     *
     * @param p a {@code const char *}, or NULL
     * @return the string (UTF-8), "" for NULL
     */
    public static String cString(MemorySegment p) {
        if (p.address() == 0) return "";
        return p.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /**
     * Rethrows what a downcall threw: errors and runtime exceptions as they are, anything else wrapped.
     *
     * @param t what the downcall threw
     * @return never returns normally; declared so callers can write {@code throw rethrow(t)}
     */
    public static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) throw r;
        if (t instanceof Error e) throw e;
        throw new IllegalStateException(t);
    }
}
