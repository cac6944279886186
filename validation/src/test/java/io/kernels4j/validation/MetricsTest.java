package io.kernels4j.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.host.Bf16;
import org.junit.jupiter.api.Test;

class MetricsTest {
    private static final double[] REF = {1, 2, 3};

    @Test
    void diffKnownValues() {
        assertEquals(0.0, Metrics.diff(REF, new float[] {1, 2, 3}));
        // y = 2x: 1 - 2*2*14 / (14 + 4*14) = 0.2
        assertEquals(0.2, Metrics.diff(REF, new float[] {2, 4, 6}), 1e-15);
        assertEquals(2.0, Metrics.diff(REF, new float[] {-1, -2, -3}), 1e-15);
        assertEquals(1.0, Metrics.diff(new double[] {1, 0}, new float[] {0, 1}), 1e-15, "orthogonal");
        assertEquals(0.2, Metrics.diff(REF, new double[] {2, 4, 6}), 1e-15);
    }

    @Test
    void diffIsNaNOnNaNOrAllZeros() {
        assertTrue(Double.isNaN(Metrics.diff(REF, new float[] {1, Float.NaN, 3})));
        assertTrue(Double.isNaN(Metrics.diff(new double[] {1, Double.NaN, 3}, new float[] {1, 2, 3})));
        assertTrue(Double.isNaN(Metrics.diff(new double[3], new float[3])), "zeros never pass");
        assertFalse(Metrics.diff(REF, new float[] {1, Float.NaN, 3}) < 1e-5, "a NaN fails a 'diff < tol' gate");
    }

    @Test
    void relL2AndMaxAbs() {
        assertEquals(0.2, Metrics.relL2(new double[] {3, 4}, new float[] {3, 5}), 1e-15);
        assertEquals(0.2, Metrics.relL2(new double[] {3, 4}, new double[] {3, 5}), 1e-15);
        assertEquals(1.5, Metrics.maxAbs(REF, new float[] {1, 0.5f, 3.25f}));
        assertEquals(1.5, Metrics.maxAbs(REF, new double[] {1, 0.5, 3.25}));
        assertTrue(Double.isNaN(Metrics.relL2(REF, new float[] {Float.NaN, 2, 3})));
        assertTrue(Double.isNaN(Metrics.maxAbs(REF, new float[] {100, Float.NaN, 3})), "NaN after a large error");
        assertTrue(Double.isNaN(Metrics.maxAbs(REF, new float[] {Float.NaN, 2, 100})), "NaN before a large error");
        assertEquals(0.0, Metrics.maxAbs(new double[0], new float[0]));
    }

    @Test
    void maxAbsOrRelTreatsMatchingInfinitiesAsExact() {
        double[] ref = {Double.POSITIVE_INFINITY, 100, 0.5};
        assertEquals(0.01, Metrics.maxAbsOrRel(ref, new float[] {Float.POSITIVE_INFINITY, 101, 0.5f}), 1e-12);
        assertEquals(0.25, Metrics.maxAbsOrRel(ref, new float[] {Float.POSITIVE_INFINITY, 100, 0.25f}), 1e-12);
        assertTrue(Double.isInfinite(Metrics.maxAbsOrRel(ref, new float[] {1, 100, 0.5f})));
        assertTrue(Double.isNaN(Metrics.maxAbsOrRel(ref, new float[] {Float.POSITIVE_INFINITY, Float.NaN, 0.5f})));
    }

    @Test
    void lengthMismatchIsAnIllegalArgument() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Metrics.diff(REF, new float[2]));
        assertEquals("out: expected 3 values (as ref), got 2", e.getMessage());
    }

    @Test
    void nanAndPoisonCounters() {
        assertEquals(2, Metrics.nanCount(new float[] {Float.NaN, 1, Float.intBitsToFloat(0xFFC00001)}));
        assertEquals(1, Metrics.nanCount(new double[] {Double.NaN, 1}));
        assertEquals(2, Metrics.nanCountBf16(new short[] {0x7FFF, (short) 0xFFC0, 0x7F80, 0x3F80}));
        assertEquals(2, Metrics.nanCountE4m3(new byte[] {0x7F, (byte) 0xFF, 0x7E, 0}));
        assertEquals(2, Metrics.countEqual(new short[] {7, 7, 8}, (short) 7));
        assertEquals(1, Metrics.countEqual(new byte[] {7, 9, 8}, (byte) 9));
        assertEquals(3, Metrics.countEqual(new int[] {-1, -1, -1, 0}, -1));
        float poison = Float.intBitsToFloat(0x7FC0DEAD); // NaN with a payload: compared by raw bits
        float[] out = {poison, Float.NaN, 1f, poison, -0f};
        assertEquals(2, Metrics.countEqual(out, poison));
        assertEquals(2, Metrics.countEqualBits(out, 0x7FC0DEAD));
        assertEquals(1, Metrics.countEqual(out, -0f), "-0 and +0 are distinct bit patterns");
        assertEquals(0, Metrics.countEqual(new float[] {1, 2}, Float.NaN));
    }

    @Test
    void bf16UlpDistanceAgainstDoubleReference() {
        double[] ref = {1.0, 1 + 0x1p-8 + 0x1p-40, -3.0};
        short[] out = {Bf16.encode(1f), (short) 0x3F81, Bf16.encode(-3f)};
        assertEquals(0, Metrics.maxBf16UlpDistance(ref, out));
        out[1] = (short) 0x3F80;
        assertEquals(1, Metrics.maxBf16UlpDistance(ref, out));
        out[2] = Bf16.NAN;
        assertEquals(Integer.MAX_VALUE, Metrics.maxBf16UlpDistance(ref, out));
    }

    @Test
    void summaryBundlesTheMetricsAndFailsOnNaN() {
        Metrics.Summary s = Metrics.summary(REF, new float[] {1, 2, 3.5f});
        assertEquals(3, s.n());
        assertEquals(Metrics.diff(REF, new float[] {1, 2, 3.5f}), s.diff());
        assertEquals(0.5, s.maxAbs());
        assertEquals(0, s.nanCount());
        assertTrue(s.passes(1e-2));
        assertFalse(s.passes(1e-5));
        Metrics.Summary bad = Metrics.summary(REF, new float[] {1, Float.NaN, 3});
        assertEquals(1, bad.nanCount());
        assertFalse(bad.passes(1));
        assertTrue(bad.toString().contains("nan=1"), bad.toString());
        Metrics.Summary b = Metrics.summaryBf16(REF, Bf16.encode(new float[] {1, 2, 3}));
        assertEquals(0.0, b.diff());
    }
}
