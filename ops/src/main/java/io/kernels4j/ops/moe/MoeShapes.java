package io.kernels4j.ops.moe;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import java.util.Arrays;

/**
 * The dtype and shape rules of the MoE ops as pure functions of dtypes and shapes, so that they can
 * be tested (and reused) without a GPU. Every failure is an {@link IllegalArgumentException} whose
 * message starts with the argument's name and gives the expected and the actual dtype/shape. The ops
 * call these before every downcall; the native layer checks the same sizes again.
 */
public final class MoeShapes {
    /** Largest top-k the kernels take. */
    public static final int MAX_TOP_K = 32;
    /** Largest expert count the kernels take. */
    public static final int MAX_EXPERTS = 1024;
    /** Largest segment alignment. */
    public static final int MAX_ALIGNMENT = 1024;
    /** Quantisation group / hidden-size multiple. */
    public static final int GROUP = 128;
    /** Largest hidden / intermediate size (the combine's grid: ceil(H / 1024) blocks along y, at most 65535). */
    public static final long MAX_HIDDEN = 65535L * 1024;

    private static final long ANY = -1;

    private MoeShapes() {}

    /** A tensor's name, dtype and shape (what the checks look at). */
    record Arg(String name, DType dtype, long[] shape) {
        public Arg {
            shape = shape.clone();
        }

        /** Null for a null tensor (optional arguments). */
        static Arg of(String name, DeviceTensor t) {
            return t == null ? null : new Arg(name, t.dtype(), t.shape());
        }

        long dim(int i) {
            return shape[i];
        }

        int rank() {
            return shape.length;
        }
    }

    static String describe(DType dtype, long[] shape) {
        StringBuilder sb = new StringBuilder(String.valueOf(dtype)).append('[');
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(shape[i] == ANY ? "*" : Long.toString(shape[i]));
        }
        return sb.append(']').toString();
    }

    static Arg require(Arg a, String name, DType dtype, long... shape) {
        if (a == null) throw new IllegalArgumentException(name + ": must not be null");
        boolean ok = a.dtype() == dtype && a.rank() == shape.length;
        for (int i = 0; ok && i < shape.length; i++) ok = shape[i] == ANY || shape[i] == a.dim(i);
        if (!ok) throw new IllegalArgumentException(name + ": expected " + describe(dtype, shape) + ", got "
                + a.dtype() + Arrays.toString(a.shape()));
        return a;
    }

    static void fail(String message) {
        throw new IllegalArgumentException(message);
    }

    /** {@code T >= 0}, {@code 1 <= K <= 32}, {@code 1 <= E <= 1024}, {@code T * K < 2^31}. */
    static void routing(long numTokens, long topK, long numExperts) {
        if (numTokens < 0) fail("numTokens: must be >= 0, got " + numTokens);
        if (topK < 1 || topK > MAX_TOP_K) fail("topK: must be in [1, " + MAX_TOP_K + "], got " + topK);
        if (numExperts < 1 || numExperts > MAX_EXPERTS) fail("numExperts: must be in [1, " + MAX_EXPERTS + "], got " + numExperts);
        if (numTokens * topK > Integer.MAX_VALUE)
            fail("numTokens: numTokens * topK must fit in INT32, got " + numTokens + " * " + topK);
    }

    static void alignment(long alignment) {
        if (alignment < 1 || alignment > MAX_ALIGNMENT) fail("alignment: must be in [1, " + MAX_ALIGNMENT + "], got " + alignment);
    }

    static void hidden(long h, String name) {
        if (h <= 0 || h % GROUP != 0) fail(name + ": must be a positive multiple of " + GROUP + ", got " + h);
        if (h > MAX_HIDDEN) fail(name + ": must be at most " + MAX_HIDDEN + ", got " + h);
    }

    /**
     * Rows of the scale arrays: {@code alignUp(rows, 4)}.
     *
     * @param rows rows of the quantised tensor
     * @return {@code rows} rounded up to a multiple of 4
     */
    public static long scaleRows(long rows) {
        return (rows + 3) / 4 * 4;
    }

    /** topkIdx[T, K] INT32 and the layout outputs: counts[E], offsets[E + 1], totalRows[1] (optional), rowOf[T, K]. */
    static void layout(Arg topkIdx, long numExperts, long alignment, Arg numTokensPerExpert, Arg expertOffsets,
            Arg totalRows, Arg rowOf) {
        require(topkIdx, "topkIdx", DType.INT32, ANY, ANY);
        long t = topkIdx.dim(0), k = topkIdx.dim(1);
        routing(t, k, numExperts);
        alignment(alignment);
        long pairs = t * k;
        if (pairs + Math.min(pairs, numExperts) * (alignment - 1) > Integer.MAX_VALUE)
            fail("numTokens: the padded layout may need more rows than INT32 indexes (T=" + t + ", K=" + k + ")");
        require(numTokensPerExpert, "numTokensPerExpert", DType.INT32, numExperts);
        require(expertOffsets, "expertOffsets", DType.INT32, numExperts + 1);
        if (totalRows != null) require(totalRows, "totalRows", DType.INT32, 1);
        require(rowOf, "rowOf", DType.INT32, t, k);
    }

    /** topkIdx INT64[T, K] (PyTorch's index dtype) and its INT32 copy topkIdx32[T, K]. */
    static void topkIds(Arg topkIdx, Arg topkIdx32) {

        require(topkIdx, "topkIdx", DType.INT64, ANY, ANY);
        long t = topkIdx.dim(0), k = topkIdx.dim(1);
        if (k < 1 || k > MAX_TOP_K) fail("topkIdx: topK (dimension 1) must be in [1, " + MAX_TOP_K + "], got " + k);
        if (t * k > Integer.MAX_VALUE) fail("topkIdx: numTokens * topK must fit in INT32, got " + t + " * " + k);
        require(topkIdx32, "topkIdx32", DType.INT32, t, k);
    }

    private static long[] routingOf(Arg rowOf, Arg numTokensPerExpert, Arg expertOffsets) {
        require(rowOf, "rowOf", DType.INT32, ANY, ANY);
        require(numTokensPerExpert, "numTokensPerExpert", DType.INT32, ANY);
        long e = numTokensPerExpert.dim(0);
        routing(rowOf.dim(0), rowOf.dim(1), e);
        require(expertOffsets, "expertOffsets", DType.INT32, e + 1);
        return new long[] {rowOf.dim(0), rowOf.dim(1), e};
    }

    private static DType outType(Arg out, String name) {
        if (out == null) fail(name + ": must not be null");
        if (out.dtype() != DType.BF16 && out.dtype() != DType.FP8_E4M3)
            fail(name + ": expected dtype BF16 or FP8_E4M3, got " + out.dtype() + Arrays.toString(out.shape()));
        return out.dtype();
    }

    /** x[T, H] BF16, xOut[capacity, H] BF16/FP8, xOutScales FP32[H/128, alignUp(capacity, 4)] (FP8 only), mIndices INT32[capacity] (optional). */
    static void dispatchContiguous(Arg x, Arg rowOf, Arg numTokensPerExpert, Arg expertOffsets, Arg xOut,
            Arg xOutScales, Arg mIndices) {
        long[] tke = routingOf(rowOf, numTokensPerExpert, expertOffsets);
        require(x, "x", DType.BF16, tke[0], ANY);
        long h = x.dim(1);
        hidden(h, "hidden");
        DType out = outType(xOut, "xOut");
        require(xOut, "xOut", out, ANY, h);
        long cap = xOut.dim(0);
        if (cap > Integer.MAX_VALUE) fail("xOut: capacity must fit in INT32, got " + cap);
        if (out == DType.FP8_E4M3) require(xOutScales, "xOutScales", DType.FP32, h / GROUP, scaleRows(cap));
        else if (xOutScales != null) fail("xOutScales: must be null for a BF16 output, got " + describe(xOutScales.dtype(), xOutScales.shape()));
        if (mIndices != null) require(mIndices, "mIndices", DType.INT32, cap);
    }

    /**
     * x[T, H] BF16, topkIdx[T, K], xOut[E, maxTokens, H], xOutScales FP32[E, H/128, alignUp(maxTokens, 4)] (FP8 only),
     * counts INT32[E], slotOf INT32[T, K], overflow INT32[1] (optional).
     */
    static void dispatchMasked(Arg x, Arg topkIdx, Arg rowOf, Arg numTokensPerExpert, Arg expertOffsets, Arg xOut,
            Arg xOutScales, Arg counts, Arg slotOf, Arg overflow) {
        long[] tke = routingOf(rowOf, numTokensPerExpert, expertOffsets);
        long t = tke[0], k = tke[1], e = tke[2];
        require(topkIdx, "topkIdx", DType.INT32, t, k);
        require(x, "x", DType.BF16, t, ANY);
        long h = x.dim(1);
        hidden(h, "hidden");
        DType out = outType(xOut, "xOut");
        require(xOut, "xOut", out, e, ANY, h);
        long maxTokens = xOut.dim(1);
        if (maxTokens < 1) fail("xOut: maxTokensPerExpert (dimension 1) must be >= 1, got " + maxTokens);
        if (maxTokens * e > Integer.MAX_VALUE) fail("xOut: numExperts * maxTokensPerExpert must fit in INT32, got " + e + " * " + maxTokens);
        if (out == DType.FP8_E4M3) require(xOutScales, "xOutScales", DType.FP32, e, h / GROUP, scaleRows(maxTokens));
        else if (xOutScales != null) fail("xOutScales: must be null for a BF16 output, got " + describe(xOutScales.dtype(), xOutScales.shape()));
        require(counts, "counts", DType.INT32, e);
        require(slotOf, "slotOf", DType.INT32, t, k);
        if (overflow != null) require(overflow, "overflow", DType.INT32, 1);
    }

    /** y BF16 [capacity, H] (contiguous) or [E, maxTokens, H] (masked), rowMap INT32[T, K], weights FP32[T, K], out BF16[T, H]. */
    static void combine(Arg y, boolean masked, Arg rowMap, String rowMapName, Arg topkWeights, Arg out) {
        require(rowMap, rowMapName, DType.INT32, ANY, ANY);
        long t = rowMap.dim(0), k = rowMap.dim(1);
        if (k < 1 || k > MAX_TOP_K) fail(rowMapName + ": topK (dimension 1) must be in [1, " + MAX_TOP_K + "], got " + k);
        if (t > Integer.MAX_VALUE) fail(rowMapName + ": numTokens (dimension 0) must be at most 2^31 - 1 (the grid), got " + t);
        if (masked) {
            require(y, "y", DType.BF16, ANY, ANY, ANY);
            if (y.dim(0) < 1 || y.dim(0) > MAX_EXPERTS) fail("y: numExperts (dimension 0) must be in [1, " + MAX_EXPERTS + "], got " + y.dim(0));
            if (y.dim(1) < 1) fail("y: maxTokensPerExpert (dimension 1) must be >= 1, got " + y.dim(1));
        } else {
            require(y, "y", DType.BF16, ANY, ANY);
        }
        long h = y.dim(y.rank() - 1);
        hidden(h, "hidden");
        require(topkWeights, "topkWeights", DType.FP32, t, k);
        require(out, "out", DType.BF16, t, h);
    }

    /**
     * gateUp BF16 [rows, 2I] (contiguous) or [E, maxTokens, 2I] (masked); out FP8/BF16 of the same shape with I;
     * outScales FP32 [I/128, alignUp(rows, 4)] or [E, I/128, alignUp(maxTokens, 4)] (FP8 only); rowFilter INT32
     * mIndices[rows] (contiguous) or counts[E] (masked), optional.
     */
    static void siluAndMul(Arg gateUp, boolean masked, Arg out, Arg outScales, Arg rowFilter, String rowFilterName) {
        if (masked) require(gateUp, "gateUp", DType.BF16, ANY, ANY, ANY);
        else require(gateUp, "gateUp", DType.BF16, ANY, ANY);
        long twoI = gateUp.dim(gateUp.rank() - 1);
        if (twoI % 2 != 0) fail("gateUp: last dimension must be 2 * inter, got " + twoI);
        long inter = twoI / 2;
        hidden(inter, "inter");
        long groups = masked ? gateUp.dim(0) : 1, rows = gateUp.dim(masked ? 1 : 0);
        if (masked && groups < 1) fail("gateUp: numExperts (dimension 0) must be >= 1, got " + groups);
        if (groups * rows > Integer.MAX_VALUE) fail("gateUp: row count must fit in INT32, got " + groups * rows);
        DType o = outType(out, "out");
        if (masked) require(out, "out", o, groups, rows, inter);
        else require(out, "out", o, rows, inter);
        if (o == DType.FP8_E4M3) {
            if (masked) require(outScales, "outScales", DType.FP32, groups, inter / GROUP, scaleRows(rows));
            else require(outScales, "outScales", DType.FP32, inter / GROUP, scaleRows(rows));
        } else if (outScales != null) {
            fail("outScales: must be null for a BF16 output, got " + describe(outScales.dtype(), outScales.shape()));
        }
        if (rowFilter != null) require(rowFilter, rowFilterName, DType.INT32, masked ? groups : rows);
    }
}
