package io.kernels4j.validation.mla;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.host.Bf16;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** CPU test of the host half of {@link MlaChecks}: the problems it builds are what the gates assume. */
class MlaChecksHostTest {
    @Test
    void everySpecBuildsAPoisonedProblemWhoseReferenceIsClean() {
        long seed = System.nanoTime();
        for (MlaChecks.Spec s : MlaChecks.SPECS) {
            MlaChecks.Problem p = MlaChecks.build(s, seed);
            Set<Integer> seen = new HashSet<>();
            long written = 0;
            for (int slot : p.slots) {
                if (slot < 0) continue;
                assertTrue(slot < p.numBlocks * s.pageSize(), s.label());
                assertTrue(seen.add(slot), s.label() + ": slot written twice");
                written++;
            }
            long rows = (long) p.numBlocks * s.pageSize();
            if (!s.badData()) {
                long keys = 0;
                for (int v : p.seqlens) keys += v;
                assertEquals(keys, written, s.label());
                assertTrue(rows > written, s.label() + ": some slots must stay poisoned");
                if (!s.fp8()) {
                    long nanRows = 0;
                    for (long r = 0; r < rows * s.hKV(); r++) if (Bf16.isNaN(p.cacheBf16[(int) (r * 576)])) nanRows++;
                    assertEquals((rows - written) * s.hKV(), nanRows, s.label());
                }
                for (int v : new int[] {0, 1, 63, 64, 65})
                    if (s.seqlens() == null && s.b() >= 5) assertTrue(contains(p.seqlens, v), s.label() + " lacks seqlen " + v);
            }
            // The FP64 reference must never touch a poisoned slot (cheap cases only: it is the slow part).
            long cost = 0;
            for (int v : p.refSeqlens) cost += (long) Math.max(v, 0) * s.sQ() * s.hQ();
            if (cost > 200_000) continue;
            MlaReference.Result r = MlaReference.decode(p.q,
                    s.fp8() ? MlaReference.Cache.fp8(p.cacheFp8) : MlaReference.Cache.bf16(p.cacheBf16), s.pageSize(),
                    s.hKV(), p.table, p.maxBlocks, p.refSeqlens, s.sQ(), s.hQ(), MlaChecks.SCALE, s.causal());
            for (double v : r.out()) assertTrue(!Double.isNaN(v), s.label() + " (seed " + seed + ")");
            for (double v : r.lse()) assertTrue(!Double.isNaN(v), s.label() + " (seed " + seed + ")");
        }
    }

    static boolean contains(int[] a, int v) {
        for (int x : a) if (x == v) return true;
        return false;
    }
}
