package io.kernels4j.validation.gemm;

import io.kernels4j.ops.host.Fp8Quantizer;
import java.util.stream.IntStream;

/**
 * FP64 reference of the FP8 GEMM family (docs/CONTRACT.md section 2), computed from the dequantised inputs:
 * {@code D[m, n] = C[m, n] + sum_k A[m, k] * B[n, k]} in double, where {@code A = float(qa) * sa} and
 * {@code B = float(qb) * sb} exactly ({@link Fp8Quantizer#dequantizePerTokenGroupExact}). Mathematically
 * this equals the kernel's per-128-K promoted sum, so the only differences a check sees are the
 * kernel's FP32 accumulation and its output rounding.
 *
 * <p>Plain loops over primitive arrays, parallel over output rows. Row-major layouts throughout:
 * {@code a[rows, k]}, {@code b[groups, n, k]}, {@code c}/{@code out[rows, n]} (masked: {@code [groups, maxM, ...]}).
 * The grouped forms write only the rows they compute and leave every other row of {@code out} as it
 * was, which is what the kernels promise for padding rows and rows past {@code maskedM}.
 */
public final class Fp8GemmReference {
    private Fp8GemmReference() {}

    /**
     * {@code out[outRow * n + j] = c[cRow * n + j] + sum_t a[aRow * k + t] * b[bOff + j * k + t]} for one
     * output row; {@code c} may be null.
     */
    private static void row(double[] a, int aRow, double[] b, long bOff, float[] c, int cRow, double[] out, int outRow,
                            int n, int k) {
        int aBase = aRow * k;
        for (int j = 0; j < n; j++) {
            long bBase = bOff + (long) j * k;
            double s = 0;
            for (int t = 0; t < k; t++) s += a[aBase + t] * b[(int) (bBase + t)];
            out[outRow * n + j] = (c == null ? 0.0 : c[cRow * n + j]) + s;
        }
    }

    /**
     * Dense: {@code a[m, k]}, {@code b[n, k]}, optional {@code c[m, n]}; returns {@code [m, n]}.
     *
     * @param a the dequantised {@code [m, k]}
     * @param b the dequantised {@code [n, k]}
     * @param c {@code [m, n]} added to the product, or null
     * @param m the rows of a
     * @param n the rows of b
     * @param k the reduction length
     * @return {@code [m, n]}
     * @throws IllegalArgumentException if an array's length does not match the shape
     */
    public static double[] dense(double[] a, double[] b, float[] c, int m, int n, int k) {
        check(a, (long) m * k, "a");
        check(b, (long) n * k, "b");
        if (c != null) check(c.length, (long) m * n, "c");
        double[] out = new double[m * n];
        IntStream.range(0, m).parallel().forEach(r -> row(a, r, b, 0, c, r, out, r, n, k));
        return out;
    }

    /**
     * Dense, only the listed rows (for shapes too large for a full FP64 reference): returns
     * {@code [rows.length, n]}, row i holding output row {@code rows[i]}.
     *
     * @param a the dequantised {@code [m, k]}
     * @param b the dequantised {@code [n, k]}
     * @param c {@code [m, n]} added to the product, or null
     * @param m the rows of a
     * @param n the rows of b
     * @param k the reduction length
     * @param rows the output rows to compute, each in {@code [0, m)}
     * @return {@code [rows.length, n]}
     * @throws IllegalArgumentException if an array's length does not match the shape or a row is out of range
     */
    public static double[] denseRows(double[] a, double[] b, float[] c, int m, int n, int k, int[] rows) {
        check(a, (long) m * k, "a");
        check(b, (long) n * k, "b");
        double[] out = new double[rows.length * n];
        IntStream.range(0, rows.length).parallel().forEach(i -> {
            if (rows[i] < 0 || rows[i] >= m) throw new IllegalArgumentException("rows: " + rows[i] + " outside [0, " + m + ")");
            rowInto(a, rows[i], b, 0, c, out, i, n, k);
        });
        return out;
    }

    private static void rowInto(double[] a, int aRow, double[] b, long bOff, float[] c, double[] out, int outRow, int n, int k) {
        int aBase = aRow * k;
        for (int j = 0; j < n; j++) {
            long bBase = bOff + (long) j * k;
            double s = 0;
            for (int t = 0; t < k; t++) s += a[aBase + t] * b[(int) (bBase + t)];
            out[outRow * n + j] = (c == null ? 0.0 : c[aRow * n + j]) + s;
        }
    }

    /**
     * Grouped contiguous with {@code mIndices[sumM]}: row r uses expert {@code mIndices[r]}; rows whose
     * id is outside {@code [0, groups)} (padding {@code -1}, or invalid) are left untouched in {@code out}.
     *
     * @param a the dequantised {@code [sumM, k]}
     * @param b the dequantised {@code [groups, n, k]}
     * @param c {@code [sumM, n]} added to the product, or null
     * @param mIndices {@code [sumM]}: the group of each row
     * @param groups the number of groups
     * @param n the rows of each group of b
     * @param k the reduction length
     * @param out {@code [sumM, n]}: receives the computed rows
     * @throws IllegalArgumentException if an array's length does not match the shape
     */
    public static void groupedContiguous(double[] a, double[] b, float[] c, int[] mIndices, int groups, int n, int k,
                                         double[] out) {
        int sumM = mIndices.length;
        check(a, (long) sumM * k, "a");
        check(b, (long) groups * n * k, "b");
        check(out, (long) sumM * n, "out");
        IntStream.range(0, sumM).parallel().forEach(r -> {
            int g = mIndices[r];
            if (g >= 0 && g < groups) row(a, r, b, (long) g * n * k, c, r, out, r, n, k);
        });
    }

    /**
     * Expert of each row in the {@code groupEnds} form, -1 for rows past every end: the first g whose
     * end, clamped to {@code [0, sumM]}, exceeds the row (for valid, non-decreasing ends: group g owns
     * rows {@code [groupEnds[g-1], groupEnds[g])}). Also defines the kernel's clamping of bad ends.
     *
     * @param groupEnds {@code [groups]}: the end row of each group
     * @param sumM the rows
     * @return {@code [sumM]}: the group of each row, or -1
     */
    public static int[] rowGroupsFromEnds(int[] groupEnds, int sumM) {
        int[] rowGroup = new int[sumM];
        for (int r = 0; r < sumM; r++) {
            rowGroup[r] = -1;
            for (int g = 0; g < groupEnds.length; g++) {
                int e = Math.min(Math.max(groupEnds[g], 0), sumM);
                if (e > r) {
                    rowGroup[r] = g;
                    break;
                }
            }
        }
        return rowGroup;
    }

    /**
     * Grouped contiguous with {@code groupEnds[groups]} (prefix sums, no padding); rows past the last end untouched.
     *
     * @param a the dequantised {@code [sumM, k]}
     * @param b the dequantised {@code [groups, n, k]}
     * @param c {@code [sumM, n]} added to the product, or null
     * @param groupEnds {@code [groups]}: the end row of each group ({@link #rowGroupsFromEnds})
     * @param sumM the rows
     * @param n the rows of each group of b
     * @param k the reduction length
     * @param out {@code [sumM, n]}: receives the computed rows
     * @throws IllegalArgumentException if an array's length does not match the shape
     */
    public static void groupedEnds(double[] a, double[] b, float[] c, int[] groupEnds, int sumM, int n, int k, double[] out) {
        groupedContiguous(a, b, c, rowGroupsFromEnds(groupEnds, sumM), groupEnds.length, n, k, out);
    }

    /**
     * Grouped masked: {@code a[groups, maxM, k]}, {@code b[groups, n, k]}, {@code c/out[groups, maxM, n]};
     * rows {@code < clamp(maskedM[g], 0, maxM)} of group g are computed, the others left untouched.
     *
     * @param a the dequantised {@code [groups, maxM, k]}
     * @param b the dequantised {@code [groups, n, k]}
     * @param c {@code [groups, maxM, n]} added to the product, or null
     * @param maskedM {@code [groups]}: the valid rows of each group
     * @param maxM the rows of each group of a
     * @param n the rows of each group of b
     * @param k the reduction length
     * @param out {@code [groups, maxM, n]}: receives the computed rows
     * @throws IllegalArgumentException if an array's length does not match the shape
     */
    public static void groupedMasked(double[] a, double[] b, float[] c, int[] maskedM, int maxM, int n, int k, double[] out) {
        int groups = maskedM.length;
        check(a, (long) groups * maxM * k, "a");
        check(b, (long) groups * n * k, "b");
        check(out, (long) groups * maxM * n, "out");
        IntStream.range(0, groups * maxM).parallel().forEach(gr -> {
            int g = gr / maxM, r = gr % maxM;
            if (r < Math.min(Math.max(maskedM[g], 0), maxM)) row(a, gr, b, (long) g * n * k, c, gr, out, gr, n, k);
        });
    }

    /**
     * Dequantised 128x128-scaled weights of several groups, concatenated as {@code [groups, n, k]} doubles.
     *
     * @param perGroup the quantised {@code [n, k]} weights of each group
     * @param n the rows of each group
     * @param k the columns of each group
     * @return {@code [groups, n, k]}
     */

    public static double[] dequantizeGroups(Fp8Quantizer.Quantized[] perGroup, int n, int k) {
        double[] out = new double[perGroup.length * n * k];
        for (int g = 0; g < perGroup.length; g++)
            System.arraycopy(Fp8Quantizer.dequantizePerBlockExact(perGroup[g], n, k), 0, out, g * n * k, n * k);
        return out;
    }

    private static void check(double[] x, long expected, String name) {
        check(x.length, expected, name);
    }

    private static void check(int length, long expected, String name) {
        if (length != expected) throw new IllegalArgumentException(name + ": expected " + expected + " values, got " + length);
    }
}
