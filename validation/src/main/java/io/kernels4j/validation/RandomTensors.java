package io.kernels4j.validation;

import io.kernels4j.ops.host.Bf16;
import java.util.SplittableRandom;

/**
 * Seeded random inputs (docs/CONTRACT.md section 0: "fresh random inputs each run", "never test or time on
 * zeros"). The same seed gives the same values on every JVM ({@link SplittableRandom}, whose
 * sequence is specified); tests take the seed from {@code GpuTestSupport.seed(...)} or
 * {@code CheckContext.seed()} so a failure can be replayed.
 *
 * <p>The float generators never return an all-zero array: an all-zero draw (vanishingly rare for
 * sensible arguments) is replaced by the next draw of the same stream, and arguments that keep
 * giving zeros (a spread that underflows FP32) are rejected with {@link IllegalArgumentException}.
 */
public final class RandomTensors {
    /** Redraws of an all-zero result before the arguments are declared unusable. */
    private static final int MAX_DRAWS = 16;

    private RandomTensors() {}

    private static void checkN(int n) {
        if (n < 0) throw new IllegalArgumentException("n: must be >= 0, got " + n);
    }

    private static boolean allZero(float[] x) {
        for (float v : x) if (v != 0f) return false;
        return x.length > 0;
    }

    /**
     * {@code n} values from N(0, std^2), rounded to FP32. {@code std} must be finite and > 0.
     *
     * @param seed the seed
     * @param n how many
     * @param std the standard deviation
     * @return the values, never all zero
     * @throws IllegalArgumentException if n is negative or std is not finite and positive
     */
    public static float[] normal(long seed, int n, double std) {
        checkN(n);
        if (!(std > 0) || Double.isInfinite(std)) throw new IllegalArgumentException("std: must be finite and > 0, got " + std);
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        int draws = 0;
        do {
            if (draws++ == MAX_DRAWS) throw new IllegalArgumentException("std: " + std + " gives only zeros in FP32");
            for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * std);
        } while (allZero(x));
        return x;
    }

    /**
     * {@code n} values uniform in {@code [lo, hi)}, rounded to FP32. Needs {@code lo < hi}, both finite, not both 0.
     *
     * @param seed the seed
     * @param n how many
     * @param lo the lower bound
     * @param hi the upper bound (exclusive)
     * @return the values, never all zero
     * @throws IllegalArgumentException if n is negative or the range is not as required
     */
    public static float[] uniform(long seed, int n, double lo, double hi) {
        checkN(n);
        if (!(lo < hi) || Double.isInfinite(lo) || Double.isInfinite(hi))
            throw new IllegalArgumentException("lo, hi: expected finite lo < hi, got [" + lo + ", " + hi + ")");
        if ((float) lo == 0f && (float) hi == 0f)
            throw new IllegalArgumentException("lo, hi: [" + lo + ", " + hi + ") holds only zeros in FP32");
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        int draws = 0;
        do {
            if (draws++ == MAX_DRAWS) throw new IllegalArgumentException("lo, hi: [" + lo + ", " + hi + ") gives only zeros in FP32");
            for (int i = 0; i < n; i++) {
                float v = (float) r.nextDouble(lo, hi);
                x[i] = v < hi ? v : Math.nextDown((float) hi); // FP32 rounding may reach hi
            }
        } while (allZero(x));
        return x;
    }

    /**
     * {@code n} ints uniform in {@code [lo, hiExclusive)}. Unlike the float generators this returns
     * zeros when the range is {@code [0, 1)}; callers choose ranges (expert ids, lengths) themselves.
     *
     * @param seed the seed
     * @param n how many
     * @param lo the lower bound
     * @param hiExclusive the upper bound (exclusive)
     * @return the values
     * @throws IllegalArgumentException if n is negative or {@code lo >= hiExclusive}
     */
    public static int[] uniformInts(long seed, int n, int lo, int hiExclusive) {
        checkN(n);
        if (lo >= hiExclusive) throw new IllegalArgumentException("lo, hiExclusive: expected lo < hiExclusive, got [" + lo + ", " + hiExclusive + ")");
        SplittableRandom r = new SplittableRandom(seed);
        int[] x = new int[n];
        for (int i = 0; i < n; i++) x[i] = r.nextInt(lo, hiExclusive);
        return x;
    }

    /**
     * {@link #normal} rounded to BF16, as raw BF16 bits (BF16 input tensors).
     *
     * @param seed the seed
     * @param n how many
     * @param std the standard deviation
     * @return BF16 bits, never all zero
     * @throws IllegalArgumentException as {@link #normal}, or if every value underflows BF16
     */
    public static short[] normalBf16(long seed, int n, double std) {
        float[] x = normal(seed, n, std);
        short[] b = Bf16.encode(x);
        for (short v : b) if ((v & 0x7FFF) != 0) return b;
        // Every value underflowed BF16 (std absurdly small): not a usable input.
        throw new IllegalArgumentException("std: " + std + " gives only zeros in BF16");
    }

    /**
     * A uniformly random permutation of {@code 0 .. n-1} (e.g. shuffled page tables).
     *
     * @param seed the seed
     * @param n how many
     * @return the permutation
     * @throws IllegalArgumentException if n is negative
     */
    public static int[] permutation(long seed, int n) {
        checkN(n);
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /**
     * A seed derived from {@code seed} and a label, for independent streams of one test (e.g. "a", "b").
     *
     * @param seed the test's seed
     * @param label names the stream
     * @return the derived seed
     */

    public static long derive(long seed, String label) {
        long h = seed ^ 0x9E3779B97F4A7C15L;
        for (int i = 0; i < label.length(); i++) h = (h ^ label.charAt(i)) * 0x100000001B3L;
        return new SplittableRandom(h).nextLong();
    }
}
