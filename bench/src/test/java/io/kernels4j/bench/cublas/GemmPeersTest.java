package io.kernels4j.bench.cublas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class GemmPeersTest {
    @Test
    void diffIsSpecsMetric() {
        double[] x = {1, -2, 3.5};
        assertEquals(0.0, GemmPeers.diff(x, x.clone()), 1e-15);
        double[] y = {1, -2, 3.5 * (1 + 1e-3)};
        double xy = 1 + 4 + 3.5 * 3.5 * (1 + 1e-3), xx = 1 + 4 + 3.5 * 3.5 + 1 + 4 + 3.5 * 3.5 * (1 + 1e-3) * (1 + 1e-3);
        assertEquals(1 - 2 * xy / xx, GemmPeers.diff(x, y), 1e-15);
        assertTrue(Double.isNaN(GemmPeers.diff(new double[] {1, Double.NaN}, new double[] {1, 2})), "NaN never passes");
        assertTrue(Double.isNaN(GemmPeers.diff(new double[] {0, 0}, new double[] {0, 0})), "all zeros say nothing");
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals((short) 0x3F80, GemmPeers.bf16(1.0f));
        assertEquals((short) 0x3F80, GemmPeers.bf16(Float.intBitsToFloat(0x3F808000)), "tie goes to even");
        assertEquals((short) 0x3F82, GemmPeers.bf16(Float.intBitsToFloat(0x3F818000)), "tie goes to even (up)");
        assertEquals((short) 0x3F81, GemmPeers.bf16(Float.intBitsToFloat(0x3F808001)), "above the tie rounds up");
        assertEquals((short) 0x7FC0, GemmPeers.bf16(Float.NaN));
        short[] r = GemmPeers.randomBf16(new SplittableRandom(1), 1000);
        int zeros = 0;
        for (short s : r) if ((s & 0x7FFF) == 0) zeros++;
        assertTrue(zeros < 5, "random inputs are not zeros");
    }
}
