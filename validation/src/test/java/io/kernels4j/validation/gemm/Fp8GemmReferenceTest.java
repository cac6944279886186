package io.kernels4j.validation.gemm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kernels4j.ops.host.Fp8Quantizer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The FP64 GEMM reference against hand-computed results (CPU only). */
class Fp8GemmReferenceTest {
    private static final double SENTINEL = -12345.0;

    private static double[] filled(int n, double v) {
        double[] x = new double[n];
        Arrays.fill(x, v);
        return x;
    }

    private static float[] filledF(int n, float v) {
        float[] x = new float[n];
        Arrays.fill(x, v);
        return x;
    }

    @Test
    void denseSmallIntegersWithAndWithoutC() {
        int m = 2, n = 2, k = 16;
        double[] a = new double[m * k];
        for (int t = 0; t < k; t++) {
            a[t] = 1;          // row 0: all ones
            a[k + t] = t;      // row 1: 0..15
        }
        double[] b = new double[n * k];
        for (int t = 0; t < k; t++) {
            b[t] = 1;          // col 0: ones
            b[k + t] = 2;      // col 1: twos
        }
        assertArrayEquals(new double[] {16, 32, 120, 240}, Fp8GemmReference.dense(a, b, null, m, n, k));
        float[] c = {0.5f, -1f, 2f, 3f};
        assertArrayEquals(new double[] {16.5, 31, 122, 243}, Fp8GemmReference.dense(a, b, c, m, n, k));
        assertArrayEquals(new double[] {120, 240}, Fp8GemmReference.denseRows(a, b, null, m, n, k, new int[] {1}));
        assertArrayEquals(new double[] {122, 243, 16.5, 31}, Fp8GemmReference.denseRows(a, b, c, m, n, k, new int[] {1, 0}));
    }

    @Test
    void scalesApplyPerKBlock() {
        // One row, K = 256: the two k-blocks have different magnitudes, hence different scales.
        int m = 1, n = 8, k = 256;
        float[] x = new float[k];
        float[] w = new float[n * k];
        for (int t = 0; t < k; t++) x[t] = t < 128 ? 3f : -0.5f;
        for (int j = 0; j < n; j++) for (int t = 0; t < k; t++) w[j * k + t] = t < 128 ? 2f : 4f;
        Fp8Quantizer.Quantized qa = Fp8Quantizer.perTokenGroup(x, m, k, false);
        Fp8Quantizer.Quantized qb = Fp8Quantizer.perBlock(w, n, k, false);
        float sa0 = 3f / 448f, sa1 = 0.5f / 448f, sb0 = 2f / 448f, sb1 = 4f / 448f;
        assertEquals(sa0, qa.scales()[0]);          // (m=0, kb=0)
        assertEquals(sa1, qa.scales()[4]);          // (m=0, kb=1): MN-major, alignUp(1, 4) = 4
        assertEquals(sb0, qb.scales()[0]);
        assertEquals(sb1, qb.scales()[1]);
        // Every value is the amax of its group, so it quantises to +-448 exactly.
        double expected = 128 * (448.0 * sa0) * (448.0 * sb0) + 128 * (-448.0 * sa1) * (448.0 * sb1);
        double[] d = Fp8GemmReference.dense(Fp8Quantizer.dequantizePerTokenGroupExact(qa, m, k), Fp8Quantizer
                .dequantizePerBlockExact(qb, n, k), null, m, n, k);
        for (int j = 0; j < n; j++) assertEquals(expected, d[j], 1e-12 * Math.abs(expected)); // double summation order
        assertEquals(128 * 6 - 128 * 2, expected, 1e-6 * 512); // the unquantised value, up to FP32 scale rounding
    }

    @Test
    void kTailShorterThanABlock() {
        int m = 3, n = 8, k = 144; // 128 + 16
        float[] x = filledF(m * k, 1f), w = filledF(n * k, 1f);
        for (int t = 128; t < k; t++) x[2 * k + t] = 0.25f; // row 2: short last group with its own scale
        Fp8Quantizer.Quantized qa = Fp8Quantizer.perTokenGroup(x, m, k, true); // pow2 scales: everything exact
        Fp8Quantizer.Quantized qb = Fp8Quantizer.perBlock(w, n, k, true);
        double[] d = Fp8GemmReference.dense(Fp8Quantizer.dequantizePerTokenGroupExact(qa, m, k),
                Fp8Quantizer.dequantizePerBlockExact(qb, n, k), null, m, n, k);
        for (int j = 0; j < n; j++) {
            assertEquals(144.0, d[j], 0.0);
            assertEquals(144.0, d[n + j], 0.0);
            assertEquals(128.0 + 16 * 0.25, d[2 * n + j], 0.0);
        }
    }

    @Test
    void contiguousUsesEachRowsExpertAndSkipsPaddingAndBadIds() {
        int n = 2, k = 16, groups = 2;
        int[] mIndices = {0, 1, -1, 1, 5};
        int sumM = mIndices.length;
        double[] a = new double[sumM * k];
        for (int r = 0; r < sumM; r++) for (int t = 0; t < k; t++) a[r * k + t] = r + 1;
        double[] b = new double[groups * n * k];
        for (int j = 0; j < n; j++) for (int t = 0; t < k; t++) {
            b[j * k + t] = 1 + j;            // expert 0: columns 1, 2
            b[n * k + j * k + t] = 10 * (1 + j); // expert 1: columns 10, 20
        }
        double[] out = filled(sumM * n, SENTINEL);
        Fp8GemmReference.groupedContiguous(a, b, null, mIndices, groups, n, k, out);
        assertArrayEquals(new double[] {16, 32, 320, 640, SENTINEL, SENTINEL, 640, 1280, SENTINEL, SENTINEL}, out);
        float[] c = filledF(sumM * n, 1f);
        out = filled(sumM * n, SENTINEL);
        Fp8GemmReference.groupedContiguous(a, b, c, mIndices, groups, n, k, out);
        assertArrayEquals(new double[] {17, 33, 321, 641, SENTINEL, SENTINEL, 641, 1281, SENTINEL, SENTINEL}, out);
    }

    @Test
    void groupEndsMapRowsWithEmptyGroupsAndClampBadEnds() {
        assertArrayEquals(new int[] {0, 0, 2, 2, 2, -1}, Fp8GemmReference.rowGroupsFromEnds(new int[] {2, 2, 5}, 6));
        assertArrayEquals(new int[] {1, 1, 1}, Fp8GemmReference.rowGroupsFromEnds(new int[] {0, 3}, 3));
        // Decreasing ends act as their running maximum; ends past sumM are clamped to it.
        assertArrayEquals(new int[] {0, 0, 0, 2, -1, -1}, Fp8GemmReference.rowGroupsFromEnds(new int[] {3, 1, 4}, 6));
        assertArrayEquals(new int[] {1, 1}, Fp8GemmReference.rowGroupsFromEnds(new int[] {-3, 99}, 2));

        int n = 1 * 8, k = 16, groups = 3, sumM = 6;
        double[] a = filled(sumM * k, 1);
        double[] b = new double[groups * n * k];
        for (int g = 0; g < groups; g++) Arrays.fill(b, g * n * k, (g + 1) * n * k, g + 1);
        double[] out = filled(sumM * n, SENTINEL);
        Fp8GemmReference.groupedEnds(a, b, null, new int[] {2, 2, 5}, sumM, n, k, out);
        for (int j = 0; j < n; j++) {
            assertEquals(16, out[j]);
            assertEquals(16, out[n + j]);
            assertEquals(48, out[2 * n + j]);
            assertEquals(48, out[4 * n + j]);
            assertEquals(SENTINEL, out[5 * n + j]); // past the last end: untouched
        }
    }

    @Test
    void maskedComputesOnlyRowsBelowMaskedM() {
        int groups = 2, maxM = 3, n = 8, k = 32;
        double[] a = new double[groups * maxM * k];
        for (int gr = 0; gr < groups * maxM; gr++) Arrays.fill(a, gr * k, (gr + 1) * k, gr + 1);
        double[] b = new double[groups * n * k];
        Arrays.fill(b, 0, n * k, 1);
        Arrays.fill(b, n * k, 2 * n * k, -1);
        float[] c = filledF(groups * maxM * n, 0.5f);
        double[] out = filled(groups * maxM * n, SENTINEL);
        Fp8GemmReference.groupedMasked(a, b, c, new int[] {0, 2}, maxM, n, k, out);
        for (int j = 0; j < n; j++) {
            for (int r = 0; r < maxM; r++) assertEquals(SENTINEL, out[r * n + j]); // group 0: maskedM = 0
            assertEquals(0.5 - 4 * 32, out[(maxM) * n + j]);       // group 1 row 0: a = 4
            assertEquals(0.5 - 5 * 32, out[(maxM + 1) * n + j]);   // group 1 row 1: a = 5
            assertEquals(SENTINEL, out[(maxM + 2) * n + j]);       // group 1 row 2: past maskedM
        }
        // Out-of-range maskedM values are clamped to [0, maxM].
        out = filled(groups * maxM * n, SENTINEL);
        Fp8GemmReference.groupedMasked(a, b, null, new int[] {7, -1}, maxM, n, k, out);
        for (int j = 0; j < n; j++) {
            for (int r = 0; r < maxM; r++) assertEquals(32.0 * (r + 1), out[r * n + j]);
            for (int r = 0; r < maxM; r++) assertEquals(SENTINEL, out[(maxM + r) * n + j]);
        }
    }

    @Test
    void dequantizeGroupsConcatenates() {
        int n = 4, k = 16;
        Fp8Quantizer.Quantized g0 = Fp8Quantizer.perBlock(filledF(n * k, 1f), n, k, true);
        Fp8Quantizer.Quantized g1 = Fp8Quantizer.perBlock(filledF(n * k, -2f), n, k, true);
        double[] d = Fp8GemmReference.dequantizeGroups(new Fp8Quantizer.Quantized[] {g0, g1}, n, k);
        assertEquals(2 * n * k, d.length);
        assertEquals(1.0, d[0]);
        assertEquals(-2.0, d[n * k]);
    }
}
