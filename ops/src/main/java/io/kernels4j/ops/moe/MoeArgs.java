package io.kernels4j.ops.moe;

import io.kernels4j.ops.internal.OpSupport;

import static io.kernels4j.ops.moe.MoeShapes.GROUP;
import static io.kernels4j.ops.moe.MoeShapes.MAX_ALIGNMENT;
import static io.kernels4j.ops.moe.MoeShapes.MAX_EXPERTS;
import static io.kernels4j.ops.moe.MoeShapes.MAX_HIDDEN;
import static io.kernels4j.ops.moe.MoeShapes.MAX_TOP_K;
import static io.kernels4j.ops.moe.MoeShapes.scaleRows;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.Checks;
import io.kernels4j.ops.moe.MoeShapes.Arg;

/**
 * Every host check of the MoE ops, in the order the ops ran them, without allocating on the Java
 * heap when they pass (an op call must not allocate, CONTRIBUTING). Each check first runs an
 * allocation-free predicate on the tensors that accepts exactly what the full checks accept
 * ({@link MoeOps#open}, {@link MoeShapes} on {@link Arg} copies, the alignment checks); only when
 * the predicate fails does it run the full checks, which throw the message. So {@link MoeShapes}
 * stays the one statement of the rules, and MoeAllocationTest holds these methods to zero bytes.
 */
final class MoeArgs {
    private MoeArgs() {}

    // ---- the checks the ops call ----

    static void checkLayout(DeviceTensor topkIdx, int numExperts, int alignment, DeviceTensor numTokensPerExpert,
            DeviceTensor expertOffsets, DeviceTensor totalRows, DeviceTensor rowOf, DeviceTensor workspace, Stream stream) {
        if (live(stream) && live(topkIdx, stream) && live(numTokensPerExpert, stream) && live(expertOffsets, stream)
                && live(totalRows, stream) && live(rowOf, stream) && live(workspace, stream)
                && layoutOk(topkIdx, numExperts, alignment, numTokensPerExpert, expertOffsets, totalRows, rowOf, workspace))
            return;
        MoeOps.open(stream, "topkIdx", topkIdx, "numTokensPerExpert", numTokensPerExpert, "expertOffsets", expertOffsets,
                "totalRows", totalRows, "rowOf", rowOf, "workspace", workspace);
        MoeShapes.layout(Arg.of("topkIdx", topkIdx), numExperts, alignment, Arg.of("numTokensPerExpert", numTokensPerExpert),
                Arg.of("expertOffsets", expertOffsets), Arg.of("totalRows", totalRows), Arg.of("rowOf", rowOf));
        MoeOps.aligned4("topkIdx", topkIdx, "numTokensPerExpert", numTokensPerExpert, "expertOffsets", expertOffsets,
                "totalRows", totalRows, "rowOf", rowOf);
        long need = MoeLayout.workspaceBytes(topkIdx.dim(0), topkIdx.dim(1), numExperts);
        if (need > 0) {
            Checks.requireBytes(workspace, "workspace", need);
            Checks.requireAligned(workspace, "workspace", 4);
        }
        throw disagree("MoeLayout.compute");
    }

    static void checkTopkIds(DeviceTensor topkIdx, DeviceTensor topkIdx32, Stream stream) {
        if (live(stream) && live(topkIdx, stream) && live(topkIdx32, stream) && topkIdsOk(topkIdx, topkIdx32)) return;
        MoeOps.open(stream, "topkIdx", topkIdx, "topkIdx32", topkIdx32);
        MoeShapes.topkIds(Arg.of("topkIdx", topkIdx), Arg.of("topkIdx32", topkIdx32));
        Checks.requireAligned(topkIdx, "topkIdx", 8);
        Checks.requireAligned(topkIdx32, "topkIdx32", 4);
        throw disagree("MoeLayout.topkIdsToInt32");
    }

    static void checkDispatchContiguous(DeviceTensor x, DeviceTensor rowOf, DeviceTensor numTokensPerExpert,
            DeviceTensor expertOffsets, DeviceTensor xOut, DeviceTensor xOutScales, DeviceTensor mIndices, Stream stream) {
        if (live(stream) && live(x, stream) && live(rowOf, stream) && live(numTokensPerExpert, stream)
                && live(expertOffsets, stream) && live(xOut, stream) && live(xOutScales, stream) && live(mIndices, stream)
                && dispatchContiguousOk(x, rowOf, numTokensPerExpert, expertOffsets, xOut, xOutScales, mIndices))
            return;
        MoeOps.open(stream, "x", x, "rowOf", rowOf, "numTokensPerExpert", numTokensPerExpert, "expertOffsets",
                expertOffsets, "xOut", xOut, "xOutScales", xOutScales, "mIndices", mIndices);
        MoeShapes.dispatchContiguous(Arg.of("x", x), Arg.of("rowOf", rowOf), Arg.of("numTokensPerExpert", numTokensPerExpert),
                Arg.of("expertOffsets", expertOffsets), Arg.of("xOut", xOut), Arg.of("xOutScales", xOutScales),
                Arg.of("mIndices", mIndices));
        Checks.requireAligned(x, "x", 16);
        Checks.requireAligned(xOut, "xOut", 16);
        MoeOps.aligned4("rowOf", rowOf, "numTokensPerExpert", numTokensPerExpert, "expertOffsets", expertOffsets,
                "xOutScales", xOutScales, "mIndices", mIndices);
        throw disagree("MoeDispatch.contiguous");
    }

    static void checkDispatchMasked(DeviceTensor x, DeviceTensor topkIdx, DeviceTensor rowOf, DeviceTensor numTokensPerExpert,
            DeviceTensor expertOffsets, DeviceTensor xOut, DeviceTensor xOutScales, DeviceTensor counts, DeviceTensor slotOf,
            DeviceTensor overflow, Stream stream) {
        if (live(stream) && live(x, stream) && live(topkIdx, stream) && live(rowOf, stream) && live(numTokensPerExpert, stream)
                && live(expertOffsets, stream) && live(xOut, stream) && live(xOutScales, stream) && live(counts, stream)
                && live(slotOf, stream) && live(overflow, stream)
                && dispatchMaskedOk(x, topkIdx, rowOf, numTokensPerExpert, expertOffsets, xOut, xOutScales, counts, slotOf,
                        overflow))
            return;
        MoeOps.open(stream, "x", x, "topkIdx", topkIdx, "rowOf", rowOf, "numTokensPerExpert", numTokensPerExpert,
                "expertOffsets", expertOffsets, "xOut", xOut, "xOutScales", xOutScales, "counts", counts, "slotOf", slotOf,
                "overflow", overflow);
        MoeShapes.dispatchMasked(Arg.of("x", x), Arg.of("topkIdx", topkIdx), Arg.of("rowOf", rowOf),
                Arg.of("numTokensPerExpert", numTokensPerExpert), Arg.of("expertOffsets", expertOffsets), Arg.of("xOut", xOut),
                Arg.of("xOutScales", xOutScales), Arg.of("counts", counts), Arg.of("slotOf", slotOf), Arg.of("overflow", overflow));
        Checks.requireAligned(x, "x", 16);
        Checks.requireAligned(xOut, "xOut", 16);
        MoeOps.aligned4("topkIdx", topkIdx, "rowOf", rowOf, "numTokensPerExpert", numTokensPerExpert, "expertOffsets",
                expertOffsets, "xOutScales", xOutScales, "counts", counts, "slotOf", slotOf, "overflow", overflow);
        throw disagree("MoeDispatch.masked");
    }

    /** Checks of {@link MoeCombine}; {@code rowMapName} is "rowOf" (contiguous) or "slotOf" (masked). */
    static void checkCombine(DeviceTensor y, boolean masked, DeviceTensor rowMap, String rowMapName, DeviceTensor topkWeights,
            DeviceTensor out, Stream stream) {
        if (live(stream) && live(y, stream) && live(rowMap, stream) && live(topkWeights, stream) && live(out, stream)
                && combineOk(y, masked, rowMap, topkWeights, out))
            return;
        MoeOps.open(stream, "y", y, rowMapName, rowMap, "topkWeights", topkWeights, "out", out);
        MoeShapes.combine(Arg.of("y", y), masked, Arg.of(rowMapName, rowMap), rowMapName, Arg.of("topkWeights", topkWeights),
                Arg.of("out", out));
        Checks.requireAligned(y, "y", 16);
        Checks.requireAligned(out, "out", 16);
        MoeOps.aligned4(rowMapName, rowMap, "topkWeights", topkWeights);
        throw disagree(masked ? "MoeCombine.masked" : "MoeCombine.contiguous");
    }

    /** Checks of {@link SiluAndMul}; {@code rowFilterName} is "mIndices" (contiguous) or "counts" (masked). */
    static void checkSiluAndMul(DeviceTensor gateUp, boolean masked, DeviceTensor rowFilter, String rowFilterName,
            DeviceTensor out, DeviceTensor outScales, Stream stream) {
        if (live(stream) && live(gateUp, stream) && live(rowFilter, stream) && live(out, stream) && live(outScales, stream)
                && siluAndMulOk(gateUp, masked, out, outScales, rowFilter))
            return;
        MoeOps.open(stream, "gateUp", gateUp, rowFilterName, rowFilter, "out", out, "outScales", outScales);
        MoeShapes.siluAndMul(Arg.of("gateUp", gateUp), masked, Arg.of("out", out), Arg.of("outScales", outScales),
                Arg.of(rowFilterName, rowFilter), rowFilterName);
        MoeOps.aligned4(rowFilterName, rowFilter, "outScales", outScales);
        Checks.requireAligned(gateUp, "gateUp", 16);
        Checks.requireAligned(out, "out", 16);
        throw disagree(masked ? "SiluAndMul.masked" : "SiluAndMul.contiguous");
    }

    // ---- the allocation-free predicates (each mirrors MoeShapes rule by rule, plus the alignments) ----

    static boolean topkIdsOk(DeviceTensor topkIdx, DeviceTensor topkIdx32) {
        if (!passes(topkIdx, DType.INT64, 2, -1, -1, -1, 8)) return false;
        long t = topkIdx.dim(0), k = topkIdx.dim(1);
        return k >= 1 && k <= MAX_TOP_K && t * k <= Integer.MAX_VALUE && passes(topkIdx32, DType.INT32, 2, t, k, -1, 4);
    }

    static boolean layoutOk(DeviceTensor topkIdx, long numExperts, long alignment, DeviceTensor numTokensPerExpert,
            DeviceTensor expertOffsets, DeviceTensor totalRows, DeviceTensor rowOf, DeviceTensor workspace) {
        if (!passes(topkIdx, DType.INT32, 2, -1, -1, -1, 4)) return false;
        long t = topkIdx.dim(0), k = topkIdx.dim(1);
        if (!routingOk(t, k, numExperts) || alignment < 1 || alignment > MAX_ALIGNMENT) return false;
        long pairs = t * k;
        if (pairs + Math.min(pairs, numExperts) * (alignment - 1) > Integer.MAX_VALUE) return false;
        if (!passes(numTokensPerExpert, DType.INT32, 1, numExperts, -1, -1, 4)
                || !passes(expertOffsets, DType.INT32, 1, numExperts + 1, -1, -1, 4)
                || (totalRows != null && !passes(totalRows, DType.INT32, 1, 1, -1, -1, 4))
                || !passes(rowOf, DType.INT32, 2, t, k, -1, 4)) return false;
        long need = MoeLayout.workspaceBytes(t, k, numExperts);
        return need <= 0 || (workspace != null && workspace.byteSize() >= need && OpSupport.address(workspace) % 4 == 0);
    }

    /** {@code MoeShapes.routingOf}: rowOf INT32 [T, K], numTokensPerExpert INT32 [E], expertOffsets INT32 [E + 1]. */
    private static boolean routingOk(DeviceTensor rowOf, DeviceTensor numTokensPerExpert, DeviceTensor expertOffsets) {
        if (!passes(rowOf, DType.INT32, 2, -1, -1, -1, 4) || !passes(numTokensPerExpert, DType.INT32, 1, -1, -1, -1, 4))
            return false;
        long e = numTokensPerExpert.dim(0);
        return routingOk(rowOf.dim(0), rowOf.dim(1), e) && passes(expertOffsets, DType.INT32, 1, e + 1, -1, -1, 4);
    }

    static boolean dispatchContiguousOk(DeviceTensor x, DeviceTensor rowOf, DeviceTensor numTokensPerExpert,
            DeviceTensor expertOffsets, DeviceTensor xOut, DeviceTensor xOutScales, DeviceTensor mIndices) {
        if (!routingOk(rowOf, numTokensPerExpert, expertOffsets)
                || !passes(x, DType.BF16, 2, rowOf.dim(0), -1, -1, 16)) return false;
        long h = x.dim(1);
        if (!hiddenOk(h) || !outTypeOk(xOut) || !passes(xOut, xOut.dtype(), 2, -1, h, -1, 16)) return false;
        long cap = xOut.dim(0);
        if (cap > Integer.MAX_VALUE) return false;
        if (xOut.dtype() == DType.FP8_E4M3) {
            if (!passes(xOutScales, DType.FP32, 2, h / GROUP, scaleRows(cap), -1, 4)) return false;
        } else if (xOutScales != null) {
            return false;
        }
        return mIndices == null || passes(mIndices, DType.INT32, 1, cap, -1, -1, 4);
    }

    static boolean dispatchMaskedOk(DeviceTensor x, DeviceTensor topkIdx, DeviceTensor rowOf, DeviceTensor numTokensPerExpert,
            DeviceTensor expertOffsets, DeviceTensor xOut, DeviceTensor xOutScales, DeviceTensor counts, DeviceTensor slotOf,
            DeviceTensor overflow) {
        if (!routingOk(rowOf, numTokensPerExpert, expertOffsets)) return false;
        long t = rowOf.dim(0), k = rowOf.dim(1), e = numTokensPerExpert.dim(0);
        if (!passes(topkIdx, DType.INT32, 2, t, k, -1, 4) || !passes(x, DType.BF16, 2, t, -1, -1, 16)) return false;
        long h = x.dim(1);
        if (!hiddenOk(h) || !outTypeOk(xOut) || !passes(xOut, xOut.dtype(), 3, e, -1, h, 16)) return false;
        long maxTokens = xOut.dim(1);
        if (maxTokens < 1 || maxTokens * e > Integer.MAX_VALUE) return false;
        if (xOut.dtype() == DType.FP8_E4M3) {
            if (!passes(xOutScales, DType.FP32, 3, e, h / GROUP, scaleRows(maxTokens), 4)) return false;
        } else if (xOutScales != null) {
            return false;
        }
        return passes(counts, DType.INT32, 1, e, -1, -1, 4) && passes(slotOf, DType.INT32, 2, t, k, -1, 4)
                && (overflow == null || passes(overflow, DType.INT32, 1, 1, -1, -1, 4));
    }

    static boolean combineOk(DeviceTensor y, boolean masked, DeviceTensor rowMap, DeviceTensor topkWeights, DeviceTensor out) {
        if (!passes(rowMap, DType.INT32, 2, -1, -1, -1, 4)) return false;
        long t = rowMap.dim(0), k = rowMap.dim(1);
        if (k < 1 || k > MAX_TOP_K || t > Integer.MAX_VALUE) return false;
        if (masked) {
            if (!passes(y, DType.BF16, 3, -1, -1, -1, 16) || y.dim(0) < 1 || y.dim(0) > MAX_EXPERTS || y.dim(1) < 1)
                return false;
        } else if (!passes(y, DType.BF16, 2, -1, -1, -1, 16)) {
            return false;
        }
        long h = y.dim(y.rank() - 1);
        return hiddenOk(h) && passes(topkWeights, DType.FP32, 2, t, k, -1, 4) && passes(out, DType.BF16, 2, t, h, -1, 16);
    }

    static boolean siluAndMulOk(DeviceTensor gateUp, boolean masked, DeviceTensor out, DeviceTensor outScales,
            DeviceTensor rowFilter) {
        if (!passes(gateUp, DType.BF16, masked ? 3 : 2, -1, -1, -1, 16)) return false;
        long twoI = gateUp.dim(gateUp.rank() - 1);
        if (twoI % 2 != 0) return false;
        long inter = twoI / 2;
        if (!hiddenOk(inter)) return false;
        long groups = masked ? gateUp.dim(0) : 1, rows = gateUp.dim(masked ? 1 : 0);
        if ((masked && groups < 1) || groups * rows > Integer.MAX_VALUE || !outTypeOk(out)) return false;
        DType o = out.dtype();
        if (masked ? !passes(out, o, 3, groups, rows, inter, 16) : !passes(out, o, 2, rows, inter, -1, 16)) return false;
        if (o == DType.FP8_E4M3) {
            if (masked ? !passes(outScales, DType.FP32, 3, groups, inter / GROUP, scaleRows(rows), 4)
                    : !passes(outScales, DType.FP32, 2, inter / GROUP, scaleRows(rows), -1, 4)) return false;
        } else if (outScales != null) {
            return false;
        }
        return rowFilter == null || passes(rowFilter, DType.INT32, 1, masked ? groups : rows, -1, -1, 4);
    }

    // ---- helpers ----

    /** {@link MoeShapes#routing} without the exception. */
    private static boolean routingOk(long numTokens, long topK, long numExperts) {
        return numTokens >= 0 && topK >= 1 && topK <= MAX_TOP_K && numExperts >= 1 && numExperts <= MAX_EXPERTS
                && numTokens * topK <= Integer.MAX_VALUE;
    }

    /** {@link MoeShapes#hidden} without the exception. */
    private static boolean hiddenOk(long h) {
        return h > 0 && h % GROUP == 0 && h <= MAX_HIDDEN;
    }

    /** {@code MoeShapes.outType}: non-null, BF16 or FP8_E4M3. */
    private static boolean outTypeOk(DeviceTensor out) {
        return out != null && (out.dtype() == DType.BF16 || out.dtype() == DType.FP8_E4M3);
    }

    private static boolean live(Stream stream) {
        return stream != null && !stream.isClosed();
    }

    /** What {@link MoeOps#open} checks of one tensor: null, or open and on the stream's device. */
    private static boolean live(DeviceTensor t, Stream stream) {
        return t == null || (!t.isClosed() && t.device() == stream.device());
    }

    /**
     * {@code t} is non-null, of {@code dtype} and {@code rank} (at most 3; later dims ignored),
     * matches the shape ({@code -1} matches any size, as in {@code MoeShapes.require}) and its
     * address is a multiple of {@code align}.
     */
    static boolean passes(DeviceTensor t, DType dtype, int rank, long d0, long d1, long d2, int align) {
        if (t == null || t.dtype() != dtype || t.rank() != rank) return false;
        if (rank > 0 && d0 != -1 && t.dim(0) != d0) return false;
        if (rank > 1 && d1 != -1 && t.dim(1) != d1) return false;
        if (rank > 2 && d2 != -1 && t.dim(2) != d2) return false;
        return OpSupport.address(t) % align == 0;
    }

    private static IllegalStateException disagree(String op) {
        return new IllegalStateException(op + ": internal error: the fast argument check rejected arguments that the full check accepts");
    }
}
