package io.kernels4j.validation.mla;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.host.E4m3;
import io.kernels4j.validation.RandomTensors;
import org.junit.jupiter.api.Test;

/** Pure-Java tests of the 656-byte FP8 cache row codec used by the MLA reference and checks. */
class MlaFp8RowTest {
    @Test
    void scaleIsTheSmallestPowerOfTwoThatFits() {
        assertEquals(1f, MlaFp8Row.scale(448f));
        assertEquals(2f, MlaFp8Row.scale(Math.nextUp(448f)));
        assertEquals(0.5f, MlaFp8Row.scale(224f));
        assertEquals(1f, MlaFp8Row.scale(300f));
        assertEquals(0x1p-22f, MlaFp8Row.scale(0f)); // amax clamped to 1e-4: 1e-4 / 448 = 2.23e-7 -> 2^-22
        assertEquals(0x1p-22f, MlaFp8Row.scale(1e-9f));
        for (int e = -20; e < 20; e++) {
            float amax = 448f * Math.scalb(1f, e);
            assertEquals(Math.scalb(1f, e), MlaFp8Row.scale(amax), "amax " + amax);
            assertEquals(Math.scalb(1f, e + 1), MlaFp8Row.scale(Math.nextUp(amax)), "amax just above " + amax);
        }
    }

    /** The MLA row encoder and the shared quantiser must give the same pow2 scale, bit for bit. */
    @Test
    void scaleAgreesWithFp8QuantizerPow2() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(System.nanoTime());
        for (int i = 0; i < 200_000; i++) {
            float amax = Bf16.decode((short) (r.nextInt(0x7F80))); // every finite non-negative BF16 magnitude
            assertEquals(Float.floatToRawIntBits(io.kernels4j.ops.host.Fp8Quantizer.groupScale(amax, true)),
                    Float.floatToRawIntBits(MlaFp8Row.scale(amax)), "amax " + amax);
        }
        assertEquals(Float.POSITIVE_INFINITY, MlaFp8Row.scale(Float.POSITIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, io.kernels4j.ops.host.Fp8Quantizer.groupScale(Float.POSITIVE_INFINITY, true));
    }

    @Test
    void rowLayoutAndRoundTrip() {
        long seed = System.nanoTime();
        short[] row = RandomTensors.normalBf16(seed, 576, 3.0);
        row[5] = Bf16.encode(-40f); // group 0 amax 40 -> scale 2^-3 (40/448 = 0.089 -> 0.125)
        for (int k = 0; k < 128; k++) if (k != 5 && Math.abs(Bf16.decode(row[k])) > 39f) row[k] = Bf16.encode(1f);
        byte[] enc = new byte[656 + 8];
        MlaFp8Row.encode(row, 0, enc, 8);
        assertEquals(0.125f, MlaFp8Row.scaleAt(enc, 8, 0));
        double[] dec = new double[576];
        MlaFp8Row.decode(enc, 8, dec);
        for (int g = 0; g < 4; g++) {
            float amax = 0;
            for (int k = 0; k < 128; k++) amax = Math.max(amax, Math.abs(Bf16.decode(row[g * 128 + k])));
            float s = MlaFp8Row.scaleAt(enc, 8, g);
            assertEquals(MlaFp8Row.scale(amax), s);
            assertTrue(amax / s <= 448f && amax / s > 224f, "scale " + s + " for amax " + amax);
            for (int k = 0; k < 128; k++) {
                float x = Bf16.decode(row[g * 128 + k]);
                assertEquals(E4m3.encode(x / s), enc[8 + g * 128 + k], "value " + (g * 128 + k) + " seed " + seed);
                assertEquals((double) (E4m3.decode(E4m3.encode(x / s)) * s), dec[g * 128 + k]);
                // e4m3 keeps 3 mantissa bits: relative error <= 2^-4 above the subnormal range
                assertTrue(Math.abs(dec[g * 128 + k] - x) <= Math.max(Math.abs(x) / 16, s * 0x1p-9f), "k " + k);
            }
        }
        for (int k = 0; k < 64; k++) {
            assertEquals(Bf16.decode(row[512 + k]), dec[512 + k]);
            int p = 8 + 528 + 2 * k;
            assertEquals(row[512 + k], (short) ((enc[p] & 0xFF) | (enc[p + 1] & 0xFF) << 8), "rope bits " + k);
        }
    }

    @Test
    void zeroRowEncodesToZeros() {
        byte[] enc = new byte[656];
        MlaFp8Row.encode(new short[576], 0, enc, 0);
        double[] dec = new double[576];
        MlaFp8Row.decode(enc, 0, dec);
        for (double v : dec) assertEquals(0.0, v);
        for (int g = 0; g < 4; g++) assertEquals(0x1p-22f, MlaFp8Row.scaleAt(enc, 0, g));
    }
}
