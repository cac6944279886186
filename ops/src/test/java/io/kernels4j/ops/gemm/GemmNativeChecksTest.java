package io.kernels4j.ops.gemm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.bindings.GemmNative;
import io.kernels4j.bindings.Kernels4jNative;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * The native layer re-checks arguments before it touches the GPU: these calls fail with
 * K4J_ERR_INVALID_ARGUMENT and a message naming the argument, with or without a GPU (nothing is
 * launched and no device memory is touched; the pointers are fake).
 */
class GemmNativeChecksTest {
    private static final long P = 0x7f0000000000L;
    private static final int BF16 = 1, FP32 = 3, INT32 = 4;

    private static void expect(int rc, String start) {
        assertEquals(Kernels4jNative.K4J_ERR_INVALID_ARGUMENT, rc, "status");
        String msg = Kernels4jNative.lastError();
        assertTrue(msg.startsWith(start), () -> "message '" + msg + "' should start with '" + start + "'");
    }

    @Test
    void denseRejectsBadSizesDtypesAndPointers() throws Throwable {
        MemorySegment s = MemorySegment.NULL;
        expect((int) GemmNative.k4j_fp8_gemm_dense.invokeExact(P, P, P, P, 0L, P, BF16, 64L, 128L, 100L, s), "k:");
        expect((int) GemmNative.k4j_fp8_gemm_dense.invokeExact(P, P, P, P, 0L, P, BF16, 64L, 100L, 128L, s), "n:");
        expect((int) GemmNative.k4j_fp8_gemm_dense.invokeExact(P, P, P, P, 0L, P, BF16, 0L, 128L, 128L, s), "m:");
        expect((int) GemmNative.k4j_fp8_gemm_dense.invokeExact(P, P, P, P, 0L, P, INT32, 64L, 128L, 128L, s), "d:");
        expect((int) GemmNative.k4j_fp8_gemm_dense.invokeExact(0L, P, P, P, 0L, P, BF16, 64L, 128L, 128L, s), "a:");
        expect((int) GemmNative.k4j_fp8_gemm_dense.invokeExact(P + 8, P, P, P, 0L, P, BF16, 64L, 128L, 128L, s), "a:");
        expect((int) GemmNative.k4j_fp8_gemm_dense.invokeExact(P, P, P, P, P + 4, P, FP32, 64L, 128L, 128L, s), "c:");
    }

    @Test
    void groupedFormsRejectBadIndexArraysAndCounts() throws Throwable {
        MemorySegment s = MemorySegment.NULL;
        expect((int) GemmNative.k4j_fp8_gemm_grouped_contiguous.invokeExact(P, P, P, P, 0L, P, BF16, 0L, 256L, 128L, 128L, 4L,
                0L, s), "mIndices:");
        expect((int) GemmNative.k4j_fp8_gemm_grouped_contiguous.invokeExact(P, P, P, P, 0L, P, BF16, P, 256L, 128L, 128L, 0L,
                0L, s), "groups:");
        expect((int) GemmNative.k4j_fp8_gemm_grouped_ends.invokeExact(P, P, P, P, 0L, P, BF16, P + 2, 256L, 128L, 128L, 4L,
                0L, s), "groupEnds:");
        expect((int) GemmNative.k4j_fp8_gemm_grouped_masked.invokeExact(P, P, P, P, 0L, P, BF16, P, 4L, 64L, 128L, 128L, -1L,
                0L, s), "expectedM:");
        expect((int) GemmNative.k4j_fp8_gemm_grouped_masked.invokeExact(P, P, P, P, 0L, P, BF16, P, 4L, 0L, 128L, 128L, 0L,
                0L, s), "maxM:");
    }

    @Test
    void sizesAtTheLimitsAreRejectedWithoutOverflow() throws Throwable {
        MemorySegment s = MemorySegment.NULL;
        // K = 2^31 - 16 overflowed the kernels' int (K + 127) / 128; N likewise for its tile count.
        expect((int) GemmNative.k4j_fp8_gemm_dense.invokeExact(P, P, P, P, 0L, P, BF16, 1L, 128L, (1L << 31) - 16, s), "k:");
        expect((int) GemmNative.k4j_fp8_gemm_dense.invokeExact(P, P, P, P, 0L, P, BF16, 1L, (1L << 31) - 8, 128L, s), "n:");
        // G * N * K = 2^12 * 2^26 * 2^26 = 2^64 wrapped to 0 in the old overflow check and passed it.
        expect((int) GemmNative.k4j_fp8_gemm_grouped_contiguous.invokeExact(P, P, P, P, 0L, P, BF16, P, 1L, 1L << 26,
                1L << 26, 1L << 12, 0L, s), "m/n/k:");
        expect((int) GemmNative.k4j_fp8_gemm_grouped_masked.invokeExact(P, P, P, P, 0L, P, BF16, P, 1L << 12, 1L, 1L << 26,
                1L << 26, 0L, 0L, s), "m/n/k:");
        expect((int) GemmNative.k4j_fp8_quant_1x128.invokeExact(P, BF16, P, P, 1L, (1L << 31) - 64, 0, s), "k:");
        expect((int) GemmNative.k4j_fp8_quant_128x128.invokeExact(P, BF16, P, P, 1L, (1L << 31) - 1, 0, s), "k:");
    }

    @Test
    void quantisersRejectBadArguments() throws Throwable {
        MemorySegment s = MemorySegment.NULL;
        expect((int) GemmNative.k4j_fp8_quant_1x128.invokeExact(P, INT32, P, P, 4L, 128L, 0, s), "x:");
        expect((int) GemmNative.k4j_fp8_quant_1x128.invokeExact(P, BF16, P, P, 0L, 128L, 0, s), "m:");
        expect((int) GemmNative.k4j_fp8_quant_128x128.invokeExact(P, FP32, P, P + 4, 128L, 128L, 1, s), "scales:");
        expect((int) GemmNative.k4j_fp8_quant_128x128.invokeExact(P, FP32, 0L, P, 128L, 128L, 1, s), "q:");
    }
}
