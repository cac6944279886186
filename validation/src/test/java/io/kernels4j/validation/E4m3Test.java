package io.kernels4j.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.kernels4j.ops.host.E4m3;
import io.kernels4j.ops.testing.GpuTestSupport;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** docs/CONTRACT.md section 1: the Java e4m3 codec agrees bit for bit with CUDA's conversions (run on the CPU). */
class E4m3Test {

    @Test
    void decodeMatchesCudaOnAll256Codes() {
        byte[] codes = new byte[256];
        for (int c = 0; c < 256; c++) codes[c] = (byte) c;
        int[] cuda = CudaHostConversions.e4m3ToF32Bits(codes);
        for (int c = 0; c < 256; c++) {
            int java = Float.floatToRawIntBits(E4m3.decode((byte) c));
            if (java != cuda[c])
                fail(String.format("code 0x%02x: Java decodes to 0x%08x (%s), CUDA to 0x%08x (%s)", c, java,
                        Float.intBitsToFloat(java), cuda[c], Float.intBitsToFloat(cuda[c])));
        }
    }

    @Test
    void decodeKnownValues() {
        assertEquals(448f, E4m3.decode((byte) 0x7E));
        assertEquals(-448f, E4m3.decode((byte) 0xFE));
        assertEquals(0x1p-9f, E4m3.decode((byte) 0x01));
        assertEquals(7 * 0x1p-9f, E4m3.decode((byte) 0x07));
        assertEquals(0x1p-6f, E4m3.decode((byte) 0x08));
        assertEquals(1f, E4m3.decode((byte) 0x38));
        assertEquals(1.125f, E4m3.decode((byte) 0x39));
        assertEquals(0x80000000, Float.floatToRawIntBits(E4m3.decode((byte) 0x80)), "0x80 is -0");
        assertTrue(Float.isNaN(E4m3.decode((byte) 0x7F)));
        assertTrue(Float.isNaN(E4m3.decode((byte) 0xFF)));
        // Every non-NaN code round-trips through encode.
        for (int c = 0; c < 256; c++) {
            if ((c & 0x7F) == 0x7F) continue;
            assertEquals((byte) c, E4m3.encode(E4m3.decode((byte) c)), "round trip of code " + c);
        }
    }

    @Test
    void encodeKnownValues() {
        assertEquals((byte) 0x7E, E4m3.encode(448f));
        assertEquals((byte) 0x7E, E4m3.encode(1e9f), "saturates");
        assertEquals((byte) 0xFE, E4m3.encode(Float.NEGATIVE_INFINITY), "saturates -inf to -448");
        assertEquals((byte) 0x7F, E4m3.encode(Float.NaN));
        assertEquals((byte) 0x7F, E4m3.encode(Float.intBitsToFloat(0xFFC00000)), "CUDA drops the sign of NaN");
        assertEquals((byte) 0x00, E4m3.encode(0x1p-10f), "half of the smallest subnormal ties to even (0)");
        assertEquals((byte) 0x02, E4m3.encode(3 * 0x1p-10f), "1.5 subnormal units tie to even (2)");
        assertEquals((byte) 0x38, E4m3.encode(1.0625f), "halfway between 1 and 1.125 ties to even (1)");
        assertEquals((byte) 0x3A, E4m3.encode(1.1875f), "halfway between 1.125 and 1.25 ties to even (1.25)");
        assertEquals((byte) 0x80, E4m3.encode(-0f));
        assertEquals(E4m3.MAX, E4m3.decode(E4m3.MAX_CODE));
    }

    /** Every half-way point between adjacent codes (both signs), with its float neighbours, and more. */
    private static FloatSets edgeCases(SplittableRandom r) {
        FloatSets s = new FloatSets();
        for (int c = 0; c < 0x7E; c++) {
            float lo = E4m3.decode((byte) c), hi = E4m3.decode((byte) (c + 1));
            s.addWithNeighboursBothSigns(lo);
            s.addWithNeighboursBothSigns((lo + hi) / 2); // exact: at most 5 significant bits
        }
        s.addWithNeighboursBothSigns(448f);
        s.addWithNeighboursBothSigns(464f); // half-way to the (non-existent) next code 480
        s.addWithNeighboursBothSigns(480f);
        s.addWithNeighboursBothSigns(512f);
        s.addWithNeighboursBothSigns(1e6f);
        // Below the smallest subnormal: its half (ties to 0) and quarter points.
        s.addWithNeighboursBothSigns(0x1p-10f);
        s.addWithNeighboursBothSigns(0x1p-11f);
        s.addWithNeighboursBothSigns(3 * 0x1p-11f);
        s.addSpecials();
        s.addNaNs(r);
        return s;
    }

    private static void assertEncodeMatchesCuda(int[] bits) {
        byte[] cuda = CudaHostConversions.f32ToE4m3(bits);
        int mismatches = 0;
        StringBuilder first = new StringBuilder();
        for (int i = 0; i < bits.length; i++) {
            byte java = E4m3.encode(Float.intBitsToFloat(bits[i]));
            if (java != cuda[i]) {
                if (mismatches++ < 10)
                    first.append(String.format("%n  0x%08x (%s): Java 0x%02x, CUDA 0x%02x", bits[i], Float.intBitsToFloat(bits[i]),
                            java & 0xFF, cuda[i] & 0xFF));
            }
        }
        if (mismatches > 0) fail(mismatches + " of " + bits.length + " floats encode differently, first:" + first);
    }

    @Test
    void encodeMatchesCudaOnEdgeCases() {
        long seed = GpuTestSupport.seed("E4m3Test.edgeCases");
        FloatSets s = edgeCases(new SplittableRandom(seed));
        assertTrue(s.size() > 1500, "edge set too small: " + s.size());
        assertEncodeMatchesCuda(s.toArray());
    }

    @Test
    void encodeMatchesCudaOnMillionsOfRandomFloats() {
        long seed = GpuTestSupport.seed("E4m3Test.random");
        SplittableRandom r = new SplittableRandom(seed);
        FloatSets s = new FloatSets()
                .addRandomExponents(r, 1 << 20, -14, 10)  // the e4m3 range and a few binades around it
                .addRandomBits(r, 1 << 19)                // every exponent, NaN and infinity bits
                .addSweep(r, 8191);                       // ~524k patterns spread over all 2^32
        assertTrue(s.size() >= 2_000_000, "only " + s.size());
        assertEncodeMatchesCuda(s.toArray());
    }

    @Test
    void encodeIsExhaustivelyCorrectOnTheE4m3Range() {
        // Every float in [2^-11, 2^9) against the nearest-even rule computed independently (no CUDA):
        // candidates are the two codes bracketing |x|; the nearer wins, ties go to the even code.
        // Stride 71 over the bit patterns keeps it at ~2.4M values.
        float[] values = new float[128];
        for (int c = 0; c <= 0x7E; c++) values[c] = E4m3.decode((byte) c);
        int from = Float.floatToRawIntBits(0x1p-11f), to = Float.floatToRawIntBits(0x1p9f);
        for (int b = from; b < to; b += 71) {
            float x = Float.intBitsToFloat(b);
            int expect;
            if (x >= 448f) {
                expect = 0x7E;
            } else {
                int c = java.util.Arrays.binarySearch(values, 0, 0x7F, x);
                if (c < 0) c = -c - 2; // largest code value below x
                if (values[c] == x) expect = c;
                else {
                    double dLo = (double) x - values[c], dHi = (double) values[c + 1] - x; // exact in double
                    expect = dLo < dHi ? c : dHi < dLo ? c + 1 : ((c & 1) == 0 ? c : c + 1);
                }
            }
            int got = E4m3.encode(x) & 0xFF;
            if (got != expect) fail(String.format("encode(%s = 0x%08x) = 0x%02x, expected 0x%02x", x, b, got, expect));
            if ((E4m3.encode(-x) & 0xFF) != (expect | 0x80)) fail("sign symmetry broken at " + x);
        }
    }

    @Test
    void arrayVariantsMatchScalar() {
        float[] x = {0f, -0f, 1f, -1.0625f, 500f, Float.NaN, 0x1p-10f};
        byte[] q = E4m3.encode(x);
        float[] d = E4m3.decode(q);
        double[] dd = E4m3.decodeToDouble(q);
        for (int i = 0; i < x.length; i++) {
            assertEquals(E4m3.encode(x[i]), q[i]);
            assertEquals(Float.floatToRawIntBits(E4m3.decode(q[i])), Float.floatToRawIntBits(d[i]));
            assertEquals(Double.doubleToRawLongBits((double) d[i]), Double.doubleToRawLongBits(dd[i]) , "index " + i);
        }
        assertTrue(E4m3.isNaN(q[5]));
        assertEquals(448f, E4m3.round(1000f));
    }
}
