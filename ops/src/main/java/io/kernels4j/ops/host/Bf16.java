package io.kernels4j.ops.host;

/**
 * bfloat16 codec (docs/CONTRACT.md section 0, dtype {@code BF16}): the upper 16 bits of an IEEE float.
 *
 * <p>{@link #encode(float)} is bit-exact with CUDA's {@code __float2bfloat16_rn} (checked against
 * the host build of that function in libkernels4j by {@code Bf16Test}): round to nearest, ties to
 * even, on the raw bits; overflow rounds to +-infinity; subnormals are kept (no flush to zero);
 * every NaN, whatever its sign or payload, becomes the canonical {@code 0x7FFF}.
 * {@link #decode(short)} is exact (it appends 16 zero bits).
 */
public final class Bf16 {
    /** The NaN code {@code __float2bfloat16_rn} produces for any NaN input. */
    public static final short NAN = 0x7FFF;

    private Bf16() {}

    /**
     * Round to nearest even, as {@code __float2bfloat16_rn}; any NaN becomes {@link #NAN}.
     *
     * @param x a float
     * @return its BF16 bits
     */
    public static short encode(float x) {
        if (Float.isNaN(x)) return NAN;
        int bits = Float.floatToRawIntBits(x);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /**
     * Rounds a double straight to bfloat16 (one rounding, nearest even; no double-to-float step
     * first), for comparing outputs with FP64 references. NaN gives {@link #NAN}; magnitudes that
     * round past the largest finite bfloat16 give +-infinity.
     *
     * @param x a double
     * @return its BF16 bits
     */
    public static short encode(double x) {
        if (Double.isNaN(x)) return NAN;
        if (Double.isInfinite(x)) return encode((float) x);
        // Quantum of the bfloat16 grid around x: 8 significant bits, subnormal spacing 2^-133.
        int e = Math.max(Math.getExponent(x), -126);
        double r = Math.scalb(Math.rint(Math.scalb(x, 7 - e)), e - 7); // exact scalings; rint is RNE
        if (Math.abs(r) >= 0x1p128) r = Math.copySign(Double.POSITIVE_INFINITY, x);
        // r has at most 8 significant bits within float range, so the cast is exact.
        return (short) (Float.floatToRawIntBits((float) r) >>> 16);
    }

    /**
     * Exact value of a bfloat16 bit pattern.
     *
     * @param bits BF16 bits
     * @return the value
     */
    public static float decode(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /**
     * True when {@code bits} is a NaN pattern (any sign or payload).
     *
     * @param bits BF16 bits
     * @return whether they are a NaN
     */
    public static boolean isNaN(short bits) {
        return (bits & 0x7F80) == 0x7F80 && (bits & 0x7F) != 0;
    }

    /**
     * Element-wise {@link #encode(float)}.
     *
     * @param x floats
     * @return their BF16 bits
     */
    public static short[] encode(float[] x) {
        short[] out = new short[x.length];
        for (int i = 0; i < x.length; i++) out[i] = encode(x[i]);
        return out;
    }

    /**
     * Element-wise {@link #encode(double)}.
     *
     * @param x doubles
     * @return their BF16 bits
     */
    public static short[] encode(double[] x) {
        short[] out = new short[x.length];
        for (int i = 0; i < x.length; i++) out[i] = encode(x[i]);
        return out;
    }

    /**
     * Element-wise {@link #decode(short)}.
     *
     * @param bits BF16 bits
     * @return the values
     */
    public static float[] decode(short[] bits) {
        float[] out = new float[bits.length];
        for (int i = 0; i < bits.length; i++) out[i] = decode(bits[i]);
        return out;
    }

    /**
     * Element-wise {@link #decode(short)} widened to double (exact).
     *
     * @param bits BF16 bits
     * @return the values
     */
    public static double[] decodeToDouble(short[] bits) {
        double[] out = new double[bits.length];
        for (int i = 0; i < bits.length; i++) out[i] = decode(bits[i]);
        return out;
    }

    /**
     * Rounds {@code x} to the nearest bfloat16 value (encode then decode).
     *
     * @param x a float
     * @return the nearest BF16 value
     */
    public static float round(float x) {
        return decode(encode(x));
    }

    /**
     * Element-wise {@link #round(float)}: inputs as a BF16 tensor would hold them.
     *
     * @param x floats
     * @return the nearest BF16 values
     */
    public static float[] round(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = round(x[i]);
        return out;
    }

    /**
     * Number of bfloat16 values strictly between {@code a} and {@code b}, plus one (0 when equal;
     * +0 and -0 count as equal). {@link Integer#MAX_VALUE} when either is NaN.
     *
     * @param a BF16 bits
     * @param b BF16 bits
     * @return the distance in ulps
     */

    public static int ulpDistance(short a, short b) {
        if (isNaN(a) || isNaN(b)) return Integer.MAX_VALUE;
        return Math.abs(ordered(a) - ordered(b));
    }

    // Maps bit patterns onto a line where adjacent values differ by 1 (sign-magnitude to two's complement).
    private static int ordered(short s) {
        int v = s & 0xFFFF;
        return (v & 0x8000) != 0 ? -(v & 0x7FFF) : v;
    }
}
