package io.kernels4j.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.testing.GpuTestSupport;
import java.math.BigDecimal;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The Java bfloat16 codec agrees bit for bit with CUDA's {@code __float2bfloat16_rn} (run on the CPU). */
class Bf16Test {

    private static void assertEncodeMatchesCuda(int[] bits) {
        short[] cuda = CudaHostConversions.f32ToBf16(bits);
        int mismatches = 0;
        StringBuilder first = new StringBuilder();
        for (int i = 0; i < bits.length; i++) {
            short java = Bf16.encode(Float.intBitsToFloat(bits[i]));
            if (java != cuda[i] && mismatches++ < 10)
                first.append(String.format("%n  0x%08x (%s): Java 0x%04x, CUDA 0x%04x", bits[i], Float.intBitsToFloat(bits[i]),
                        java & 0xFFFF, cuda[i] & 0xFFFF));
        }
        if (mismatches > 0) fail(mismatches + " of " + bits.length + " floats encode differently, first:" + first);
    }

    @Test
    void encodeMatchesCudaOnEveryCodeAndHalfwayPoint() {
        long seed = GpuTestSupport.seed("Bf16Test.everyCode");
        SplittableRandom r = new SplittableRandom(seed);
        FloatSets s = new FloatSets();
        for (int c = 0; c < 1 << 16; c++) {
            int b = c << 16;
            s.add(b);                    // exactly representable
            s.add(b | 0x8000);           // half-way to the next code (ties to even)
            s.add(b | 0x7FFF);           // just below half-way
            s.add(b | 0x8001);           // just above half-way
            s.add(b | r.nextInt(1, 1 << 16)); // random low bits
        }
        s.addSpecials().addNaNs(r);
        assertTrue(s.size() > 5 * 65536);
        assertEncodeMatchesCuda(s.toArray());
    }

    @Test
    void encodeMatchesCudaOnMillionsOfRandomFloats() {
        long seed = GpuTestSupport.seed("Bf16Test.random");
        SplittableRandom r = new SplittableRandom(seed);
        FloatSets s = new FloatSets()
                .addRandomExponents(r, 1 << 19, -30, 30)
                .addRandomBits(r, 1 << 19)
                .addSweep(r, 8191);
        assertTrue(s.size() >= 1_000_000, "only " + s.size());
        assertEncodeMatchesCuda(s.toArray());
    }

    @Test
    void knownValues() {
        assertEquals((short) 0x3F80, Bf16.encode(1f));
        assertEquals((short) 0x3F80, Bf16.encode(Float.intBitsToFloat(0x3F808000)), "tie to even (down)");
        assertEquals((short) 0x3F82, Bf16.encode(Float.intBitsToFloat(0x3F818000)), "tie to even (up)");
        assertEquals((short) 0x7F80, Bf16.encode(Float.MAX_VALUE), "overflow rounds to +inf");
        assertEquals((short) 0x7FFF, Bf16.encode(Float.intBitsToFloat(0xFFC00001)), "every NaN is 0x7FFF");
        assertEquals((short) 0x8000, Bf16.encode(-0f));
        assertEquals(1.5f, Bf16.decode((short) 0x3FC0));
        assertTrue(Float.isNaN(Bf16.decode(Bf16.NAN)));
        assertTrue(Bf16.isNaN((short) 0xFFC1));
        assertTrue(!Bf16.isNaN((short) 0x7F80), "infinity is not NaN");
        for (int c = 0; c < 1 << 16; c++) {
            short b = (short) c;
            if (Bf16.isNaN(b)) continue;
            assertEquals(b, Bf16.encode(Bf16.decode(b)), "round trip of a bfloat16 code");
        }
    }

    /** Exact nearest-even bfloat16 of a double, by BigDecimal comparison with the two bracketing codes. */
    private static short exactRound(double x) {
        short a = Bf16.encode((float) x);
        BigDecimal bx = new BigDecimal(x);
        short best = a;
        BigDecimal bestErr = null;
        for (int d = -2; d <= 2; d++) {
            int code = (a & 0xFFFF) + d;
            if (x < 0 ? code < 0x8000 : code > 0x7F80 || code < 0) continue;
            float v = Bf16.decode((short) code);
            if (Float.isNaN(v) || Float.isInfinite(v)) continue;
            BigDecimal err = new BigDecimal(v).subtract(bx).abs();
            int cmp = bestErr == null ? -1 : err.compareTo(bestErr);
            if (cmp < 0 || (cmp == 0 && (code & 1) == 0)) {
                best = (short) code;
                bestErr = err;
            }
        }
        return best;
    }

    @Test
    void encodeDoubleRoundsOnceWithoutDoubleRounding() {
        long seed = GpuTestSupport.seed("Bf16Test.double");
        SplittableRandom r = new SplittableRandom(seed);
        // 1 + 2^-8 + 2^-40: float rounding gives the tie 1 + 2^-8, which would round to even (1.0);
        // the exact value is above the tie, so bfloat16 1 + 2^-7.
        double x = 1 + 0x1p-8 + 0x1p-40;
        assertEquals((short) 0x3F80, Bf16.encode((float) x), "double rounding through float");
        assertEquals((short) 0x3F81, Bf16.encode(x));
        assertEquals((short) 0x7F80, Bf16.encode(1e300));
        assertEquals((short) 0x7F7F, Bf16.encode((double) Float.intBitsToFloat(0x7F7F0000) + 0x1p119 - 0x1p90), "just below the tie with 2^128");
        assertEquals((short) 0x7F80, Bf16.encode((double) Float.intBitsToFloat(0x7F7F0000) + 0x1p119), "the tie with 2^128 goes to even: infinity");
        assertEquals((short) 0xFF80, Bf16.encode(Double.NEGATIVE_INFINITY));
        assertEquals((short) 0x8000, Bf16.encode(-1e-300));
        assertEquals(Bf16.NAN, Bf16.encode(Double.NaN));
        for (int i = 0; i < 200_000; i++) {
            int e = r.nextInt(-140, 127); // below 2^127 so that no value rounds past the largest finite
            double v = Math.scalb(1 + r.nextDouble(), e);
            if (i % 3 == 0) {
                // near a bfloat16 tie: code + half an ulp +- a few double ulps
                double tie = Math.scalb(Math.floor(Math.scalb(v, 7 - Math.max(Math.getExponent(v), -126))) + 0.5,
                        Math.max(Math.getExponent(v), -126) - 7);
                v = tie + r.nextInt(-3, 4) * Math.ulp(tie);
            }
            if (r.nextBoolean()) v = -v;
            short got = Bf16.encode(v), want = exactRound(v);
            if (got != want)
                fail(String.format("encode(%s) = 0x%04x, exact nearest-even 0x%04x", v, got & 0xFFFF, want & 0xFFFF));
        }
    }

    @Test
    void ulpDistance() {
        assertEquals(0, Bf16.ulpDistance((short) 0x3F80, (short) 0x3F80));
        assertEquals(1, Bf16.ulpDistance((short) 0x3F80, (short) 0x3F81));
        assertEquals(0, Bf16.ulpDistance((short) 0x0000, (short) 0x8000), "+0 and -0");
        assertEquals(2, Bf16.ulpDistance((short) 0x0001, (short) 0x8001), "across zero");
        assertEquals(Integer.MAX_VALUE, Bf16.ulpDistance(Bf16.NAN, (short) 0x3F80));
    }
}
