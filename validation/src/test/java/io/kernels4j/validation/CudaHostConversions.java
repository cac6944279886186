package io.kernels4j.validation;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.kernels4j.bindings.Kernels4jNative;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * CUDA's own FP8/BF16 conversions, run on the CPU through libkernels4j's host entry points (no GPU
 * needed). Inputs are raw float bits so that NaN payloads reach CUDA unchanged.
 */
final class CudaHostConversions {
    private CudaHostConversions() {}

    private static void ok(int rc, String what) {
        if (rc != Kernels4jNative.K4J_OK)
            throw new AssertionError(what + " returned " + rc + ": " + Kernels4jNative.lastError());
    }

    /** {@code __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3)} of each float given by its bits. */
    static byte[] f32ToE4m3(int[] floatBits) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocateFrom(JAVA_INT, floatBits);
            MemorySegment out = a.allocate(floatBits.length);
            int rc = (int) Kernels4jNative.k4j_host_f32_to_e4m3.invokeExact(in, out, (long) floatBits.length, 1);
            ok(rc, "k4j_host_f32_to_e4m3");
            return out.toArray(JAVA_BYTE);
        } catch (Throwable t) {
            throw Kernels4jNative.rethrow(t);
        }
    }

    /** {@code float(__nv_cvt_fp8_to_halfraw(c, __NV_E4M3))} of each code, as raw float bits. */
    static int[] e4m3ToF32Bits(byte[] codes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocateFrom(JAVA_BYTE, codes);
            MemorySegment out = a.allocate(JAVA_FLOAT, codes.length);
            int rc = (int) Kernels4jNative.k4j_host_e4m3_to_f32.invokeExact(in, out, (long) codes.length);
            ok(rc, "k4j_host_e4m3_to_f32");
            return out.toArray(JAVA_INT);
        } catch (Throwable t) {
            throw Kernels4jNative.rethrow(t);
        }
    }

    /** {@code __float2bfloat16_rn(x)} bits of each float given by its bits. */
    static short[] f32ToBf16(int[] floatBits) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocateFrom(JAVA_INT, floatBits);
            MemorySegment out = a.allocate(JAVA_SHORT, floatBits.length);
            int rc = (int) Kernels4jNative.k4j_host_f32_to_bf16.invokeExact(in, out, (long) floatBits.length);
            ok(rc, "k4j_host_f32_to_bf16");
            return out.toArray(JAVA_SHORT);
        } catch (Throwable t) {
            throw Kernels4jNative.rethrow(t);
        }
    }
}
