package io.kernels4j.validation.moe;

import java.util.SplittableRandom;

/** Random routings for the MoE checks and benchmarks (seeded, fresh per run). */
public final class MoeRouting {
    private MoeRouting() {}

    /** How tokens are spread over experts. */
    public enum Kind {
        /** K distinct experts per token, uniformly: every expert gets about T*K/E pairs. */
        UNIFORM,
        /**
         * Skewed: about half the slots go to one hot expert (E - 1), 10% are -1 (not routed), the
         * rest go to the first quarter of the experts, so most experts are empty; a token may name
         * the same expert twice.
         */
        SKEWED
    }

    /**
     * topkIdx[T, K] for the given kind.
     *
     * @param seed the seed
     * @param numTokens T
     * @param topK K
     * @param numExperts E
     * @param kind how tokens are spread
     * @return {@code [T * K]} expert ids (-1: not routed)
     * @throws IllegalArgumentException if {@code kind} is {@link Kind#UNIFORM} and {@code topK > numExperts}
     */
    public static int[] topkIdx(long seed, int numTokens, int topK, int numExperts, Kind kind) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] idx = new int[numTokens * topK];
        int sub = Math.max(1, numExperts / 4);
        for (int t = 0; t < numTokens; t++) {
            for (int k = 0; k < topK; k++) {
                int p = t * topK + k;
                if (kind == Kind.UNIFORM) {
                    if (topK > numExperts) throw new IllegalArgumentException("topK: must be <= numExperts for UNIFORM, got " + topK);
                    int e;
                    boolean dup;
                    do {
                        e = r.nextInt(numExperts);
                        dup = false;
                        for (int j = t * topK; j < p; j++) dup |= idx[j] == e;
                    } while (dup);
                    idx[p] = e;
                } else {
                    double u = r.nextDouble();
                    if (u < 0.1) idx[p] = -1;
                    else if (u < (k == 0 ? 0.8 : 0.5)) idx[p] = numExperts - 1;
                    else idx[p] = r.nextInt(sub);
                }
            }
        }
        return idx;
    }

    /**
     * Routing weights in [0.05, 1), like softmax/sigmoid gates (positive, not normalised).
     *
     * @param seed the seed
     * @param numTokens T
     * @param topK K
     * @return {@code [T * K]} weights
     */

    public static float[] weights(long seed, int numTokens, int topK) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[numTokens * topK];
        for (int i = 0; i < w.length; i++) w[i] = (float) (0.05 + 0.95 * r.nextDouble());
        return w;
    }
}
