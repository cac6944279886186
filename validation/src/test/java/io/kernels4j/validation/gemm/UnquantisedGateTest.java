package io.kernels4j.validation.gemm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.host.Fp8Quantizer;
import io.kernels4j.validation.Metrics;
import io.kernels4j.validation.RandomTensors;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/**
 * Why DeepGEMM's gate against the unquantised inputs ({@code diff < 1e-3}) applies only where the
 * checked outputs, A elements and B elements each number {@link Fp8GemmChecks#UNQUANTISED_GATE_MIN_COUNT}:
 * an exact FP8 GEMM (FP64 on the dequantised inputs, no kernel involved) passes it with margin for every
 * draw at the smallest gated shapes, and fails it for some draws with 8 outputs (CPU only, fresh random
 * inputs each run).
 */
class UnquantisedGateTest {
    /** diff of the exact FP8 GEMM (quantised as the checks quantise) against the unquantised product. */
    private static double exactFp8Diff(long seed, int m, int n, int k) {
        float[] x = RandomTensors.normal(RandomTensors.derive(seed, "a"), m * k, 1.0);
        float[] w = RandomTensors.normal(RandomTensors.derive(seed, "b"), n * k, 1.0);
        Fp8Quantizer.Quantized qa = Fp8Quantizer.perTokenGroup(x, m, k, false);
        Fp8Quantizer.Quantized qb = Fp8Quantizer.perBlock(w, n, k, false);
        double[] fp8 = Fp8GemmReference.dense(Fp8Quantizer.dequantizePerTokenGroupExact(qa, m, k),
                Fp8Quantizer.dequantizePerBlockExact(qb, n, k), null, m, n, k);
        double[] unq = Fp8GemmReference.dense(toDouble(x), toDouble(w), null, m, n, k);
        return Metrics.diff(unq, fp8);
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    @Test
    void gatedSizesPassForEveryDrawWithMargin() {
        // The smallest shapes the rule gates: each count exactly at the minimum somewhere.
        int[][] mnk = {{32, 128, 128}, {64, 64, 64}, {256, 16, 256}, {1, 4096, 4096}};
        for (int[] s : mnk) {
            assertTrue(Fp8GemmChecks.unquantisedGateApplies(s[0], s[1], s[2]));
            for (int i = 0, draws = s[2] >= 4096 ? 4 : 20; i < draws; i++) {
                long seed = ThreadLocalRandom.current().nextLong();
                double d = exactFp8Diff(seed, s[0], s[1], s[2]);
                assertTrue(d < 0.9 * Fp8GemmChecks.DIFF_UNQUANTISED_TOL && d > 0,
                        "m=" + s[0] + " n=" + s[1] + " k=" + s[2] + " seed " + seed + ": diff " + d);
            }
        }
    }

    @Test
    void fewQuantisedElementsOnAnySideAreNotGated() {
        assertFalse(Fp8GemmChecks.unquantisedGateApplies(1, 8, 16));      // CI once failed on this case
        assertFalse(Fp8GemmChecks.unquantisedGateApplies(1, 4096, 16));   // 16 A elements shared by 4096 outputs
        assertFalse(Fp8GemmChecks.unquantisedGateApplies(4096, 1, 16));
        assertFalse(Fp8GemmChecks.unquantisedGateApplies(255, 16, 256));     // one output short of the minimum
    }

    @Test
    void eightOutputsExceedTheGateForSomeDraws() {
        // About a quarter of the draws exceed 1e-3: 200 draws without one happen with probability ~1e-24.
        long base = ThreadLocalRandom.current().nextLong();
        int exceeded = 0;
        for (int i = 0; i < 200; i++)
            if (exactFp8Diff(base + i, 1, 8, 16) >= Fp8GemmChecks.DIFF_UNQUANTISED_TOL) exceeded++;
        assertTrue(exceeded > 0, "no draw of 200 exceeded the gate (base seed " + base + ")");
        assertFalse(Fp8GemmChecks.unquantisedGateApplies(1, 8, 16));
    }
}
