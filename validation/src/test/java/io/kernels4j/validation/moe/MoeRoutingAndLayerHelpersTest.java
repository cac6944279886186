package io.kernels4j.validation.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.host.E4m3;
import io.kernels4j.validation.moe.MoeRouting.Kind;
import org.junit.jupiter.api.Test;

/** The random routings have the promised shape, and the layer check's FP64 helpers compute what they say. */
class MoeRoutingAndLayerHelpersTest {
    @Test
    void uniformRoutingPicksDistinctExpertsInRange() {
        int t = 500, k = 8, e = 64;
        int[] idx = MoeRouting.topkIdx(42, t, k, e, Kind.UNIFORM);
        for (int i = 0; i < t; i++)
            for (int a = 0; a < k; a++) {
                int v = idx[i * k + a];
                assertTrue(v >= 0 && v < e);
                for (int b = 0; b < a; b++) assertTrue(v != idx[i * k + b], "token " + i + " repeats expert " + v);
            }
    }

    @Test
    void skewedRoutingHasAHotExpertEmptyExpertsAndUnroutedSlots() {
        int t = 1000, k = 6, e = 64;
        int[] idx = MoeRouting.topkIdx(7, t, k, e, Kind.SKEWED);
        MoeReference.Layout l = MoeReference.layout(idx, t, k, e, 1);
        int unrouted = 0;
        for (int v : idx) if (v == -1) unrouted++;
        assertTrue(unrouted > t * k / 20, "expected ~10% -1 slots, got " + unrouted);
        assertTrue(l.numTokensPerExpert()[e - 1] > t * k / 3, "hot expert has " + l.numTokensPerExpert()[e - 1]);
        int empty = 0;
        for (int c : l.numTokensPerExpert()) if (c == 0) empty++;
        assertTrue(empty >= e / 2, "expected most experts empty, got " + empty);
        assertTrue(!l.badIds());
    }

    @Test
    void weightsArePositive() {
        for (float w : MoeRouting.weights(3, 100, 8)) assertTrue(w >= 0.05f && w < 1f);
    }

    @Test
    void layerHelpers() {
        // Two rows, experts 1 and 0, k = 2, n = 2; row 1 is not real.
        double[] a = {1, 2, 3, 4, 5, 6};
        double[][] w = {{1, 0, 0, 1}, {1, 1, 2, -1}};
        double[] y = MoeLayerChecks.gemm(a, 2, w, 2, new int[] {1, 0, 0}, new boolean[] {true, false, true});
        assertArrayEquals(new double[] {3, 0, 0, 0, 5, 6}, y);
        assertArrayEquals(new double[] {3, 0, 5, 6}, MoeLayerChecks.pick(y, 2, new boolean[] {true, false, true}));
        // dequant: 2 rows of 128, per-group scales [1][ld = 4]
        byte[] q = new byte[256];
        q[0] = E4m3.encode(2f);
        q[128 + 5] = E4m3.encode(-0.5f);
        float[] sc = {0.25f, 8f, 0, 0};
        double[] d = MoeLayerChecks.dequant(q, sc, 2, 128, 2, new boolean[] {true, true});
        assertEquals(0.5, d[0], 0);
        assertEquals(-4.0, d[128 + 5], 0);
        // combineDouble: token 0 = 0.5 * row 1 + 2 * row 0; token 1 unrouted
        double[] yy = {1, 2, 10, 20};
        double[] o = MoeLayerChecks.combineDouble(yy, 2, new int[] {1, 0, -1, -1}, new float[] {0.5f, 2f, 9f, 9f}, 2, 2);
        assertArrayEquals(new double[] {7, 14, 0, 0}, o);
    }
}
