package io.kernels4j.ops.gemm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The host-side argument checks of Fp8Gemm and Fp8Quantize, run on shapes alone (no GPU needed). */
class Fp8GemmArgsTest {
    private static final long BASE = 0x7f0000000000L; // a 256-byte aligned fake device address

    private static TensorArg t(String name, DType dtype, long... shape) {
        return new TensorArg(name, dtype, shape, BASE);
    }

    private static TensorArg at(String name, DType dtype, long address, long... shape) {
        return new TensorArg(name, dtype, shape, address);
    }

    private static void rejects(String expectedStart, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith(expectedStart), () -> "message '" + e.getMessage() + "' should start with '"
                + expectedStart + "'");
    }

    // dense M=7, N=576, K=7232 (K not a multiple of 128: KB = 57)
    private static Fp8Gemm.Problem dense(TensorArg a, TensorArg sa, TensorArg b, TensorArg sb, TensorArg c, TensorArg d) {
        return Fp8Gemm.validateDense(a, sa, b, sb, c, d);
    }

    private static TensorArg a() { return t("a", DType.FP8_E4M3, 7, 7232); }
    private static TensorArg sa() { return t("aScales", DType.FP32, 57, 8); }
    private static TensorArg b() { return t("b", DType.FP8_E4M3, 576, 7232); }
    private static TensorArg sb() { return t("bScales", DType.FP32, 5, 57); }
    private static TensorArg d() { return t("d", DType.BF16, 7, 576); }

    @Test
    void denseAcceptsValidShapesAndReportsTheProblem() {
        assertEquals(new Fp8Gemm.Problem(7, 576, 7232, 1), dense(a(), sa(), b(), sb(), null, d()));
        assertEquals(new Fp8Gemm.Problem(7, 576, 7232, 1),
                dense(a(), sa(), b(), sb(), t("c", DType.FP32, 7, 576), t("d", DType.FP32, 7, 576)));
    }

    @Test
    void denseRejectsBadShapesDtypesAndAlignment() {
        rejects("a: must not be null", () -> dense(null, sa(), b(), sb(), null, d()));
        rejects("a: expected FP8_E4M3[*, *], got BF16[7, 7232]", () -> dense(t("a", DType.BF16, 7, 7232), sa(), b(), sb(), null, d()));
        rejects("k: K must be a positive multiple of 16", () -> dense(t("a", DType.FP8_E4M3, 7, 7240), sa(), b(), sb(), null, d()));
        rejects("a: M (a.shape[0]) must be in [1", () -> dense(t("a", DType.FP8_E4M3, 0, 7232), sa(), b(), sb(), null, d()));
        rejects("b: expected FP8_E4M3[*, 7232], got FP8_E4M3[576, 7168]",
                () -> dense(a(), sa(), t("b", DType.FP8_E4M3, 576, 7168), sb(), null, d()));
        rejects("b: N must be a positive multiple of 8", () -> dense(a(), sa(), t("b", DType.FP8_E4M3, 570, 7232),
                t("bScales", DType.FP32, 5, 57), null, t("d", DType.BF16, 7, 570)));
        rejects("aScales: expected FP32[57, 8], got FP32[57, 7]", () -> dense(a(), t("aScales", DType.FP32, 57, 7), b(), sb(), null, d()));
        rejects("aScales: expected FP32[57, 8], got FP32[8, 57]", () -> dense(a(), t("aScales", DType.FP32, 8, 57), b(), sb(), null, d()));
        rejects("bScales: expected FP32[5, 57], got FP32[4, 57]", () -> dense(a(), sa(), b(), t("bScales", DType.FP32, 4, 57), null, d()));
        rejects("d: expected BF16|FP32[7, 576], got BF16[7, 512]", () -> dense(a(), sa(), b(), sb(), null, t("d", DType.BF16, 7, 512)));
        rejects("d: expected BF16|FP32[7, 576], got FP8_E4M3[7, 576]",
                () -> dense(a(), sa(), b(), sb(), null, t("d", DType.FP8_E4M3, 7, 576)));
        rejects("c: expected FP32[7, 576], got BF16[7, 576]", () -> dense(a(), sa(), b(), sb(), t("c", DType.BF16, 7, 576), d()));
        rejects("a: device address 0x7f0000000008 is not 16-byte aligned",
                () -> dense(at("a", DType.FP8_E4M3, BASE + 8, 7, 7232), sa(), b(), sb(), null, d()));
        rejects("d: device address", () -> dense(a(), sa(), b(), sb(), null, at("d", DType.BF16, BASE + 4, 7, 576)));
        rejects("bScales: device address", () -> dense(a(), sa(), b(), at("bScales", DType.FP32, BASE + 4, 5, 57), null, d()));
    }

    @Test
    void contiguousChecksGroupsAndIndexArrays() {
        TensorArg a = t("a", DType.FP8_E4M3, 300, 2048), sa = t("aScales", DType.FP32, 16, 300);
        TensorArg b = t("b", DType.FP8_E4M3, 4, 7168, 2048), sb = t("bScales", DType.FP32, 4, 56, 16);
        TensorArg d = t("d", DType.BF16, 300, 7168);
        assertEquals(new Fp8Gemm.Problem(300, 7168, 2048, 4),
                Fp8Gemm.validateContiguous(a, sa, b, sb, null, d, t("mIndices", DType.INT32, 300), "mIndices"));
        assertEquals(new Fp8Gemm.Problem(300, 7168, 2048, 4),
                Fp8Gemm.validateContiguous(a, sa, b, sb, null, d, t("groupEnds", DType.INT32, 4), "groupEnds"));
        rejects("mIndices: expected INT32[300], got INT32[299]",
                () -> Fp8Gemm.validateContiguous(a, sa, b, sb, null, d, t("mIndices", DType.INT32, 299), "mIndices"));
        rejects("groupEnds: expected INT32[4], got INT32[5]",
                () -> Fp8Gemm.validateContiguous(a, sa, b, sb, null, d, t("groupEnds", DType.INT32, 5), "groupEnds"));
        rejects("groupEnds: device address",
                () -> Fp8Gemm.validateContiguous(a, sa, b, sb, null, d, at("groupEnds", DType.INT32, BASE + 2, 4), "groupEnds"));
        rejects("bScales: expected FP32[4, 56, 16], got FP32[56, 16]",
                () -> Fp8Gemm.validateContiguous(a, sa, b, t("bScales", DType.FP32, 56, 16), null, d,
                        t("mIndices", DType.INT32, 300), "mIndices"));
        rejects("b: expected FP8_E4M3[*, *, 2048], got FP8_E4M3[7168, 2048]",
                () -> Fp8Gemm.validateContiguous(a, sa, t("b", DType.FP8_E4M3, 7168, 2048), sb, null, d,
                        t("mIndices", DType.INT32, 300), "mIndices"));
        rejects("mIndices: must not be null", () -> Fp8Gemm.validateContiguous(a, sa, b, sb, null, d, null, "mIndices"));
    }

    @Test
    void maskedChecksPerGroupLayouts() {
        TensorArg a = t("a", DType.FP8_E4M3, 8, 33, 7168), sa = t("aScales", DType.FP32, 8, 56, 36);
        TensorArg b = t("b", DType.FP8_E4M3, 8, 4096, 7168), sb = t("bScales", DType.FP32, 8, 32, 56);
        TensorArg d = t("d", DType.BF16, 8, 33, 4096), mm = t("maskedM", DType.INT32, 8);
        assertEquals(new Fp8Gemm.Problem(33, 4096, 7168, 8), Fp8Gemm.validateMasked(a, sa, b, sb, null, d, mm, 16));
        rejects("expectedM: must be >= 0", () -> Fp8Gemm.validateMasked(a, sa, b, sb, null, d, mm, -1));
        rejects("b: expected FP8_E4M3[8, *, 7168], got FP8_E4M3[4, 4096, 7168]",
                () -> Fp8Gemm.validateMasked(a, sa, t("b", DType.FP8_E4M3, 4, 4096, 7168), sb, null, d, mm, 0));
        rejects("aScales: expected FP32[8, 56, 36], got FP32[56, 8, 36]",
                () -> Fp8Gemm.validateMasked(a, t("aScales", DType.FP32, 56, 8, 36), b, sb, null, d, mm, 0));
        rejects("d: expected BF16|FP32[8, 33, 4096], got BF16[8, 32, 4096]",
                () -> Fp8Gemm.validateMasked(a, sa, b, sb, null, t("d", DType.BF16, 8, 32, 4096), mm, 0));
        rejects("maskedM: expected INT32[8], got FP32[8]",
                () -> Fp8Gemm.validateMasked(a, sa, b, sb, null, d, t("maskedM", DType.FP32, 8), 0));
        rejects("a: expected FP8_E4M3[*, *, *], got FP8_E4M3[264, 7168]",
                () -> Fp8Gemm.validateMasked(t("a", DType.FP8_E4M3, 264, 7168), sa, b, sb, null, d, mm, 0));
    }

    @Test
    void quantiserChecks() {
        assertEquals(2, Fp8Quantize.validate(t("x", DType.BF16, 5, 200), t("q", DType.FP8_E4M3, 5, 200),
                t("scales", DType.FP32, 2, 8), true).length);
        Fp8Quantize.validate(t("w", DType.FP32, 300, 200), t("q", DType.FP8_E4M3, 300, 200), t("scales", DType.FP32, 3, 2), false);
        rejects("scales: expected FP32[2, 8], got FP32[2, 5]", () -> Fp8Quantize.validate(t("x", DType.BF16, 5, 200),
                t("q", DType.FP8_E4M3, 5, 200), t("scales", DType.FP32, 2, 5), true));
        rejects("q: expected FP8_E4M3[5, 200], got BF16[5, 200]", () -> Fp8Quantize.validate(t("x", DType.BF16, 5, 200),
                t("q", DType.BF16, 5, 200), t("scales", DType.FP32, 2, 8), true));
        rejects("w: expected BF16|FP32[*, *], got INT32[300, 200]", () -> Fp8Quantize.validate(t("w", DType.INT32, 300, 200),
                t("q", DType.FP8_E4M3, 300, 200), t("scales", DType.FP32, 3, 2), false));
        rejects("scales: expected FP32[3, 2], got FP32[2, 3]", () -> Fp8Quantize.validate(t("w", DType.FP32, 300, 200),
                t("q", DType.FP8_E4M3, 300, 200), t("scales", DType.FP32, 2, 3), false));
    }

    @Test
    void sizesPastTheKernelsIntArithmeticAreRejected() {
        long k = (1L << 31) - 16; // a multiple of 16 below 2^31 whose (K + 127) / 128 overflows an int
        rejects("k: K must be a positive multiple of 16, at most 2^31 - 128", () -> dense(t("a", DType.FP8_E4M3, 1, k),
                t("aScales", DType.FP32, 1L << 24, 4), t("b", DType.FP8_E4M3, 8, k), t("bScales", DType.FP32, 1, 1L << 24), null,
                t("d", DType.BF16, 1, 8)));
        long n = (1L << 31) - 8;
        rejects("b: N must be a positive multiple of 8, at most 2^31 - 128", () -> dense(t("a", DType.FP8_E4M3, 1, 128),
                t("aScales", DType.FP32, 1, 4), t("b", DType.FP8_E4M3, n, 128), t("bScales", DType.FP32, 1L << 24, 1), null,
                t("d", DType.BF16, 1, n)));
        rejects("x: K must be in [1, 2^31 - 128]", () -> Fp8Quantize.validate(t("x", DType.BF16, 1, k - 1),
                t("q", DType.FP8_E4M3, 1, k - 1), t("scales", DType.FP32, 1L << 24, 4), true));
    }
}
