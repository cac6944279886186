package io.kernels4j.validation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.host.E4m3;
import io.kernels4j.ops.host.Fp8Quantizer.Quantized;
import io.kernels4j.ops.host.Fp8Quantizer;
import io.kernels4j.ops.testing.GpuTestSupport;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** docs/CONTRACT.md section 1: scale math, clamp, short groups, MN-major layout and padding, pow2 scales. */
class Fp8QuantizerTest {

    @Test
    void alignUpAndCeilDiv() {
        assertEquals(0, Fp8Quantizer.alignUp(0, 4));
        assertEquals(4, Fp8Quantizer.alignUp(1, 4));
        assertEquals(4, Fp8Quantizer.alignUp(4, 4));
        assertEquals(8, Fp8Quantizer.alignUp(5, 4));
        assertEquals(256, Fp8Quantizer.alignUp(129, 128));
        assertEquals(2, Fp8Quantizer.ceilDiv(200, 128));
        assertEquals(1, Fp8Quantizer.ceilDiv(128, 128));
        assertThrows(IllegalArgumentException.class, () -> Fp8Quantizer.alignUp(-1, 4));
        assertThrows(IllegalArgumentException.class, () -> Fp8Quantizer.alignUp(1, 0));
    }

    @Test
    void scaleIsAmaxOver448InFp32AndValuesAreDividedInFp32() {
        float[] x = new float[128];
        for (int i = 0; i < 128; i++) x[i] = (i - 64) * 0.0371f;
        x[17] = -3.3f; // amax
        Quantized qz = Fp8Quantizer.perTokenGroup(x, 1, 128, false);
        float scale = 3.3f / 448f;
        assertEquals(scale, qz.scales()[0]);
        for (int i = 0; i < 128; i++) assertEquals(E4m3.encode(x[i] / scale), qz.q()[i], "element " + i);
        assertEquals((byte) 0xFE, qz.q()[17], "the amax element maps to -448");
        assertEquals(4, qz.scales().length, "MN-major [1][alignUp(1, 4)]");
        assertEquals(0f, qz.scales()[1]);
        assertEquals(0f, qz.scales()[3]);
    }

    @Test
    void amaxIsClampedAt1e4() {
        float[] x = new float[256];
        x[3] = 5e-5f;   // group 0: amax below the floor
        x[200] = 2e-4f; // group 1: above it
        Quantized qz = Fp8Quantizer.perTokenGroup(x, 1, 256, false);
        assertEquals(1e-4f / 448f, qz.scales()[0]);
        assertEquals(2e-4f / 448f, qz.scales()[4]);
        assertEquals(E4m3.encode(5e-5f / (1e-4f / 448f)), qz.q()[3]);
        assertEquals((byte) 0x7E, qz.q()[200]);
        // An all-zero group gets the floor scale and zero codes, never NaN.
        Quantized zeros = Fp8Quantizer.perTokenGroup(new float[128], 1, 128, false);
        assertEquals(1e-4f / 448f, zeros.scales()[0]);
        assertEquals(0, Metrics.nanCountE4m3(zeros.q()));
        assertEquals(128, Metrics.countEqual(zeros.q(), (byte) 0));
    }

    @Test
    void shortLastGroupUsesOnlyItsOwnValues() {
        int m = 2, k = 200; // groups of 128 and 72
        float[] x = new float[m * k];
        for (int i = 0; i < x.length; i++) x[i] = ((i % 13) - 6) / 64f; // max |x| 6/64, exact
        x[5] = 100f;           // row 0, group 0
        x[k + 150] = -7f;      // row 1, group 1 (short)
        Quantized qz = Fp8Quantizer.perTokenGroup(x, m, k, false);
        int ma = 4;
        assertEquals(2 * ma, qz.scales().length);
        assertEquals(100f / 448f, qz.scales()[0 * ma + 0]);
        assertEquals((6 / 64f) / 448f, qz.scales()[1 * ma + 0], "row 0 group 1: max |x| of columns 128..199");
        assertEquals((6 / 64f) / 448f, qz.scales()[0 * ma + 1]);
        assertEquals(7f / 448f, qz.scales()[1 * ma + 1]);
        assertEquals((byte) 0xFE, qz.q()[k + 150]);
    }

    @Test
    void mnMajorLayoutAndZeroPadding() {
        int m = 5, k = 384, groups = 3, ma = 8;
        float[] x = new float[m * k];
        for (int r = 0; r < m; r++)
            for (int g = 0; g < groups; g++) x[r * k + g * 128 + 7] = (r + 1) * 10 + g; // distinct amax per (r, g)
        Quantized qz = Fp8Quantizer.perTokenGroup(x, m, k, false);
        assertEquals(groups * ma, qz.scales().length);
        for (int g = 0; g < groups; g++) {
            for (int r = 0; r < m; r++) assertEquals(((r + 1) * 10 + g) / 448f, qz.scales()[g * ma + r], "(m=" + r + ", kb=" + g + ")");
            for (int r = m; r < ma; r++) assertEquals(0f, qz.scales()[g * ma + r], "padding (m=" + r + ", kb=" + g + ")");
        }
        // Row-major variant and the converters agree with the MN-major layout.
        Quantized rm = Fp8Quantizer.perTokenGroupRowMajor(x, m, k, false);
        assertArrayEquals(qz.q(), rm.q());
        assertEquals(m * groups, rm.scales().length);
        assertEquals(qz.scales()[2 * ma + 4], rm.scales()[4 * groups + 2]);
        assertEquals(2 * ma + 4, Fp8Quantizer.mnMajorIndex(4, 2, m));
        assertArrayEquals(qz.scales(), Fp8Quantizer.scalesToMnMajor(rm.scales(), m, groups));
        assertArrayEquals(rm.scales(), Fp8Quantizer.scalesToRowMajor(qz.scales(), m, groups));
    }

    @Test
    void pow2ScalesAreTheSmallestPowerOfTwoAtOrAboveAmaxOver448() {
        assertEquals(1f, Fp8Quantizer.groupScale(448f, true));
        assertEquals(2f, Fp8Quantizer.groupScale(449f, true));
        assertEquals(0.5f, Fp8Quantizer.groupScale(224f, true));
        assertEquals(1f, Fp8Quantizer.groupScale(300f, true));
        assertEquals(0x1p-22f, Fp8Quantizer.groupScale(0f, true), "clamp: 1e-4/448 = 2.23e-7 -> 2^-22");
        float[] x = new float[128];
        x[0] = 300f;
        x[1] = -1.5f;
        Quantized qz = Fp8Quantizer.perTokenGroup(x, 1, 128, true);
        assertEquals(1f, qz.scales()[0]);
        assertEquals(E4m3.encode(300f), qz.q()[0]);
        assertEquals(E4m3.encode(-1.5f), qz.q()[1]);
    }

    @Test
    void ceilPow2IsExact() {
        long seed = GpuTestSupport.seed("Fp8QuantizerTest.ceilPow2");
        SplittableRandom r = new SplittableRandom(seed);
        assertEquals(1f, Fp8Quantizer.ceilPow2(1f));
        assertEquals(2f, Fp8Quantizer.ceilPow2(Math.nextUp(1f)));
        assertEquals(1f, Fp8Quantizer.ceilPow2(Math.nextDown(1f)));
        assertEquals(Float.MIN_VALUE, Fp8Quantizer.ceilPow2(Float.MIN_VALUE));
        assertEquals(4 * Float.MIN_VALUE, Fp8Quantizer.ceilPow2(3 * Float.MIN_VALUE));
        assertEquals(Float.MIN_NORMAL, Fp8Quantizer.ceilPow2(Math.nextDown(Float.MIN_NORMAL)), "largest subnormal");
        assertEquals(Float.POSITIVE_INFINITY, Fp8Quantizer.ceilPow2(Float.MAX_VALUE));
        assertEquals(0x1p127f, Fp8Quantizer.ceilPow2(0x1p127f));
        assertThrows(IllegalArgumentException.class, () -> Fp8Quantizer.ceilPow2(0f));
        assertThrows(IllegalArgumentException.class, () -> Fp8Quantizer.ceilPow2(Float.NaN));
        for (int i = 0; i < 100_000; i++) {
            float v = Float.intBitsToFloat(r.nextInt(1, 0x7F000000));
            float p = Fp8Quantizer.ceilPow2(v);
            int pb = Float.floatToRawIntBits(p);
            boolean pow2 = Math.getExponent(p) >= Float.MIN_EXPONENT ? (pb & 0x7FFFFF) == 0 : Integer.bitCount(pb) == 1;
            assertTrue(pow2 && p >= v && p / 2 < v, () -> "ceilPow2(" + v + ") = " + p);
        }
    }

    @Test
    void perBlockScalesAreRowMajorOverShortEdgeBlocks() {
        int n = 130, k = 260; // blocks: 2 x 3, edge blocks of 2 rows and 4 columns
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) w[i] = ((i * 7919) % 101 - 50) / 1024f; // max |w| 50/1024, exact
        w[3 * k + 5] = 9f;        // block (0, 0)
        w[129 * k + 259] = -11f;  // block (1, 2): the 2 x 4 corner
        w[128 * k + 100] = 4f;    // block (1, 0)
        Quantized qz = Fp8Quantizer.perBlock(w, n, k, false);
        assertEquals(6, qz.scales().length);
        assertEquals(9f / 448f, qz.scales()[0]);
        assertEquals((50 / 1024f) / 448f, qz.scales()[1]);
        assertEquals(4f / 448f, qz.scales()[3]);
        assertEquals(11f / 448f, qz.scales()[1 * 3 + 2]);
        assertEquals((byte) 0xFE, qz.q()[129 * k + 259]);
        assertEquals(E4m3.encode(w[129 * k + 258] / (11f / 448f)), qz.q()[129 * k + 258]);
        Quantized p2 = Fp8Quantizer.perBlock(w, n, k, true);
        assertEquals(Fp8Quantizer.ceilPow2(9f / 448f), p2.scales()[0]);
    }

    @Test
    void dequantisedValuesAreWithinHalfAnE4m3UlpAndExactVariantsAgree() {
        long seed = GpuTestSupport.seed("Fp8QuantizerTest.dequantize");
        int m = 7, k = 300;
        float[] x = RandomTensors.normal(seed, m * k, 2.0);
        for (boolean pow2 : new boolean[] {false, true}) {
            Quantized qz = Fp8Quantizer.perTokenGroup(x, m, k, pow2);
            float[] d = Fp8Quantizer.dequantizePerTokenGroup(qz, m, k);
            double[] e = Fp8Quantizer.dequantizePerTokenGroupExact(qz, m, k);
            float[] rowScales = Fp8Quantizer.scalesToRowMajor(qz.scales(), m, 3);
            for (int i = 0; i < x.length; i++) {
                float s = rowScales[(i / k) * 3 + (i % k) / 128];
                assertEquals(d[i], (float) e[i], "float product is the rounded exact product");
                double tol = Math.max(Math.abs(x[i]) * 0x1p-4, s * 0x1p-10) * (1 + 1e-5); // plus the FP32 division's rounding
                assertTrue(Math.abs(e[i] - x[i]) <= tol, "element " + i + ": " + x[i] + " -> " + e[i]);
            }
        }
        Quantized wq = Fp8Quantizer.perBlock(x, m, k, false);
        float[] wd = Fp8Quantizer.dequantizePerBlock(wq, m, k);
        double[] we = Fp8Quantizer.dequantizePerBlockExact(wq, m, k);
        for (int i = 0; i < x.length; i++) assertEquals(wd[i], (float) we[i]);
        assertTrue(Metrics.diff(we, x) < 1e-3, "per-block round trip diff");
    }

    @Test
    void quantizeGroupMatchesPerTokenGroup() {
        float[] x = RandomTensors.normal(42, 512, 1.0);
        byte[] q = new byte[512];
        Quantized ref = Fp8Quantizer.perTokenGroupRowMajor(x, 1, 512, true);
        for (int g = 0; g < 4; g++) assertEquals(ref.scales()[g], Fp8Quantizer.quantizeGroup(x, g * 128, 128, true, q, g * 128));
        assertArrayEquals(ref.q(), q);
    }

    @Test
    void nanInputsAreIgnoredByAmaxAndStayNaN() {
        float[] x = new float[128];
        x[0] = Float.NaN;
        x[1] = 2f;
        Quantized qz = Fp8Quantizer.perTokenGroup(x, 1, 128, false);
        assertEquals(2f / 448f, qz.scales()[0]);
        assertEquals(E4m3.NAN, qz.q()[0]);
    }

    @Test
    void shapeMismatchNamesTheArgument() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Fp8Quantizer.perTokenGroup(new float[10], 2, 4, false));
        assertTrue(e.getMessage().startsWith("x: expected 2 * 4 = 8 values, got 10"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Fp8Quantizer.perBlock(new float[10], 2, 4, false));
        assertTrue(e.getMessage().startsWith("w: "), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Fp8Quantizer.dequantizePerTokenGroup(new Quantized(new byte[8], new float[2]), 2, 4));
        assertTrue(e.getMessage().startsWith("quantized.scales: expected 4"), e.getMessage());
    }
}
