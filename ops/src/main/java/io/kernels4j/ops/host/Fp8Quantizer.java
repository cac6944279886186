package io.kernels4j.ops.host;

/**
 * The FP8 quantisers of docs/CONTRACT.md section 1, in plain Java, as the reference every GPU quantiser
 * (and every fused FP8 cast) is compared with bit for bit.
 *
 * <p>Per group of values (docs/CONTRACT.md section 1, "Per-token-group scales"):
 * <pre>
 *   amax  = max(|x|) over the group, clamped below at 1e-4        ({@link #AMAX_FLOOR})
 *   scale = amax / 448                        (FP32 division)     ({@link #groupScale})
 *   scale = 2^ceil(log2(amax / 448))          with pow2 = true    ({@link #ceilPow2})
 *   q     = e4m3(x / scale)                   (FP32 division, {@link E4m3#encode(float)})
 * </pre>
 * Dequantised value: {@code float(q) * scale}.
 *
 * <p>For a GPU quantiser to match bit for bit it must divide the same way: IEEE FP32 division
 * ({@code x / scale} without {@code --use_fast_math}, not {@code __fdividef} and not
 * {@code x * (1 / scale)}, which rounds twice), and compute amax and scale exactly as above.
 *
 * <p>NaN inputs: the amax ignores NaN (as CUDA's {@code fmaxf} does) and the NaN element encodes to
 * the NaN code; an infinite input makes the scale infinite. Neither is a supported input; the
 * behaviour is fixed only so that references are deterministic.
 *
 * <p>Layouts (docs/CONTRACT.md section 1, "Scale layout consumed by the GEMM", same as DeepGEMM on Hopper):
 * <ul>
 *   <li>1x128 activation scales: FP32, MN-major, element {@code (m, kb)} at
 *       {@code kb * alignUp(M, 4) + m}, i.e. a row-major {@code [ceil(K/128), alignUp(M, 4)]}
 *       array; the padding entries {@code m >= M} are 0.</li>
 *   <li>128x128 weight scales: FP32 row-major {@code [ceil(N/128), ceil(K/128)]}.</li>
 * </ul>
 * Values are row-major {@code [M, K]} / {@code [N, K]}; the last group/block along each dimension
 * may be short.
 */
public final class Fp8Quantizer {
    /** Group width along K and block edge (docs/CONTRACT.md section 1). */
    public static final int GROUP = 128;
    /** Lower clamp of a group's amax (docs/CONTRACT.md section 1). */
    public static final float AMAX_FLOOR = 1e-4f;
    /** Row alignment of MN-major activation scales (docs/CONTRACT.md section 1). */
    public static final int SCALE_ROW_ALIGN = 4;

    private Fp8Quantizer() {}

    /**
     * Quantised values and their scales. {@code q} is row-major like the input; the layout of
     * {@code scales} depends on the method that made it (see its Javadoc).
     *
     * @param q the e4m3 codes, row-major like the input
     * @param scales the FP32 scales
     */
    public record Quantized(byte[] q, float[] scales) {}

    /**
     * Smallest multiple of {@code a} that is {@code >= v} ({@code v >= 0}, {@code a > 0}).
     *
     * @param v the value
     * @param a the alignment
     * @return v rounded up to a multiple of a
     * @throws IllegalArgumentException if {@code v < 0} or {@code a <= 0}
     */
    public static int alignUp(int v, int a) {
        if (v < 0 || a <= 0) throw new IllegalArgumentException("alignUp: expected v >= 0 and a > 0, got v=" + v + ", a=" + a);
        return Math.addExact(v, a - 1) / a * a;
    }

    /**
     * Index of activation scale {@code (row, kb)} in the MN-major layout for {@code m} rows: {@code kb * alignUp(m, 4) + row}.
     *
     * @param row the row
     * @param kb the group along K
     * @param m the rows
     * @return the index into the scales
     */
    public static int mnMajorIndex(int row, int kb, int m) {
        return kb * alignUp(m, SCALE_ROW_ALIGN) + row;
    }

    /**
     * {@code ceil(v / d)} for {@code v >= 0}, {@code d > 0}.
     *
     * @param v the dividend
     * @param d the divisor
     * @return the quotient rounded up
     * @throws IllegalArgumentException if {@code v < 0} or {@code d <= 0}
     */
    public static int ceilDiv(int v, int d) {
        if (v < 0 || d <= 0) throw new IllegalArgumentException("ceilDiv: expected v >= 0 and d > 0, got v=" + v + ", d=" + d);
        return (int) (((long) v + d - 1) / d);
    }

    /**
     * Scale of a group with the given amax (docs/CONTRACT.md section 1): {@code max(amax, 1e-4) / 448} in
     * FP32, or with {@code pow2} the smallest power of two {@code >=} that quotient.
     *
     * @param amax the group's largest absolute value
     * @param pow2 whether the scale is rounded up to a power of two
     * @return the scale
     */
    public static float groupScale(float amax, boolean pow2) {
        // amax > floor is false for NaN, so a NaN amax becomes the floor (fmaxf semantics).
        float a = amax > AMAX_FLOOR ? amax : AMAX_FLOOR;
        float s = a / E4m3.MAX;
        return pow2 ? ceilPow2(s) : s;
    }

    /**
     * {@code 2^ceil(log2(v))} for {@code v > 0}, computed exactly from the bits (no logarithm):
     * {@code v} itself when it is a power of two, else the next power of two above it. Subnormal
     * inputs are handled; {@code v} past {@code 2^127} gives +infinity; NaN, zero and negative
     * inputs are rejected.
     *
     * @param v a positive float
     * @return the smallest power of two {@code >= v}
     * @throws IllegalArgumentException if v is NaN, zero or negative
     */
    public static float ceilPow2(float v) {
        if (!(v > 0)) throw new IllegalArgumentException("v: expected > 0, got " + v);
        if (v == Float.POSITIVE_INFINITY) return v;
        int bits = Float.floatToRawIntBits(v);
        if (Math.getExponent(v) == Float.MIN_EXPONENT - 1) {
            // Subnormal: bits is the value in units of 2^-149.
            int p = Integer.highestOneBit(bits);
            return Float.intBitsToFloat(p == bits ? p : p << 1); // p << 1 may become 2^-126, the normal bit pattern
        }
        if ((bits & 0x7FFFFF) == 0) return v;
        int e = Math.getExponent(v) + 1;
        return e > Float.MAX_EXPONENT ? Float.POSITIVE_INFINITY : Math.scalb(1f, e);
    }

    /** Max |x| over a strided 2-D region, NaN ignored (fmaxf semantics). */
    private static float amax(float[] x, int ld, int r0, int r1, int c0, int c1) {
        float a = 0f;
        for (int r = r0; r < r1; r++) {
            int base = r * ld;
            for (int c = c0; c < c1; c++) {
                float v = Math.abs(x[base + c]);
                if (v > a) a = v;
            }
        }
        return a;
    }

    private static void quantizeRegion(float[] x, int ld, int r0, int r1, int c0, int c1, float scale, byte[] q) {
        for (int r = r0; r < r1; r++) {
            int base = r * ld;
            for (int c = c0; c < c1; c++) q[base + c] = E4m3.encode(x[base + c] / scale);
        }
    }

    /**
     * Quantises one group in place: {@code out[outOff + i] = e4m3(x[off + i] / scale)} for
     * {@code i < len}, with the scale of docs/CONTRACT.md section 1. Returns the scale. The building block for
     * layouts this class does not cover (e.g. the FP8 MLA cache row: 4 groups of 128, pow2).
     *
     * @param x the values
     * @param off the group's first value in x
     * @param len the group's length
     * @param pow2 whether the scale is rounded up to a power of two
     * @param out receives the {@code len} codes
     * @param outOff the first code's index in out
     * @return the scale
     */
    public static float quantizeGroup(float[] x, int off, int len, boolean pow2, byte[] out, int outOff) {
        float scale = groupScale(amax(x, 0, 0, 1, off, off + len), pow2);
        for (int i = 0; i < len; i++) out[outOff + i] = E4m3.encode(x[off + i] / scale);
        return scale;
    }

    private static void checkShape(float[] x, String name, int rows, int cols) {
        if (x == null) throw new IllegalArgumentException(name + ": must not be null");
        if (rows < 0 || cols < 0) throw new IllegalArgumentException(name + ": dimensions must be >= 0, got [" + rows + ", " + cols + "]");
        if ((long) rows * cols != x.length)
            throw new IllegalArgumentException(name + ": expected " + rows + " * " + cols + " = " + ((long) rows * cols)
                    + " values, got " + x.length);
    }

    /**
     * 1x128 per-token-group quantisation of row-major {@code x[m, k]} (docs/CONTRACT.md section 1).
     * Returns {@code q[m * k]} row-major and FP32 scales MN-major {@code [ceil(k/128)][alignUp(m, 4)]}
     * (element {@code (row, kb)} at {@code kb * alignUp(m, 4) + row}; padding rows hold 0).
     *
     * @param x row-major {@code [m, k]}
     * @param m the rows
     * @param k the columns
     * @param pow2 whether scales are rounded up to powers of two
     * @return the codes and MN-major scales
     * @throws IllegalArgumentException if x is null or does not hold {@code m * k} values
     */
    public static Quantized perTokenGroup(float[] x, int m, int k, boolean pow2) {
        checkShape(x, "x", m, k);
        int groups = ceilDiv(k, GROUP);
        int ma = alignUp(m, SCALE_ROW_ALIGN);
        byte[] q = new byte[x.length];
        float[] scales = new float[groups * ma];
        for (int r = 0; r < m; r++) {
            for (int kb = 0; kb < groups; kb++) {
                int c0 = kb * GROUP, c1 = Math.min(k, c0 + GROUP);
                float s = groupScale(amax(x, k, r, r + 1, c0, c1), pow2);
                scales[kb * ma + r] = s;
                quantizeRegion(x, k, r, r + 1, c0, c1, s, q);
            }
        }
        return new Quantized(q, scales);
    }

    /**
     * Like {@link #perTokenGroup} but with the scales row-major {@code [m][ceil(k/128)]} (no
     * padding), the layout of e.g. the FP8 MLA cache and of most Python reference code.
     *
     * @param x row-major {@code [m, k]}
     * @param m the rows
     * @param k the columns
     * @param pow2 whether scales are rounded up to powers of two
     * @return the codes and row-major scales
     * @throws IllegalArgumentException if x is null or does not hold {@code m * k} values
     */
    public static Quantized perTokenGroupRowMajor(float[] x, int m, int k, boolean pow2) {
        Quantized mn = perTokenGroup(x, m, k, pow2);
        return new Quantized(mn.q(), scalesToRowMajor(mn.scales(), m, ceilDiv(k, GROUP)));
    }

    /**
     * 128x128 per-block quantisation of row-major weights {@code w[n, k]} (docs/CONTRACT.md section 1).
     * Returns {@code q[n * k]} row-major and FP32 scales row-major {@code [ceil(n/128)][ceil(k/128)]}.
     *
     * @param w row-major {@code [n, k]}
     * @param n the rows
     * @param k the columns
     * @param pow2 whether scales are rounded up to powers of two
     * @return the codes and block scales
     * @throws IllegalArgumentException if w is null or does not hold {@code n * k} values
     */
    public static Quantized perBlock(float[] w, int n, int k, boolean pow2) {
        checkShape(w, "w", n, k);
        int nb = ceilDiv(n, GROUP), kbs = ceilDiv(k, GROUP);
        byte[] q = new byte[w.length];
        float[] scales = new float[nb * kbs];
        for (int b = 0; b < nb; b++) {
            int r0 = b * GROUP, r1 = Math.min(n, r0 + GROUP);
            for (int kb = 0; kb < kbs; kb++) {
                int c0 = kb * GROUP, c1 = Math.min(k, c0 + GROUP);
                float s = groupScale(amax(w, k, r0, r1, c0, c1), pow2);
                scales[b * kbs + kb] = s;
                quantizeRegion(w, k, r0, r1, c0, c1, s, q);
            }
        }
        return new Quantized(q, scales);
    }

    /**
     * Converts row-major {@code [m][groups]} scales to the MN-major layout
     * {@code [groups][alignUp(m, 4)]} with zero padding (docs/CONTRACT.md section 1, "a helper converts
     * row-major [M, ceil(K/128)] scales").
     *
     * @param rowMajor {@code [m, groups]} scales
     * @param m the rows
     * @param groups the groups per row
     * @return {@code [groups, alignUp(m, 4)]} scales
     * @throws IllegalArgumentException if rowMajor does not hold {@code m * groups} values
     */
    public static float[] scalesToMnMajor(float[] rowMajor, int m, int groups) {
        checkShape(rowMajor, "rowMajor", m, groups);
        int ma = alignUp(m, SCALE_ROW_ALIGN);
        float[] out = new float[groups * ma];
        for (int r = 0; r < m; r++)
            for (int g = 0; g < groups; g++) out[g * ma + r] = rowMajor[r * groups + g];
        return out;
    }

    /**
     * Inverse of {@link #scalesToMnMajor}: drops the padding and returns row-major {@code [m][groups]}.
     *
     * @param mnMajor {@code [groups, alignUp(m, 4)]} scales
     * @param m the rows
     * @param groups the groups per row
     * @return {@code [m, groups]} scales
     * @throws IllegalArgumentException if mnMajor does not hold {@code groups * alignUp(m, 4)} values
     */
    public static float[] scalesToRowMajor(float[] mnMajor, int m, int groups) {
        int ma = alignUp(m, SCALE_ROW_ALIGN);
        checkShape(mnMajor, "mnMajor", groups, ma);
        float[] out = new float[m * groups];
        for (int r = 0; r < m; r++)
            for (int g = 0; g < groups; g++) out[r * groups + g] = mnMajor[g * ma + r];
        return out;
    }

    private static void checkQuantized(Quantized qz, int rows, int cols, int scaleCount) {
        if (qz == null) throw new IllegalArgumentException("quantized: must not be null");
        if ((long) rows * cols != qz.q().length)
            throw new IllegalArgumentException("quantized.q: expected " + rows + " * " + cols + " values, got " + qz.q().length);
        if (qz.scales().length != scaleCount)
            throw new IllegalArgumentException("quantized.scales: expected " + scaleCount + " values, got " + qz.scales().length);
    }

    /**
     * {@code float(q) * scale} (FP32 product, docs/CONTRACT.md section 1) for {@link #perTokenGroup} output.
     *
     * @param qz the output of {@link #perTokenGroup}
     * @param m the rows
     * @param k the columns
     * @return row-major {@code [m, k]}
     * @throws IllegalArgumentException if qz does not have the sizes of that shape
     */
    public static float[] dequantizePerTokenGroup(Quantized qz, int m, int k) {
        int ma = alignUp(m, SCALE_ROW_ALIGN), groups = ceilDiv(k, GROUP);
        checkQuantized(qz, m, k, groups * ma);
        float[] out = new float[m * k];
        for (int r = 0; r < m; r++)
            for (int c = 0; c < k; c++) out[r * k + c] = E4m3.decode(qz.q()[r * k + c]) * qz.scales()[(c / GROUP) * ma + r];
        return out;
    }

    /**
     * Exact {@code q * scale} in double for {@link #perTokenGroup} output (4 significant bits times
     * 24 fit a double exactly): the dequantised inputs of FP64 references (docs/CONTRACT.md section 2).
     *
     * @param qz the output of {@link #perTokenGroup}
     * @param m the rows
     * @param k the columns
     * @return row-major {@code [m, k]}
     * @throws IllegalArgumentException if qz does not have the sizes of that shape
     */
    public static double[] dequantizePerTokenGroupExact(Quantized qz, int m, int k) {
        int ma = alignUp(m, SCALE_ROW_ALIGN), groups = ceilDiv(k, GROUP);
        checkQuantized(qz, m, k, groups * ma);
        double[] out = new double[m * k];
        for (int r = 0; r < m; r++)
            for (int c = 0; c < k; c++)
                out[r * k + c] = (double) E4m3.decode(qz.q()[r * k + c]) * qz.scales()[(c / GROUP) * ma + r];
        return out;
    }

    /**
     * {@code float(q) * scale} (FP32 product) for {@link #perBlock} output.
     *
     * @param qz the output of {@link #perBlock}
     * @param n the rows
     * @param k the columns
     * @return row-major {@code [n, k]}
     * @throws IllegalArgumentException if qz does not have the sizes of that shape
     */
    public static float[] dequantizePerBlock(Quantized qz, int n, int k) {
        int kbs = ceilDiv(k, GROUP);
        checkQuantized(qz, n, k, ceilDiv(n, GROUP) * kbs);
        float[] out = new float[n * k];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++) out[r * k + c] = E4m3.decode(qz.q()[r * k + c]) * qz.scales()[(r / GROUP) * kbs + c / GROUP];
        return out;
    }

    /**
     * Exact {@code q * scale} in double for {@link #perBlock} output (see {@link #dequantizePerTokenGroupExact}).
     *
     * @param qz the output of {@link #perBlock}
     * @param n the rows
     * @param k the columns
     * @return row-major {@code [n, k]}
     * @throws IllegalArgumentException if qz does not have the sizes of that shape
     */

    public static double[] dequantizePerBlockExact(Quantized qz, int n, int k) {
        int kbs = ceilDiv(k, GROUP);
        checkQuantized(qz, n, k, ceilDiv(n, GROUP) * kbs);
        double[] out = new double[n * k];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++)
                out[r * k + c] = (double) E4m3.decode(qz.q()[r * k + c]) * qz.scales()[(r / GROUP) * kbs + c / GROUP];
        return out;
    }
}
