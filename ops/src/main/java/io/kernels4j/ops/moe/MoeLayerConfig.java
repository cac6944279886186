package io.kernels4j.ops.moe;

/**
 * The sizes of one MoE layer ({@link MoeLayer}): everything its workspaces depend on, fixed at
 * construction so that {@link MoeLayer#forward} never allocates.
 *
 * @param hiddenSize         H, a multiple of 128 (DeepSeek-V3: 7168)
 * @param numExperts         E, in [1, 1024] (DeepSeek-V3: 256 routed experts)
 * @param topK               K, in [1, 32] (DeepSeek-V3: 8)
 * @param intermediateSize   I, a multiple of 128 (DeepSeek-V3: 2048); gate/up weights are {@code [E, 2I, H]}
 * @param maxTokens          largest T a {@link MoeLayer#forward} call takes (>= 1)
 * @param layout             {@link Layout#CONTIGUOUS} (prefill) or {@link Layout#MASKED} (decode)
 * @param maxTokensPerExpert MASKED: rows per expert (the capacity; a pair ranked past it in its expert is
 *                           dropped and flagged, see {@link MoeDispatch#masked}); CONTIGUOUS: 0 (the
 *                           capacity is {@link MoeLayout#maxPaddedRows}, which never overflows)
 * @param alignment          rows each expert's segment is padded to, in [1, 1024]: 128 for CONTIGUOUS
 *                           (DeepGEMM's grouped layout); any value for MASKED (1 is enough)
 */
public record MoeLayerConfig(int hiddenSize, int numExperts, int topK, int intermediateSize, int maxTokens, Layout layout,
        int maxTokensPerExpert, int alignment) {

    /** Which grouped GEMM the layer runs. */
    public enum Layout {
        /** Prefill: experts' rows back to back, each segment padded to {@code alignment}; grouped-contiguous GEMMs. */
        CONTIGUOUS,
        /** Decode: {@code [E, maxTokensPerExpert]} rows, per-expert counts on the device; grouped-masked GEMMs. */
        MASKED
    }

    /** Checks every size; messages name the component. */
    public MoeLayerConfig {
        MoeShapes.hidden(hiddenSize, "hiddenSize");
        MoeShapes.hidden(intermediateSize, "intermediateSize");
        if (layout == null) throw new IllegalArgumentException("layout: must not be null");
        if (maxTokens < 1) throw new IllegalArgumentException("maxTokens: must be >= 1, got " + maxTokens);
        MoeShapes.routing(maxTokens, topK, numExperts);
        MoeShapes.alignment(alignment);
        if (layout == Layout.MASKED) {
            if (maxTokensPerExpert < 1)
                throw new IllegalArgumentException("maxTokensPerExpert: must be >= 1 for the MASKED layout, got " + maxTokensPerExpert);
            if ((long) maxTokensPerExpert * numExperts > Integer.MAX_VALUE)
                throw new IllegalArgumentException("maxTokensPerExpert: numExperts * maxTokensPerExpert must fit in INT32, got "
                        + numExperts + " * " + maxTokensPerExpert);
        } else {
            if (maxTokensPerExpert != 0)
                throw new IllegalArgumentException("maxTokensPerExpert: must be 0 for the CONTIGUOUS layout (its capacity is "
                        + "MoeLayout.maxPaddedRows), got " + maxTokensPerExpert);
            long pairs = (long) maxTokens * topK;
            if (pairs + Math.min(pairs, numExperts) * (alignment - 1L) > Integer.MAX_VALUE)
                throw new IllegalArgumentException("maxTokens: the padded layout may need more rows than INT32 indexes (maxTokens="
                        + maxTokens + ", topK=" + topK + ", alignment=" + alignment + ")");
        }
    }

    /**
     * Prefill layer: grouped-contiguous layout with DeepGEMM's 128-row segments.
     *
     * @param hiddenSize       H
     * @param numExperts       E
     * @param topK             K
     * @param intermediateSize I
     * @param maxTokens        largest T per call
     * @return the config
     */
    public static MoeLayerConfig contiguous(int hiddenSize, int numExperts, int topK, int intermediateSize, int maxTokens) {
        return new MoeLayerConfig(hiddenSize, numExperts, topK, intermediateSize, maxTokens, Layout.CONTIGUOUS, 0, 128);
    }

    /**
     * Decode layer: masked layout with {@code maxTokensPerExpert} rows per expert (alignment 1).
     *
     * @param hiddenSize         H
     * @param numExperts         E
     * @param topK               K
     * @param intermediateSize   I
     * @param maxTokens          largest T per call
     * @param maxTokensPerExpert rows per expert (capacity)
     * @return the config
     */
    public static MoeLayerConfig masked(int hiddenSize, int numExperts, int topK, int intermediateSize, int maxTokens,
            int maxTokensPerExpert) {
        return new MoeLayerConfig(hiddenSize, numExperts, topK, intermediateSize, maxTokens, Layout.MASKED, maxTokensPerExpert, 1);
    }

    /**
     * Rows of the dispatched activations for {@code numTokens} tokens: {@link MoeLayout#maxPaddedRows}
     * (CONTIGUOUS) or {@code E * maxTokensPerExpert} (MASKED).
     *
     * @param numTokens T, in {@code [0, maxTokens]}
     * @return the row count
     */
    public long rows(int numTokens) {
        if (numTokens < 0 || numTokens > maxTokens)
            throw new IllegalArgumentException("numTokens: must be in [0, " + maxTokens + "], got " + numTokens);
        return layout == Layout.MASKED ? (long) numExperts * maxTokensPerExpert
                : MoeLayout.maxPaddedRows(numTokens, topK, numExperts, alignment);
    }

    /** Rows of each group of the dispatched activations at {@code maxTokens}: all rows (CONTIGUOUS) or maxTokensPerExpert. */
    long rowsPerGroup(int numTokens) {
        return layout == Layout.MASKED ? maxTokensPerExpert : rows(numTokens);
    }

    /** Groups of the dispatched activations: 1 (CONTIGUOUS) or E (MASKED). */
    long groups() {
        return layout == Layout.MASKED ? numExperts : 1;
    }

    /**
     * Device bytes a {@link MoeLayer} with this config allocates for its workspaces (weights not
     * included), each buffer counted rounded up to 256 bytes, as cudaMalloc does at least.
     *
     * @return the byte count
     */
    public long workspaceBytes() {
        long total = 0;
        for (long b : bufferBytes()) total += (b + 255) / 256 * 256;
        return total;
    }

    /**
     * Byte sizes of the layer's buffers, in the order {@link MoeLayer} allocates them: topkIdx32,
     * counts, offsets, rowOf, layout workspace, slotOf, dropped, xq, xqScales, mIndices, gateUp, h,
     * hScales, y.
     */
    long[] bufferBytes() {
        long h = hiddenSize, i = intermediateSize, pairs = (long) maxTokens * topK, e = numExperts;
        long rows = rows(maxTokens), perGroup = rowsPerGroup(maxTokens), g = groups();
        long scaleRows = g * MoeShapes.scaleRows(perGroup);
        boolean masked = layout == Layout.MASKED;
        return new long[] {
            pairs * 4, // topkIdx32 (INT64 ids narrowed)
            e * 4, // numTokensPerExpert
            (e + 1) * 4, // expertOffsets
            pairs * 4, // rowOf
            layoutWorkspaceBytes(numExperts), // layout scratch, for any T <= maxTokens
            masked ? pairs * 4 : 0, // slotOf
            masked ? 4 : 0, // dropped pairs
            rows * h, // xq FP8
            scaleRows * (h / 128) * 4, // xq scales
            masked ? e * 4 : rows * 4, // counts (masked) or mIndices (contiguous)
            rows * 2 * i * 2, // gate/up BF16
            rows * i, // h FP8
            scaleRows * (i / 128) * 4, // h scales
            rows * h * 2 // y BF16
        };
    }

    /**
     * An upper bound of {@link MoeLayout#workspaceBytes} over every T: the layout uses at most 64
     * chunks of one INT32 per expert.
     */
    static long layoutWorkspaceBytes(int numExperts) {
        return (64L * numExperts * 4 + 255) / 256 * 256;
    }
}
