package io.kernels4j.validation.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.host.E4m3;
import io.kernels4j.validation.RandomTensors;
import org.junit.jupiter.api.Test;

/** The scale gate of the SiLU-and-mul checks (CPU only). */
class SiluChecksTest {
    /** A 128-group with amax {@code amax} (last element), the rest random below it. */
    private static float[] group(float amax) {
        float[] v = RandomTensors.uniform(RandomTensors.derive(42, "silu-group"), 128, -1, 1);
        for (int i = 0; i < 127; i++) v[i] *= amax * 0.9f;
        v[127] = amax;
        return v;
    }

    @Test
    void exactScalePassesAndLeavesTheJavaCodes() {
        float[] h = group(3.7f);
        byte[] qr = new byte[128];
        float s = 3.7f / 448f;
        assertTrue(SiluChecks.scaleMatches(h, 0, false, s, qr, 0));
        assertEquals(E4m3.encode(h[5] / s), qr[5]);
        assertTrue(SiluChecks.scaleMatches(h, 0, false, Math.nextUp(s), qr, 0), "one ulp off is within 2^-20");
        assertFalse(SiluChecks.scaleMatches(h, 0, false, 2 * s, qr, 0));
    }

    @Test
    void pow2ScaleMayFlipOnlyAtAPowerOfTwoBoundary() {
        // amax / 448 = 2^-3 exactly: the reference's pow2 scale is 2^-3; a GPU amax one ulp higher
        // rounds up to 2^-2. Accepted, and the reference codes are redone with the GPU's scale.
        float[] h = group(56f);
        byte[] qr = new byte[128];
        assertTrue(SiluChecks.scaleMatches(h, 0, true, 0.125f, qr, 0));
        assertTrue(SiluChecks.scaleMatches(h, 0, true, 0.25f, qr, 0));
        byte[] expect = new byte[128];
        for (int i = 0; i < 128; i++) expect[i] = E4m3.encode(h[i] / 0.25f);
        assertArrayEquals(expect, qr);
        assertFalse(SiluChecks.scaleMatches(h, 0, true, 0.5f, qr, 0), "a factor of four is never a rounding flip");
        assertFalse(SiluChecks.scaleMatches(h, 0, false, 0.25f, qr, 0), "non-pow2 scales never flip");
        // amax / 448 = 0.089 (far from 2^-3 or 2^-4): the scale must be exactly 2^-3.
        float[] far = group(40f);
        assertTrue(SiluChecks.scaleMatches(far, 0, true, 0.125f, qr, 0));
        assertFalse(SiluChecks.scaleMatches(far, 0, true, 0.25f, qr, 0));
        assertFalse(SiluChecks.scaleMatches(far, 0, true, 0.0625f, qr, 0));
    }
}
