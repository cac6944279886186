package io.kernels4j.validation.moe;

import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.host.E4m3;
import io.kernels4j.ops.host.Fp8Quantizer;

/**
 * Plain-Java references of the MoE ops (docs/CONTRACT.md section 4): layout, dispatch (BF16 and fused FP8
 * via {@link Fp8Quantizer}), combine in FP64 and SiLU-and-multiply with its FP8 re-quantisation.
 * Arrays are row-major; BF16 tensors are raw {@code short} bits, FP8 raw {@code byte} codes.
 */
public final class MoeReference {
    private MoeReference() {}

    /**
     * The layout of {@code topkIdx[T, K]}: what {@code MoeLayout.compute} must write.
     *
     * @param numTokens T, the number of tokens
     * @param topK K, the experts per token
     * @param numExperts E, the number of experts
     * @param alignment the row multiple each expert's segment is padded to
     * @param numTokensPerExpert {@code [E]}: the pairs routed to each expert
     * @param expertOffsets {@code [E + 1]}: the first row of each expert's padded segment, then the total
     * @param totalRows the rows of all padded segments ({@code expertOffsets[E]})
     * @param rowOf {@code [T * K]}: the row of each (token, k) pair, -1 if not routed
     * @param badIds whether any id was outside {@code [0, E)} and not -1
     */
    public record Layout(int numTokens, int topK, int numExperts, int alignment, int[] numTokensPerExpert,
            int[] expertOffsets, int totalRows, int[] rowOf, boolean badIds) {
        /**
         * Rank of pair p in its expert ({@code rowOf[p] - expertOffsets[e]}), -1 if not routed.
         *
         * @param topkIdx the ids this layout was computed from
         * @param p the pair index, {@code token * K + k}
         * @return the rank, or -1
         */
        public int rank(int[] topkIdx, int p) {
            return rowOf[p] < 0 ? -1 : rowOf[p] - expertOffsets[topkIdx[p]];
        }
    }

    /**
     * Layout: counts, offsets of segments padded to {@code alignment}, and each pair's row, pairs
     * taken in (token, k) order. Ids outside {@code [0, E)} count as not routed ({@code badIds} says
     * whether there were any besides -1).
     *
     * @param topkIdx {@code [T, K]} expert ids
     * @param numTokens T
     * @param topK K
     * @param numExperts E
     * @param alignment the row multiple each segment is padded to
     * @return the layout
     * @throws IllegalArgumentException if {@code topkIdx} does not hold {@code T * K} ids
     */
    public static Layout layout(int[] topkIdx, int numTokens, int topK, int numExperts, int alignment) {
        if (topkIdx.length != numTokens * topK)
            throw new IllegalArgumentException("topkIdx: expected " + numTokens * topK + " ids, got " + topkIdx.length);
        int[] counts = new int[numExperts];
        boolean bad = false;
        for (int id : topkIdx) {
            if (id >= 0 && id < numExperts) counts[id]++;
            else if (id != -1) bad = true;
        }
        int[] offsets = new int[numExperts + 1];
        for (int e = 0; e < numExperts; e++) offsets[e + 1] = offsets[e] + Fp8Quantizer.alignUp(counts[e], alignment);
        int[] next = new int[numExperts];
        int[] rowOf = new int[topkIdx.length];
        for (int p = 0; p < topkIdx.length; p++) {
            int e = topkIdx[p];
            rowOf[p] = e >= 0 && e < numExperts ? offsets[e] + next[e]++ : -1;
        }
        return new Layout(numTokens, topK, numExperts, alignment, counts, offsets, offsets[numExperts], rowOf, bad);
    }

    /**
     * {@code mIndices[capacity]}: the expert of each real row, -1 for padding and rows past the total.
     *
     * @param l the layout
     * @param capacity the rows of the contiguous buffer
     * @return the expert of each row
     */
    public static int[] mIndices(Layout l, int capacity) {
        int[] m = new int[capacity];
        java.util.Arrays.fill(m, -1);
        for (int e = 0; e < l.numExperts(); e++)
            for (int i = 0; i < l.numTokensPerExpert()[e]; i++) {
                int r = l.expertOffsets()[e] + i;
                if (r < capacity) m[r] = e;
            }
        return m;
    }

    /**
     * Gathers BF16 rows: {@code out[rowOf[p]] = x[p / K]} for routed pairs with a row below {@code rows}; other rows are 0.
     *
     * @param x BF16 {@code [T, hidden]}
     * @param hidden the row length
     * @param rowOf the row of each pair ({@link Layout#rowOf()}, or {@link #slotOf} for masked layouts)
     * @param topK K
     * @param rows the rows of the output
     * @return BF16 {@code [rows, hidden]}
     */
    public static short[] dispatchBf16(short[] x, int hidden, int[] rowOf, int topK, int rows) {
        short[] out = new short[rows * hidden];
        for (int p = 0; p < rowOf.length; p++) {
            int r = rowOf[p];
            if (r >= 0 && r < rows) System.arraycopy(x, (p / topK) * hidden, out, r * hidden, hidden);
        }
        return out;
    }

    /**
     * Masked slots: {@code slotOf[p] = e * maxTokens + rank} when the rank is below
     * {@code maxTokens}, else -1 (not routed or dropped).
     *
     * @param l the layout of {@code topkIdx}
     * @param topkIdx {@code [T, K]} expert ids
     * @param maxTokens the slots per expert
     * @return {@code [T * K]} slots
     */
    public static int[] slotOf(Layout l, int[] topkIdx, int maxTokens) {
        int[] s = new int[topkIdx.length];
        for (int p = 0; p < s.length; p++) {
            int rank = l.rank(topkIdx, p);
            s[p] = rank >= 0 && rank < maxTokens ? topkIdx[p] * maxTokens + rank : -1;
        }
        return s;
    }

    /**
     * Masked counts: {@code min(numTokensPerExpert[e], maxTokens)}.
     *
     * @param l the layout
     * @param maxTokens the slots per expert
     * @return {@code [E]} counts
     */
    public static int[] maskedCounts(Layout l, int maxTokens) {
        int[] c = new int[l.numExperts()];
        for (int e = 0; e < c.length; e++) c[e] = Math.min(l.numTokensPerExpert()[e], maxTokens);
        return c;
    }

    /**
     * Pairs dropped by the masked layout.
     *
     * @param l the layout
     * @param maxTokens the slots per expert
     * @return the number of routed pairs past {@code maxTokens} in their expert
     */
    public static int maskedOverflow(Layout l, int maxTokens) {
        int n = 0;
        for (int c : l.numTokensPerExpert()) n += Math.max(0, c - maxTokens);
        return n;
    }

    /**
     * The fused FP8 cast of one dispatched row: the row of x quantised in 1x128 groups with
     * {@link Fp8Quantizer#quantizeGroup} (scales are per row, so a row quantises the same wherever it
     * lands). Returns the codes in {@code q[hidden]} and the {@code hidden / 128} scales.
     *
     * @param x BF16 {@code [T, hidden]}
     * @param token the row of x
     * @param hidden the row length, a multiple of 128
     * @param pow2 whether scales are rounded up to powers of two (UE8M0)
     * @param q receives the {@code hidden} e4m3 codes
     * @return the {@code hidden / 128} scales
     */
    public static float[] quantizeRow(short[] x, int token, int hidden, boolean pow2, byte[] q) {
        float[] row = new float[hidden];
        for (int i = 0; i < hidden; i++) row[i] = Bf16.decode(x[token * hidden + i]);
        float[] s = new float[hidden / Fp8Quantizer.GROUP];
        for (int kb = 0; kb < s.length; kb++)
            s[kb] = Fp8Quantizer.quantizeGroup(row, kb * Fp8Quantizer.GROUP, Fp8Quantizer.GROUP, pow2, q, kb * Fp8Quantizer.GROUP);
        return s;
    }

    /**
     * Combine in FP64: {@code out[t, h] = sum_k w[t, k] * y[row(t, k), h]} over routed slots
     * ({@code rowMap >= 0}); y is BF16 {@code [rows, hidden]} (masked layouts flattened).
     *
     * @param y BF16 {@code [rows, hidden]}
     * @param hidden the row length
     * @param rowMap {@code [T * K]}: the row of y of each pair, negative if not routed
     * @param weights {@code [T * K]} routing weights
     * @param numTokens T
     * @param topK K
     * @return {@code [T, hidden]} in FP64
     */
    public static double[] combine(short[] y, int hidden, int[] rowMap, float[] weights, int numTokens, int topK) {
        double[] out = new double[numTokens * hidden];
        for (int t = 0; t < numTokens; t++)
            for (int k = 0; k < topK; k++) {
                int r = rowMap[t * topK + k];
                if (r < 0) continue;
                double w = weights[t * topK + k];
                for (int h = 0; h < hidden; h++) out[t * hidden + h] += w * Bf16.decode(y[r * hidden + h]);
            }
        return out;
    }

    /**
     * Bound on the FP32 accumulation error of the combine for one element:
     * {@code K * 2^-24 * sum_k |w * y|} (a K-term sum of FMAs). Added to the 1-ulp BF16 gate so that
     * a sum that cancels to near zero, where one BF16 ulp of the result is below the FP32 error of
     * its terms, is not failed for a rounding that no FP32 implementation can avoid.
     *
     * @param y BF16 {@code [rows, hidden]}
     * @param hidden the row length
     * @param rowMap {@code [T * K]}: the row of y of each pair, negative if not routed
     * @param weights {@code [T * K]} routing weights
     * @param numTokens T
     * @param topK K
     * @return {@code [T, hidden]} bounds
     */
    public static double[] combineAccumulationBound(short[] y, int hidden, int[] rowMap, float[] weights, int numTokens, int topK) {
        double[] b = new double[numTokens * hidden];
        for (int t = 0; t < numTokens; t++)
            for (int k = 0; k < topK; k++) {
                int r = rowMap[t * topK + k];
                if (r < 0) continue;
                double w = Math.abs((double) weights[t * topK + k]);
                for (int h = 0; h < hidden; h++) b[t * hidden + h] += w * Math.abs(Bf16.decode(y[r * hidden + h]));
            }
        double f = topK * 0x1p-24;
        for (int i = 0; i < b.length; i++) b[i] *= f;
        return b;
    }

    /**
     * Number of outputs further than 1 BF16 ulp from the FP64 reference, after allowing the FP32
     * accumulation bound; NaN outputs count. The combine gate is that this is 0.
     *
     * @param ref the FP64 reference ({@link #combine})
     * @param bound the accumulation bound ({@link #combineAccumulationBound})
     * @param out the device's BF16 output
     * @return the number of violations
     */
    public static int combineViolations(double[] ref, double[] bound, short[] out) {
        int bad = 0;
        for (int i = 0; i < ref.length; i++) {
            float o = Bf16.decode(out[i]);
            if (Float.isNaN(o)) {
                bad++;
                continue;
            }
            if (Bf16.ulpDistance(Bf16.encode(ref[i]), out[i]) <= 1) continue;
            if (Math.abs(o - ref[i]) <= bf16Ulp(ref[i]) + bound[i]) continue;
            bad++;
        }
        return bad;
    }

    /**
     * The spacing of BF16 values at |v| (2^-133 for subnormals and zero).
     *
     * @param v a value
     * @return one BF16 ulp at v
     */
    public static double bf16Ulp(double v) {
        double a = Math.abs(v);
        if (a < 0x1p-126) return 0x1p-133;
        return Math.scalb(1.0, Math.getExponent(a) - 7);
    }

    /**
     * silu(g) * u in FP64: {@code g / (1 + exp(-g)) * u}.
     *
     * @param g the gate value
     * @param u the up value
     * @return silu(g) * u
     */
    public static double siluMul(double g, double u) {
        return g / (1.0 + Math.exp(-g)) * u;
    }

    /**
     * h[rows, inter] = silu(gate) * up in FP64 from gateUp BF16 [rows, 2 * inter].
     *
     * @param gateUp BF16 {@code [rows, 2 * inter]}: gate in the first half of each row, up in the second
     * @param rows the rows
     * @param inter the intermediate size
     * @return {@code [rows, inter]} in FP64
     */
    public static double[] siluMul(short[] gateUp, int rows, int inter) {
        double[] h = new double[rows * inter];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < inter; i++)
                h[r * inter + i] = siluMul(Bf16.decode(gateUp[r * 2 * inter + i]), Bf16.decode(gateUp[r * 2 * inter + inter + i]));
        return h;
    }

    /**
     * e4m3 codes ordered on a line where neighbouring values differ by 1 (for "within one code" gates).
     *
     * @param code an e4m3 code
     * @return its ordinal (negative for negative values)
     */
    public static int e4m3Ordinal(byte code) {
        int v = code & 0x7F;
        return (code & 0x80) != 0 ? -v : v;
    }

    /**
     * True if the two codes are the same value or neighbours (NaN codes never pass).
     *
     * @param a an e4m3 code
     * @param b an e4m3 code
     * @return whether they are at most one code apart
     */

    public static boolean e4m3WithinOneStep(byte a, byte b) {
        if (E4m3.isNaN(a) || E4m3.isNaN(b)) return false;
        return Math.abs(e4m3Ordinal(a) - e4m3Ordinal(b)) <= 1;
    }
}
