package io.kernels4j.validation.gemm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.gemm.Fp8Gemm;
import io.kernels4j.ops.gemm.Fp8Gemm.Form;
import io.kernels4j.ops.testing.RequiresGpu;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The GEMM plan's choice ({@link Fp8Gemm#plan}): the Hopper wgmma family with its two tile heights on
 * sm_90, the portable mma.sync family elsewhere; the persistent grid; argument checks. Runs on the GPU
 * and on each emulated architecture (the emulated executions select it by the tag).
 */
@RequiresGpu
@Tag("gemm")
class Fp8GemmPlanTest {
    static Stream stream;
    static boolean hopper;
    static int sms;

    @BeforeAll
    static void open() {
        stream = Stream.create();
        Device dev = Device.current();
        hopper = dev.ccMajor() == 9 && dev.ccMinor() == 0;
        sms = dev.smCount();
    }

    @AfterAll
    static void close() {
        stream.close();
    }

    static String plan(Form form, long rows, long n, long k, long groups, int expectedM) {
        return Fp8Gemm.plan(form, rows, n, k, groups, expectedM, DType.BF16, stream);
    }

    static void assertHas(String plan, String part) {
        assertTrue(plan.contains(part), () -> "plan \"" + plan + "\" lacks \"" + part + "\"");
    }

    @Test
    void familyByArchitecture() {
        for (Form f : Form.values()) {
            String p = plan(f, 4096, 7168, 2048, f == Form.DENSE ? 1 : 8, 0);
            assertHas(p, hopper ? "family=wgmma" : "family=mma.sync");
            assertHas(p, "form=" + switch (f) {
                case DENSE -> "dense";
                case GROUPED_CONTIGUOUS -> "contiguous";
                case GROUPED_ENDS -> "ends";
                case GROUPED_MASKED -> "masked";
            });
            if (!hopper) assertHas(p, "(not sm_90)");
        }
    }

    @Test
    void hopperTileHeights() {
        if (!hopper) return;
        // Decode-sized M gets the 64-row tile (one consumer warpgroup, 6 stages), larger M 128 rows
        // (two consumer warpgroups, 4 stages); 4 warps of producer in both.
        String small = plan(Form.DENSE, 64, 2112, 7168, 1, 0);
        assertHas(small, "tile=64x128x128");
        assertHas(small, "stages=6");
        assertHas(small, "threads=256");
        String large = plan(Form.DENSE, 65, 2112, 7168, 1, 0);
        assertHas(large, "tile=128x128x128");
        assertHas(large, "stages=4");
        assertHas(large, "threads=384");
        assertHas(large, "cluster=1");
        // Masked: expectedM chooses the tile, maxM bounds the grid.
        assertHas(plan(Form.GROUPED_MASKED, 256, 4096, 7168, 8, 32), "tile=64x128x128");
        assertHas(plan(Form.GROUPED_MASKED, 256, 4096, 7168, 8, 0), "tile=128x128x128");
    }

    @Test
    void hopperPersistentGrid() {
        if (!hopper) return;
        // 2 x 2 tiles: 4 CTAs; many tiles: one CTA per SM.
        assertHas(plan(Form.DENSE, 256, 256, 512, 1, 0), "grid=4x1x1 persistent");
        assertHas(plan(Form.DENSE, 4096, 7168, 2048, 1, 0), "grid=" + sms + "x1x1 persistent");
    }

    @Test
    void hopperClustersOfTwoForLargeDenseProblems() {
        if (!hopper) return;
        // Dense with M >= 512 (BM 128): pairs of CTAs share the B tile (TMA multicast); the grid is a
        // whole number of pairs. Smaller M and the grouped forms: no clusters.
        String p = plan(Form.DENSE, 520, 264, 272, 1, 0);
        assertHas(p, "cluster=2");
        assertHas(plan(Form.DENSE, 4096, 7168, 2048, 1, 0), "cluster=2");
        assertHas(plan(Form.DENSE, 511, 264, 272, 1, 0), "cluster=1");
        assertHas(plan(Form.GROUPED_CONTIGUOUS, 4096, 7168, 2048, 8, 0), "cluster=1");
        assertHas(plan(Form.GROUPED_MASKED, 4096, 7168, 2048, 8, 0), "cluster=1");
        String grid = p.replaceAll(".*grid=(\\d+)x.*", "$1");
        assertEquals(0, Integer.parseInt(grid) % 2, p);
    }

    @Test
    void rejectsWhatTheOpRejects() {
        assertThrows(IllegalArgumentException.class, () -> plan(Form.DENSE, 64, 128, 15, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> plan(Form.DENSE, 64, 12, 128, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> plan(Form.DENSE, 0, 128, 128, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> plan(Form.DENSE, 64, 128, 128, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> plan(Form.GROUPED_MASKED, 64, 128, 128, 2, -1));
    }
}
