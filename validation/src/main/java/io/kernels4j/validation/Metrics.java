package io.kernels4j.validation;

import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.host.E4m3;

/**
 * Error metrics and output checks of docs/CONTRACT.md (section 0 "NaN never passes", "outputs poisoned
 * before every call and checked for being written"; section 2 "Check").
 *
 * <p>Every metric is computed in double, and any NaN in either argument makes it NaN (so a gate
 * written as {@code metric < tol} fails on NaN). Arrays must have equal lengths
 * ({@link IllegalArgumentException} naming both otherwise).
 */
public final class Metrics {
    private Metrics() {}

    private static void sameLength(int ref, int out) {
        if (ref != out) throw new IllegalArgumentException("out: expected " + ref + " values (as ref), got " + out);
    }

    /**
     * DeepGEMM's {@code calc_diff} (docs/CONTRACT.md section 2): {@code 1 - 2*sum(x*y) / sum(x*x + y*y)} in
     * double, with x the reference and y the output. 0 for identical non-zero data; NaN when any
     * input is NaN or both are all zeros (never test on zeros).
     *
     * @param ref the FP64 reference
     * @param out the output, as long as {@code ref}
     * @return the diff
     */
    public static double diff(double[] ref, float[] out) {
        sameLength(ref.length, out.length);
        double xy = 0, xxyy = 0;
        for (int i = 0; i < ref.length; i++) {
            double x = ref[i], y = out[i];
            xy += x * y;
            xxyy += x * x + y * y;
        }
        return 1 - 2 * xy / xxyy;
    }

    /**
     * {@link #diff(double[], float[])} for a double output.
     *
     * @param ref the FP64 reference
     * @param out the output, as long as {@code ref}
     * @return the diff
     */
    public static double diff(double[] ref, double[] out) {
        sameLength(ref.length, out.length);
        double xy = 0, xxyy = 0;
        for (int i = 0; i < ref.length; i++) {
            double x = ref[i], y = out[i];
            xy += x * y;
            xxyy += x * x + y * y;
        }
        return 1 - 2 * xy / xxyy;
    }

    /**
     * Relative L2 error {@code ||out - ref|| / ||ref||} (docs/CONTRACT.md section 2 "also report the relative L2 error").
     *
     * @param ref the FP64 reference
     * @param out the output, as long as {@code ref}
     * @return the relative L2 error
     */
    public static double relL2(double[] ref, float[] out) {
        sameLength(ref.length, out.length);
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = out[i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        return Math.sqrt(num) / Math.sqrt(den);
    }

    /**
     * {@link #relL2(double[], float[])} for a double output.
     *
     * @param ref the FP64 reference
     * @param out the output, as long as {@code ref}
     * @return the relative L2 error
     */
    public static double relL2(double[] ref, double[] out) {
        sameLength(ref.length, out.length);
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = out[i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        return Math.sqrt(num) / Math.sqrt(den);
    }

    /**
     * Largest absolute error {@code max |out - ref|}; NaN if any element is NaN; 0 for empty arrays.
     *
     * @param ref the FP64 reference
     * @param out the output, as long as {@code ref}
     * @return the largest absolute error
     */
    public static double maxAbs(double[] ref, float[] out) {
        sameLength(ref.length, out.length);
        double m = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = Math.abs(out[i] - ref[i]);
            if (!(d <= m)) m = d; // takes NaN too, and NaN is never replaced
            if (Double.isNaN(m)) return m;
        }
        return m;
    }

    /**
     * {@link #maxAbs(double[], float[])} for a double output.
     *
     * @param ref the FP64 reference
     * @param out the output, as long as {@code ref}
     * @return the largest absolute error
     */
    public static double maxAbs(double[] ref, double[] out) {
        sameLength(ref.length, out.length);
        double m = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = Math.abs(out[i] - ref[i]);
            if (!(d <= m)) m = d;
            if (Double.isNaN(m)) return m;
        }
        return m;
    }

    /**
     * Largest {@code |out - ref| / max(1, |ref|)}, the mixed absolute/relative error of docs/CONTRACT.md
     * section 3's lse gate ({@code <= 1e-4}). Equal infinities count as exact (+inf is the lse of a
     * request with no visible key), unequal ones as +inf; NaN anywhere gives NaN.
     *
     * @param ref the FP64 reference
     * @param out the output, as long as {@code ref}
     * @return the largest mixed error
     */
    public static double maxAbsOrRel(double[] ref, float[] out) {
        sameLength(ref.length, out.length);
        double m = 0;
        for (int i = 0; i < ref.length; i++) {
            double x = ref[i], y = out[i], d;
            if (Double.isNaN(x) || Double.isNaN(y)) return Double.NaN;
            if (Double.isInfinite(x) || Double.isInfinite(y)) d = x == y ? 0 : Double.POSITIVE_INFINITY; // e.g. lse of an empty request
            else d = Math.abs(y - x) / Math.max(1, Math.abs(x));
            if (d > m) m = d;
        }
        return m;
    }

    /**
     * Number of NaN elements.
     *
     * @param x the values
     * @return how many are NaN
     */
    public static int nanCount(float[] x) {
        int n = 0;
        for (float v : x) if (v != v) n++;
        return n;
    }

    /**
     * Number of NaN elements.
     *
     * @param x the values
     * @return how many are NaN
     */
    public static int nanCount(double[] x) {
        int n = 0;
        for (double v : x) if (v != v) n++;
        return n;
    }

    /**
     * Number of BF16 NaN patterns in raw BF16 data.
     *
     * @param raw BF16 bits
     * @return how many are NaN
     */
    public static int nanCountBf16(short[] raw) {
        int n = 0;
        for (short v : raw) if (Bf16.isNaN(v)) n++;
        return n;
    }

    /**
     * Number of e4m3 NaN codes (0x7F, 0xFF) in raw FP8 data.
     *
     * @param raw e4m3 codes
     * @return how many are NaN
     */
    public static int nanCountE4m3(byte[] raw) {
        int n = 0;
        for (byte v : raw) if (E4m3.isNaN(v)) n++;
        return n;
    }

    /**
     * Poison counter: elements still equal to {@code poison} (i.e. not written by the op).
     *
     * @param raw the output (raw BF16 bits)
     * @param poison the value the output was filled with before the op
     * @return how many elements still hold it
     */
    public static int countEqual(short[] raw, short poison) {
        int n = 0;
        for (short v : raw) if (v == poison) n++;
        return n;
    }

    /**
     * Poison counter for raw bytes (FP8 outputs).
     *
     * @param raw the output
     * @param poison the value the output was filled with before the op
     * @return how many elements still hold it
     */
    public static int countEqual(byte[] raw, byte poison) {
        int n = 0;
        for (byte v : raw) if (v == poison) n++;
        return n;
    }

    /**
     * Poison counter for INT32 outputs.
     *
     * @param raw the output
     * @param poison the value the output was filled with before the op
     * @return how many elements still hold it
     */
    public static int countEqual(int[] raw, int poison) {
        int n = 0;
        for (int v : raw) if (v == poison) n++;
        return n;
    }

    /**
     * Poison counter for FP32 outputs, comparing raw bits ({@link Float#floatToRawIntBits}), so a
     * NaN poison with a chosen payload is counted exactly and -0/+0 are distinct.
     *
     * @param raw the output
     * @param poison the value the output was filled with before the op
     * @return how many elements still hold its bits
     */
    public static int countEqual(float[] raw, float poison) {
        int p = Float.floatToRawIntBits(poison);
        int n = 0;
        for (float v : raw) if (Float.floatToRawIntBits(v) == p) n++;
        return n;
    }

    /**
     * Poison counter for FP32 outputs against a raw bit pattern.
     *
     * @param raw the output
     * @param poisonBits the bits the output was filled with before the op
     * @return how many elements still hold them
     */
    public static int countEqualBits(float[] raw, int poisonBits) {
        int n = 0;
        for (float v : raw) if (Float.floatToRawIntBits(v) == poisonBits) n++;
        return n;
    }

    /**
     * Largest BF16 ulp distance between {@code out} (raw BF16) and the reference rounded once to BF16
     * ({@link Bf16#encode(double)}); {@link Integer#MAX_VALUE} on NaN (docs/CONTRACT.md section 4, "combine
     * within 1 BF16 ulp of the FP64 reference").
     *
     * @param ref the FP64 reference
     * @param out the output (raw BF16 bits), as long as {@code ref}
     * @return the largest distance in ulps
     */
    public static int maxBf16UlpDistance(double[] ref, short[] out) {
        sameLength(ref.length, out.length);
        int m = 0;
        for (int i = 0; i < ref.length; i++) {
            int d = Bf16.ulpDistance(Bf16.encode(ref[i]), out[i]);
            if (d > m) m = d;
        }
        return m;
    }

    /**
     * The usual error report of one output against its FP64 reference.
     *
     * @param n the number of elements
     * @param diff {@link Metrics#diff(double[], float[])}
     * @param relL2 {@link Metrics#relL2(double[], float[])}
     * @param maxAbs {@link Metrics#maxAbs(double[], float[])}
     * @param nanCount NaN elements in the output and the reference together
     */
    public record Summary(int n, double diff, double relL2, double maxAbs, int nanCount) {
        /**
         * Passes the contract gate (docs/CONTRACT.md) {@code diff < tol} with no NaN (NaN anywhere fails).
         *
         * @param diffTolerance the gate's tolerance
         * @return whether the output passes
         */
        public boolean passes(double diffTolerance) {
            return nanCount == 0 && diff < diffTolerance;
        }

        @Override
        public String toString() {
            return String.format("n=%d diff=%.3e relL2=%.3e maxAbs=%.3e nan=%d", n, diff, relL2, maxAbs, nanCount);
        }
    }

    /**
     * Computes a {@link Summary} of {@code out} against {@code ref}.
     *
     * @param ref the FP64 reference
     * @param out the output, as long as {@code ref}
     * @return the summary
     */
    public static Summary summary(double[] ref, float[] out) {
        return new Summary(ref.length, diff(ref, out), relL2(ref, out), maxAbs(ref, out), nanCount(out) + nanCount(ref));
    }

    /**
     * {@link #summary(double[], float[])} for raw BF16 outputs.
     *
     * @param ref the FP64 reference
     * @param out the output (raw BF16 bits), as long as {@code ref}
     * @return the summary
     */

    public static Summary summaryBf16(double[] ref, short[] out) {
        return summary(ref, Bf16.decode(out));
    }
}
