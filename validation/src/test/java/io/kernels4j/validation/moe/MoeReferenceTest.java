package io.kernels4j.validation.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.host.E4m3;
import io.kernels4j.ops.host.Fp8Quantizer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Hand-worked cases of the MoE references (CPU only). */
class MoeReferenceTest {
    // T = 4 tokens, K = 2, E = 4: expert 1 is empty, token 2 has a -1 slot, expert 3 is hot.
    private static final int[] IDX = {3, 0, 2, 3, 3, -1, 0, 3};

    @Test
    void layoutOrdersRowsByTokenThenK() {
        MoeReference.Layout l = MoeReference.layout(IDX, 4, 2, 4, 1);
        assertArrayEquals(new int[] {2, 0, 1, 4}, l.numTokensPerExpert());
        assertArrayEquals(new int[] {0, 2, 2, 3, 7}, l.expertOffsets());
        assertEquals(7, l.totalRows());
        // expert 0 rows 0..1: pairs 1 (t0), 6 (t3); expert 2 row 2: pair 2; expert 3 rows 3..6: pairs 0, 3, 4, 7.
        assertArrayEquals(new int[] {3, 0, 2, 4, 5, -1, 1, 6}, l.rowOf());
        assertFalse(l.badIds());
    }

    @Test
    void alignmentPadsEveryNonEmptySegment() {
        MoeReference.Layout l = MoeReference.layout(IDX, 4, 2, 4, 128);
        assertArrayEquals(new int[] {0, 128, 128, 256, 384}, l.expertOffsets());
        assertEquals(384, l.totalRows());
        assertArrayEquals(new int[] {256, 0, 128, 257, 258, -1, 1, 259}, l.rowOf());
        int[] m = MoeReference.mIndices(l, 390);
        assertEquals(0, m[0]);
        assertEquals(0, m[1]);
        assertEquals(-1, m[2]);
        assertEquals(2, m[128]);
        assertEquals(-1, m[129]);
        assertEquals(3, m[259]);
        assertEquals(-1, m[260]);
        assertEquals(-1, m[384]);
        assertEquals(-1, m[389]);
    }

    @Test
    void idsOutsideTheRangeAreNotRoutedAndFlagged() {
        MoeReference.Layout l = MoeReference.layout(new int[] {0, 7, -2, 1}, 2, 2, 4, 1);
        assertTrue(l.badIds());
        assertArrayEquals(new int[] {0, -1, -1, 1}, l.rowOf());
        assertArrayEquals(new int[] {1, 1, 0, 0}, l.numTokensPerExpert());
    }

    @Test
    void oneHotExpertAndMaskedOverflow() {
        int[] idx = new int[16];
        java.util.Arrays.fill(idx, 5); // 16 tokens, K = 1, all to expert 5 of 8
        MoeReference.Layout l = MoeReference.layout(idx, 16, 1, 8, 64);
        assertEquals(64, l.totalRows());
        for (int t = 0; t < 16; t++) assertEquals(l.expertOffsets()[5] + t, l.rowOf()[t]);
        int[] slots = MoeReference.slotOf(l, idx, 10);
        for (int t = 0; t < 16; t++) assertEquals(t < 10 ? 5 * 10 + t : -1, slots[t]);
        assertEquals(6, MoeReference.maskedOverflow(l, 10));
        assertEquals(10, MoeReference.maskedCounts(l, 10)[5]);
        assertEquals(0, MoeReference.maskedCounts(l, 10)[0]);
    }

    @Test
    void dispatchGathersRowsAndQuantisesPerRow() {
        int h = 256;
        SplittableRandom r = new SplittableRandom(7);
        short[] x = new short[4 * h];
        for (int i = 0; i < x.length; i++) x[i] = Bf16.encode((float) r.nextGaussian());
        MoeReference.Layout l = MoeReference.layout(IDX, 4, 2, 4, 1);
        short[] xe = MoeReference.dispatchBf16(x, h, l.rowOf(), 2, l.totalRows());
        // row 4 is pair 3 = token 1
        for (int i = 0; i < h; i++) assertEquals(x[h + i], xe[4 * h + i]);
        byte[] q = new byte[h];
        float[] s = MoeReference.quantizeRow(x, 1, h, false, q);
        // Same as the quantiser on the whole [1, h] row.
        float[] row = new float[h];
        for (int i = 0; i < h; i++) row[i] = Bf16.decode(x[h + i]);
        Fp8Quantizer.Quantized ref = Fp8Quantizer.perTokenGroup(row, 1, h, false);
        assertArrayEquals(ref.q(), q);
        assertEquals(ref.scales()[0], s[0]);
        assertEquals(ref.scales()[4], s[1]);
    }

    @Test
    void combineIsTheWeightedSumOverRoutedSlots() {
        int h = 128;
        short[] y = new short[3 * h];
        for (int i = 0; i < h; i++) {
            y[i] = Bf16.encode(1f);
            y[h + i] = Bf16.encode(2f);
            y[2 * h + i] = Bf16.encode(-4f);
        }
        int[] rowMap = {0, 2, -1, 1}; // token 0: rows 0, 2; token 1: one -1 slot, row 1
        float[] w = {0.5f, 0.25f, 100f, 3f};
        double[] out = MoeReference.combine(y, h, rowMap, w, 2, 2);
        assertEquals(0.5 - 1.0, out[0], 0);
        assertEquals(6.0, out[h], 0);
        short[] gpuLike = new short[2 * h];
        for (int i = 0; i < h; i++) {
            gpuLike[i] = Bf16.encode(-0.5f);
            gpuLike[h + i] = Bf16.encode(6f);
        }
        double[] bound = MoeReference.combineAccumulationBound(y, h, rowMap, w, 2, 2);
        assertEquals(0, MoeReference.combineViolations(out, bound, gpuLike));
        gpuLike[3] = Bf16.encode(-0.5f * (1 + 0x1p-6f)); // 2 ulps off
        assertEquals(1, MoeReference.combineViolations(out, bound, gpuLike));
        gpuLike[3] = Bf16.NAN;
        assertEquals(1, MoeReference.combineViolations(out, bound, gpuLike));
    }

    @Test
    void siluMulAndCodeSteps() {
        assertEquals(0.0, MoeReference.siluMul(0.0, 3.0), 0);
        assertEquals(2.0 / (1 + Math.exp(-2.0)) * 3.0, MoeReference.siluMul(2.0, 3.0), 1e-15);
        assertTrue(MoeReference.e4m3WithinOneStep(E4m3.encode(1f), E4m3.encode(1.125f)));
        assertFalse(MoeReference.e4m3WithinOneStep(E4m3.encode(1f), E4m3.encode(1.25f)));
        assertTrue(MoeReference.e4m3WithinOneStep((byte) 0x00, (byte) 0x80));
        assertTrue(MoeReference.e4m3WithinOneStep((byte) 0x01, (byte) 0x80));
        assertFalse(MoeReference.e4m3WithinOneStep(E4m3.NAN, E4m3.NAN));
        assertEquals(0x1p-7, MoeReference.bf16Ulp(1.5), 0);
    }
}
