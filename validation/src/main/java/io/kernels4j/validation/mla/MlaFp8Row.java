package io.kernels4j.validation.mla;

import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.host.E4m3;

/**
 * The 656-byte FP8 row of the MLA KV cache (docs/CONTRACT.md section 3), as the GPU writes it
 * ({@code k4j_mla_kv_cache_write}): bytes [0, 512) e4m3 values 0..511; [512, 528) four little-endian FP32
 * scales, scale g for values [128g, 128g + 128); [528, 656) the 64 BF16 RoPE values 512..575 unchanged.
 * Per group: amax clamped below at 1e-4, scale = 2^ceil(log2(amax / 448)) (amax / 448 in FP32),
 * q = e4m3 (RNE, saturating) of x / scale (FP32 division, exact for a power of two).
 */
public final class MlaFp8Row {
    /** Bytes of one FP8 row. */
    public static final int ROW_BYTES = 656;
    /** Values of a row stored as e4m3 (the latent part; the rest is the BF16 RoPE part). */
    public static final int NOPE = 512;
    /** Values of a row. */
    public static final int DIM = 576;
    /** Values sharing one scale. */
    public static final int GROUP = 128;

    private MlaFp8Row() {}

    /** 2^ceil(log2(x)) for a positive normal float, exactly. */
    static float pow2Ceil(float x) {
        int e = Math.getExponent(x);
        float p = Math.scalb(1f, e);
        return p == x ? p : Math.scalb(1f, e + 1);
    }

    /**
     * The scale of one group: 2^ceil(log2(max(amax, 1e-4) / 448)).
     *
     * @param amax the group's largest absolute value
     * @return the scale, a power of two
     */
    public static float scale(float amax) {
        return pow2Ceil(Math.max(amax, 1e-4f) / E4m3.MAX);
    }

    /**
     * Encodes one row of 576 BF16 values (raw bits at {@code src[srcOff..]}) into {@code dst[dstOff..+656)}.
     *
     * @param src BF16 bits
     * @param srcOff the row's first value in src
     * @param dst receives the row
     * @param dstOff the row's first byte in dst
     */
    public static void encode(short[] src, int srcOff, byte[] dst, int dstOff) {
        for (int g = 0; g < NOPE / GROUP; g++) {
            float amax = 0f;
            for (int k = 0; k < GROUP; k++) {
                float v = Bf16.decode(src[srcOff + g * GROUP + k]);
                if (Math.abs(v) > amax) amax = Math.abs(v); // NaN never raises amax (CUDA's fmaxf)
            }
            float s = scale(amax);
            for (int k = 0; k < GROUP; k++) dst[dstOff + g * GROUP + k] = E4m3.encode(Bf16.decode(src[srcOff + g * GROUP + k]) / s);
            int bits = Float.floatToRawIntBits(s);
            for (int b = 0; b < 4; b++) dst[dstOff + NOPE + 4 * g + b] = (byte) (bits >>> (8 * b));
        }
        for (int k = 0; k < DIM - NOPE; k++) {
            short v = src[srcOff + NOPE + k];
            dst[dstOff + NOPE + 16 + 2 * k] = (byte) v;
            dst[dstOff + NOPE + 16 + 2 * k + 1] = (byte) (v >>> 8);
        }
    }

    /**
     * Scale g of the row at {@code src[off..]}.
     *
     * @param src FP8 rows
     * @param off the row's first byte
     * @param g the group, 0..3
     * @return the scale
     */
    public static float scaleAt(byte[] src, int off, int g) {
        int p = off + NOPE + 4 * g;
        int bits = (src[p] & 0xFF) | (src[p + 1] & 0xFF) << 8 | (src[p + 2] & 0xFF) << 16 | (src[p + 3] & 0xFF) << 24;
        return Float.intBitsToFloat(bits);
    }

    /**
     * Decodes the row at {@code src[off..]} into 576 values: float(e4m3) * scale, then the RoPE BF16 values.
     *
     * @param src FP8 rows
     * @param off the row's first byte
     * @param dst receives the 576 values
     */

    public static void decode(byte[] src, int off, double[] dst) {
        for (int g = 0; g < NOPE / GROUP; g++) {
            float s = scaleAt(src, off, g);
            for (int k = 0; k < GROUP; k++) dst[g * GROUP + k] = (double) (E4m3.decode(src[off + g * GROUP + k]) * s);
        }
        for (int k = 0; k < DIM - NOPE; k++) {
            int p = off + NOPE + 16 + 2 * k;
            dst[NOPE + k] = Bf16.decode((short) ((src[p] & 0xFF) | (src[p + 1] & 0xFF) << 8));
        }
    }
}
