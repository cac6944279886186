package io.kernels4j.ops.moe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.bindings.MoeNative;
import io.kernels4j.bindings.NativeLibrary;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.moe.MoeShapes.Arg;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Argument rules of the MoE ops, checked without a GPU (pure functions of dtypes and shapes). */
class MoeShapesTest {
    private static Arg a(String name, DType d, long... shape) {
        return new Arg(name, d, shape);
    }

    private static void fails(String prefix, Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().startsWith(prefix), () -> "message '" + ex.getMessage() + "' should start with '" + prefix + "'");
    }

    @Test
    void capacityAndWorkspaceQueries() {
        assertEquals(128 * 8 + 256 * 127, MoeLayout.maxPaddedRows(128, 8, 256, 128));
        assertEquals(7 + 7 * 63, MoeLayout.maxPaddedRows(7, 1, 64, 64)); // fewer pairs than experts
        assertEquals(4096 * 8, MoeLayout.maxPaddedRows(4096, 8, 256, 1));
        assertEquals(0, MoeLayout.maxPaddedRows(0, 8, 256, 128));
        assertEquals(0, MoeLayout.workspaceBytes(0, 8, 256));
        assertEquals(256 * 4, MoeLayout.workspaceBytes(1, 1, 256)); // one chunk
        assertEquals(64 * 256 * 4, MoeLayout.workspaceBytes(4096, 8, 256)); // 128 steps of 256 pairs -> 64 chunks
        assertEquals(64 * 8 * 4, MoeLayout.workspaceBytes(65536, 8, 8));
        fails("alignment:", () -> MoeLayout.maxPaddedRows(1, 1, 8, 0));
        fails("topK:", () -> MoeLayout.workspaceBytes(1, 33, 8));
        fails("numExperts:", () -> MoeLayout.workspaceBytes(1, 8, 1025));
        fails("numTokens:", () -> MoeLayout.workspaceBytes(-1, 8, 8));
    }

    @Test
    void javaQueriesMatchTheNativeOnes() throws Throwable {
        try {
            NativeLibrary.load();
        } catch (Throwable t) {
            Assumptions.abort("libkernels4j not loadable here: " + t);
        }
        long[][] shapes = {{0, 8, 256}, {1, 1, 8}, {7, 6, 64}, {128, 8, 256}, {4096, 8, 256}, {65536, 8, 1024}, {100000, 3, 17}};
        for (long[] s : shapes) {
            assertEquals(MoeLayout.workspaceBytes(s[0], s[1], s[2]),
                    (long) MoeNative.k4j_moe_layout_workspace_bytes.invokeExact(s[0], s[1], s[2]), () -> java.util.Arrays.toString(s));
            for (long al : new long[] {1, 64, 128})
                assertEquals(MoeLayout.maxPaddedRows(s[0], s[1], s[2], al),
                        (long) MoeNative.k4j_moe_max_padded_rows.invokeExact(s[0], s[1], s[2], al));
        }
        assertTrue((long) MoeNative.k4j_moe_layout_workspace_bytes.invokeExact(1L, 0L, 8L) < 0);
    }

    @Test
    void nativeChecksNameTheArgumentBeforeAnyLaunch() throws Throwable {
        try {
            NativeLibrary.load();
        } catch (Throwable t) {
            Assumptions.abort("libkernels4j not loadable here: " + t);
        }
        java.lang.foreign.MemorySegment nul = java.lang.foreign.MemorySegment.NULL;
        int rc = (int) MoeNative.k4j_moe_dispatch_contiguous.invokeExact(16L, 4L, 100L, 2L, 16L, 16L, 16L, 8L, 64L, 2, 16L, 16L,
                0, 0L, 0L, nul);
        assertEquals(-1, rc);
        assertTrue(io.kernels4j.bindings.Kernels4jNative.lastError().startsWith("hidden:"), io.kernels4j.bindings.Kernels4jNative.lastError());
        rc = (int) MoeNative.k4j_moe_layout.invokeExact(16L, 4L, 2L, 8L, 0L, 16L, 16L, 0L, 16L, 16L, 4096L, 0L, nul);
        assertEquals(-1, rc);
        assertTrue(io.kernels4j.bindings.Kernels4jNative.lastError().startsWith("alignment:"));
        rc = (int) MoeNative.k4j_moe_layout.invokeExact(16L, 4L, 2L, 8L, 1L, 16L, 16L, 0L, 16L, 16L, 0L, 0L, nul);
        assertEquals(-1, rc);
        assertTrue(io.kernels4j.bindings.Kernels4jNative.lastError().startsWith("workspace:"));
        rc = (int) MoeNative.k4j_moe_combine_masked.invokeExact(16L, 8L, 0L, 128L, 16L, 16L, 4L, 2L, 16L, 0L, nul);
        assertEquals(-1, rc);
        assertTrue(io.kernels4j.bindings.Kernels4jNative.lastError().startsWith("maxTokensPerExpert:"));
        rc = (int) MoeNative.k4j_moe_silu_mul_quant.invokeExact(16L, 2L, 8L, 128L, 16L, 0L, 2, 16L, 16L, 0, 0L, nul);
        assertEquals(-1, rc);
        assertTrue(io.kernels4j.bindings.Kernels4jNative.lastError().startsWith("mIndices:"));
        // A hidden size whose combine grid would exceed 65535 blocks along y: rejected, not launched.
        rc = (int) MoeNative.k4j_moe_combine_contiguous.invokeExact(16L, 8L, MoeShapes.MAX_HIDDEN + 128, 16L, 16L, 4L, 2L, 16L, 0L, nul);
        assertEquals(-1, rc);
        assertTrue(io.kernels4j.bindings.Kernels4jNative.lastError().startsWith("hidden: must be at most"),
                io.kernels4j.bindings.Kernels4jNative.lastError());
    }

    @Test
    void layoutShapes() {
        Arg idx = a("topkIdx", DType.INT32, 7, 6);
        MoeShapes.layout(idx, 64, 128, a("n", DType.INT32, 64), a("o", DType.INT32, 65), null, a("r", DType.INT32, 7, 6));
        fails("topkIdx: expected INT32[*, *], got FP32[7, 6]",
                () -> MoeShapes.layout(a("topkIdx", DType.FP32, 7, 6), 64, 1, a("n", DType.INT32, 64), a("o", DType.INT32, 65), null,
                        a("r", DType.INT32, 7, 6)));
        fails("expertOffsets: expected INT32[65], got INT32[64]",
                () -> MoeShapes.layout(idx, 64, 1, a("n", DType.INT32, 64), a("o", DType.INT32, 64), null, a("r", DType.INT32, 7, 6)));
        fails("rowOf: expected INT32[7, 6]",
                () -> MoeShapes.layout(idx, 64, 1, a("n", DType.INT32, 64), a("o", DType.INT32, 65), null, a("r", DType.INT32, 6, 7)));
        fails("totalRows: expected INT32[1]",
                () -> MoeShapes.layout(idx, 64, 1, a("n", DType.INT32, 64), a("o", DType.INT32, 65), a("t", DType.INT32, 2),
                        a("r", DType.INT32, 7, 6)));
        fails("alignment:", () -> MoeShapes.layout(idx, 64, 2048, a("n", DType.INT32, 64), a("o", DType.INT32, 65), null,
                a("r", DType.INT32, 7, 6)));
        fails("topK:", () -> MoeShapes.layout(a("topkIdx", DType.INT32, 7, 40), 64, 1, a("n", DType.INT32, 64),
                a("o", DType.INT32, 65), null, a("r", DType.INT32, 7, 40)));
        fails("numExperts:", () -> MoeShapes.layout(idx, 0, 1, a("n", DType.INT32, 0), a("o", DType.INT32, 1), null,
                a("r", DType.INT32, 7, 6)));
    }

    @Test
    void dispatchShapes() {
        Arg rowOf = a("rowOf", DType.INT32, 4, 8), n = a("numTokensPerExpert", DType.INT32, 256), o = a("expertOffsets", DType.INT32, 257);
        Arg x = a("x", DType.BF16, 4, 7168);
        MoeShapes.dispatchContiguous(x, rowOf, n, o, a("xOut", DType.BF16, 100, 7168), null, a("mIndices", DType.INT32, 100));
        MoeShapes.dispatchContiguous(x, rowOf, n, o, a("xOut", DType.FP8_E4M3, 101, 7168), a("xOutScales", DType.FP32, 56, 104), null);
        fails("xOutScales: expected FP32[56, 104], got FP32[56, 101]", () -> MoeShapes.dispatchContiguous(x, rowOf, n, o,
                a("xOut", DType.FP8_E4M3, 101, 7168), a("xOutScales", DType.FP32, 56, 101), null));
        fails("xOutScales: must not be null", () -> MoeShapes.dispatchContiguous(x, rowOf, n, o, a("xOut", DType.FP8_E4M3, 101, 7168), null, null));
        fails("xOutScales: must be null", () -> MoeShapes.dispatchContiguous(x, rowOf, n, o, a("xOut", DType.BF16, 101, 7168),
                a("xOutScales", DType.FP32, 56, 104), null));
        fails("hidden: must be a positive multiple of 128, got 100", () -> MoeShapes.dispatchContiguous(a("x", DType.BF16, 4, 100), rowOf, n, o,
                a("xOut", DType.BF16, 10, 100), null, null));
        long hBig = MoeShapes.MAX_HIDDEN + 128; // a grid of more than 65535 blocks along y
        fails("hidden: must be at most 67107840, got 67107968", () -> MoeShapes.dispatchContiguous(a("x", DType.BF16, 4, hBig), rowOf, n,
                o, a("xOut", DType.BF16, 10, hBig), null, null));
        fails("x: expected BF16[4, *], got FP32[4, 7168]", () -> MoeShapes.dispatchContiguous(a("x", DType.FP32, 4, 7168), rowOf, n, o,
                a("xOut", DType.BF16, 10, 7168), null, null));
        fails("xOut: expected dtype BF16 or FP8_E4M3", () -> MoeShapes.dispatchContiguous(x, rowOf, n, o, a("xOut", DType.FP32, 10, 7168), null, null));
        fails("xOut: expected BF16[*, 7168], got BF16[10, 7000]", () -> MoeShapes.dispatchContiguous(x, rowOf, n, o,
                a("xOut", DType.BF16, 10, 7000), null, null));
        fails("mIndices: expected INT32[100], got INT32[99]", () -> MoeShapes.dispatchContiguous(x, rowOf, n, o,
                a("xOut", DType.BF16, 100, 7168), null, a("mIndices", DType.INT32, 99)));
        fails("expertOffsets: expected INT32[257], got INT32[256]", () -> MoeShapes.dispatchContiguous(x, rowOf, n,
                a("expertOffsets", DType.INT32, 256), a("xOut", DType.BF16, 100, 7168), null, null));

        Arg idx = a("topkIdx", DType.INT32, 4, 8);
        Arg slot = a("slotOf", DType.INT32, 4, 8), counts = a("counts", DType.INT32, 256);
        MoeShapes.dispatchMasked(x, idx, rowOf, n, o, a("xOut", DType.FP8_E4M3, 256, 6, 7168), a("s", DType.FP32, 256, 56, 8), counts, slot,
                a("overflow", DType.INT32, 1));
        fails("xOutScales: expected FP32[256, 56, 8]", () -> MoeShapes.dispatchMasked(x, idx, rowOf, n, o, a("xOut", DType.FP8_E4M3, 256, 6, 7168),
                a("s", DType.FP32, 56, 8), counts, slot, null));
        fails("xOut: expected FP8_E4M3[256, *, 7168], got FP8_E4M3[255, 6, 7168]", () -> MoeShapes.dispatchMasked(x, idx, rowOf, n, o,
                a("xOut", DType.FP8_E4M3, 255, 6, 7168), a("s", DType.FP32, 255, 56, 8), counts, slot, null));
        fails("counts: expected INT32[256]", () -> MoeShapes.dispatchMasked(x, idx, rowOf, n, o, a("xOut", DType.BF16, 256, 6, 7168), null,
                a("counts", DType.INT32, 255), slot, null));
        fails("slotOf: expected INT32[4, 8]", () -> MoeShapes.dispatchMasked(x, idx, rowOf, n, o, a("xOut", DType.BF16, 256, 6, 7168), null,
                counts, a("slotOf", DType.INT32, 4, 7), null));
        fails("topkIdx: expected INT32[4, 8]", () -> MoeShapes.dispatchMasked(x, a("topkIdx", DType.INT32, 5, 8), rowOf, n, o,
                a("xOut", DType.BF16, 256, 6, 7168), null, counts, slot, null));
        fails("overflow: expected INT32[1]", () -> MoeShapes.dispatchMasked(x, idx, rowOf, n, o, a("xOut", DType.BF16, 256, 6, 7168), null,
                counts, slot, a("overflow", DType.INT32, 2)));
        fails("xOut: maxTokensPerExpert", () -> MoeShapes.dispatchMasked(x, idx, rowOf, n, o, a("xOut", DType.BF16, 256, 0, 7168), null,
                counts, slot, null));
    }

    @Test
    void combineAndSiluShapes() {
        Arg rowOf = a("rowOf", DType.INT32, 4, 8), w = a("topkWeights", DType.FP32, 4, 8), out = a("out", DType.BF16, 4, 7168);
        MoeShapes.combine(a("y", DType.BF16, 99, 7168), false, rowOf, "rowOf", w, out);
        MoeShapes.combine(a("y", DType.BF16, 256, 3, 7168), true, a("slotOf", DType.INT32, 4, 8), "slotOf", w, out);
        fails("topkWeights: expected FP32[4, 8], got BF16[4, 8]",
                () -> MoeShapes.combine(a("y", DType.BF16, 99, 7168), false, rowOf, "rowOf", a("w", DType.BF16, 4, 8), out));
        fails("out: expected BF16[4, 7168], got BF16[4, 7167]",
                () -> MoeShapes.combine(a("y", DType.BF16, 99, 7168), false, rowOf, "rowOf", w, a("out", DType.BF16, 4, 7167)));
        fails("y: expected BF16[*, *, *]", () -> MoeShapes.combine(a("y", DType.BF16, 99, 7168), true, rowOf, "slotOf", w, out));
        fails("slotOf: topK", () -> MoeShapes.combine(a("y", DType.BF16, 9, 3, 7168), true, a("slotOf", DType.INT32, 4, 0), "slotOf",
                a("w", DType.FP32, 4, 0), out));
        long tBig = 1L << 31; // one block per token: gridDim.x <= 2^31 - 1 (the native check)
        fails("rowOf: numTokens (dimension 0) must be at most 2^31 - 1", () -> MoeShapes.combine(a("y", DType.BF16, 99, 128), false,
                a("rowOf", DType.INT32, tBig, 1), "rowOf", a("topkWeights", DType.FP32, tBig, 1), a("out", DType.BF16, tBig, 128)));

        MoeShapes.siluAndMul(a("gateUp", DType.BF16, 300, 4096), false, a("out", DType.FP8_E4M3, 300, 2048),
                a("outScales", DType.FP32, 16, 300), a("mIndices", DType.INT32, 300), "mIndices");
        MoeShapes.siluAndMul(a("gateUp", DType.BF16, 8, 5, 512), true, a("out", DType.BF16, 8, 5, 256), null, a("counts", DType.INT32, 8), "counts");
        MoeShapes.siluAndMul(a("gateUp", DType.BF16, 8, 5, 512), true, a("out", DType.FP8_E4M3, 8, 5, 256), a("s", DType.FP32, 8, 2, 8), null, "counts");
        fails("inter: must be a positive multiple of 128, got 100", () -> MoeShapes.siluAndMul(a("gateUp", DType.BF16, 3, 200), false,
                a("out", DType.BF16, 3, 100), null, null, "mIndices"));
        fails("gateUp: last dimension must be 2 * inter", () -> MoeShapes.siluAndMul(a("gateUp", DType.BF16, 3, 257), false,
                a("out", DType.BF16, 3, 128), null, null, "mIndices"));
        fails("out: expected FP8_E4M3[300, 2048], got FP8_E4M3[300, 4096]", () -> MoeShapes.siluAndMul(a("gateUp", DType.BF16, 300, 4096), false,
                a("out", DType.FP8_E4M3, 300, 4096), a("outScales", DType.FP32, 16, 300), null, "mIndices"));
        fails("outScales: expected FP32[16, 300]", () -> MoeShapes.siluAndMul(a("gateUp", DType.BF16, 300, 4096), false,
                a("out", DType.FP8_E4M3, 300, 2048), a("outScales", DType.FP32, 300, 16), null, "mIndices"));
        fails("counts: expected INT32[8], got INT32[5]", () -> MoeShapes.siluAndMul(a("gateUp", DType.BF16, 8, 5, 512), true,
                a("out", DType.BF16, 8, 5, 256), null, a("counts", DType.INT32, 5), "counts"));
        fails("out: expected dtype BF16 or FP8_E4M3", () -> MoeShapes.siluAndMul(a("gateUp", DType.BF16, 3, 256), false,
                a("out", DType.FP32, 3, 128), null, null, "mIndices"));
    }
}
