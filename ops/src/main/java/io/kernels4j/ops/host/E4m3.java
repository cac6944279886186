package io.kernels4j.ops.host;

/**
 * FP8 e4m3fn codec (docs/CONTRACT.md section 1, "E4M3 encode" / "Decode is exact").
 *
 * <p>Format: 1 sign bit, 4 exponent bits (bias 7), 3 mantissa bits; no infinities; the codes
 * {@code 0x7F} and {@code 0xFF} are NaN; largest finite magnitude 448 ({@code 0x7E}); subnormals
 * are {@code m * 2^-9} for {@code m = 1..7}; smallest normal {@code 2^-6} ({@code 0x08}).
 *
 * <p>{@link #encode(float)} is bit-exact with CUDA's
 * {@code __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3)} (checked against the host build of
 * that function in libkernels4j by {@code E4m3Test}): round to nearest, ties to even; every finite
 * or infinite magnitude above 448 saturates to +-448; +-0 keep their sign; every NaN, whatever its
 * sign or payload, becomes {@code 0x7F} (CUDA's host conversion drops the sign of NaN; what a GPU's
 * {@code cvt} instruction gives for NaN is not checked here, and tests never feed NaN to kernels).
 *
 * <p>{@link #decode(byte)} is exact for every finite code. Both NaN codes decode to the float with
 * raw bits {@code 0x7FFFFFFF}, which is what CUDA's host path
 * ({@code __nv_cvt_fp8_to_halfraw} then {@code __half2float}) returns for them.
 */
public final class E4m3 {
    /** Largest finite e4m3 magnitude. */
    public static final float MAX = 448f;
    /** Smallest positive normal value, 2^-6. */
    public static final float MIN_NORMAL = 0x1p-6f;
    /** Smallest positive subnormal value, 2^-9. */
    public static final float MIN_SUBNORMAL = 0x1p-9f;
    /** The NaN code CUDA's saturating encoder produces for any NaN input. */
    public static final byte NAN = 0x7F;
    /** Code of +448. */
    public static final byte MAX_CODE = 0x7E;
    /** Raw float bits that {@link #decode(byte)} returns for the two NaN codes (CUDA's host result). */
    public static final int DECODED_NAN_BITS = 0x7FFFFFFF;

    private static final float[] DECODE = new float[256];

    static {
        for (int c = 0; c < 256; c++) DECODE[c] = decodeSlow(c);
    }

    private E4m3() {}

    private static float decodeSlow(int code) {
        int mag = code & 0x7F;
        boolean neg = (code & 0x80) != 0;
        if (mag == 0x7F) return Float.intBitsToFloat(DECODED_NAN_BITS);
        int e = mag >>> 3;
        int m = mag & 7;
        // Both products are exact: at most 4 significant bits times a power of two.
        float v = e == 0 ? m * 0x1p-9f : (8 + m) * Math.scalb(1f, e - 7 - 3);
        return neg ? -v : v;
    }

    /**
     * docs/CONTRACT.md section 1: RNE, saturate to +-448 ({@code __NV_SATFINITE}), NaN stays NaN (code 0x7F).
     *
     * @param x a float
     * @return its e4m3 code
     */
    public static byte encode(float x) {
        if (Float.isNaN(x)) return NAN;
        int bits = Float.floatToRawIntBits(x);
        int sign = (bits >>> 24) & 0x80;
        float a = Math.abs(x);
        int mag;
        if (a > MAX) {
            mag = MAX_CODE; // __NV_SATFINITE: everything past 448, infinities included
        } else if (a < MIN_NORMAL) {
            // Subnormal range: the code is the multiple of 2^-9, rounded half to even. a * 512 is
            // exact (power-of-two scaling); a result of 8 is the smallest normal, code 0x08.
            mag = (int) Math.rint(a * 512f);
        } else {
            // Normal range: keep 3 of the 23 mantissa bits, RNE on the raw bits (a carry into the
            // exponent is the correct next binade). a <= 448 so the result stays <= 0x7E.
            int ab = bits & 0x7FFFFFFF;
            int r = (ab + 0x7FFFF + ((ab >>> 20) & 1)) >>> 20;
            mag = r - ((127 - 7) << 3);
        }
        return (byte) (sign | mag);
    }

    /**
     * Exact value of {@code code}; NaN codes give the NaN with bits {@link #DECODED_NAN_BITS}.
     *
     * @param code an e4m3 code
     * @return the value
     */
    public static float decode(byte code) {
        return DECODE[code & 0xFF];
    }

    /**
     * True for the two NaN codes 0x7F and 0xFF.
     *
     * @param code an e4m3 code
     * @return whether it is a NaN
     */
    public static boolean isNaN(byte code) {
        return (code & 0x7F) == 0x7F;
    }

    /**
     * Element-wise {@link #encode(float)}.
     *
     * @param x floats
     * @return their e4m3 codes
     */
    public static byte[] encode(float[] x) {
        byte[] out = new byte[x.length];
        for (int i = 0; i < x.length; i++) out[i] = encode(x[i]);
        return out;
    }

    /**
     * Element-wise {@link #decode(byte)}.
     *
     * @param q e4m3 codes
     * @return the values
     */
    public static float[] decode(byte[] q) {
        float[] out = new float[q.length];
        for (int i = 0; i < q.length; i++) out[i] = DECODE[q[i] & 0xFF];
        return out;
    }

    /**
     * Element-wise {@link #decode(byte)} widened to double (exact).
     *
     * @param q e4m3 codes
     * @return the values
     */
    public static double[] decodeToDouble(byte[] q) {
        double[] out = new double[q.length];
        for (int i = 0; i < q.length; i++) out[i] = DECODE[q[i] & 0xFF];
        return out;
    }

    /**
     * Rounds {@code x} to the nearest e4m3 value (encode then decode).
     *
     * @param x a float
     * @return the nearest e4m3 value (saturated to +-448)
     */

    public static float round(float x) {
        return decode(encode(x));
    }
}
