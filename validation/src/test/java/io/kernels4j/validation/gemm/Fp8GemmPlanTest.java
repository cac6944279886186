package io.kernels4j.validation.gemm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
 * The GEMM plan's choice ({@link Fp8Gemm#plan}): the Hopper wgmma family on sm_90 with its tile height
 * by M and its tile width by waves over the SMs (BM 128) or by the bytes the busiest SM streams (BM
 * 64, decode), the portable mma.sync family elsewhere; the persistent grid; argument checks. Runs on the GPU
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
        assumeTrue(hopper, "the Hopper (wgmma) plan needs sm_90");
        // Decode-sized M gets the 64-row tile (one consumer warpgroup + the producer's: 256 threads),
        // larger M 128 rows (two consumer warpgroups: 384 threads).
        String small = plan(Form.DENSE, 64, 2112, 7168, 1, 0);
        assertHas(small, "tile=64x");
        assertHas(small, "threads=256");
        String large = plan(Form.DENSE, 65, 2112, 7168, 1, 0);
        assertHas(large, "tile=128x");
        assertHas(large, "threads=384");
        assertHas(large, "cluster=1");
        // Masked: expectedM chooses the tile height, maxM bounds the grid.
        assertHas(plan(Form.GROUPED_MASKED, 256, 4096, 7168, 8, 32), "tile=64x");
        assertHas(plan(Form.GROUPED_MASKED, 256, 4096, 7168, 8, 0), "tile=128x");
    }

    @Test
    void hopperStagesFillSharedMemory() {
        assumeTrue(hopper, "the Hopper (wgmma) plan needs sm_90");
        // As many stages as fit in 227 KB, at most 6: BM 128 x BN 128 keeps its 4 (33 KB a stage beside
        // 64 KB of D staging), the narrower or shorter tiles reach 6, BM 128 x BN 160 gets 3 (37 KB a
        // stage beside 80 KB of staging).
        assertHas(plan(Form.GROUPED_MASKED, 200, 904, 48, 15, 128), "tile=128x128x128 stages=4");
        assertHas(plan(Form.GROUPED_MASKED, 200, 1160, 16, 15, 128), "tile=128x160x128 stages=3");
        assertHas(plan(Form.GROUPED_MASKED, 64, 904, 48, 15, 64), "tile=64x128x128 stages=6");
        assertHas(plan(Form.DENSE, 65, 2112, 7168, 1, 0), "tile=128x64x128 stages=6");
        // The narrow decode tiles (10-15 KB a stage) are capped at 8.
        assertHas(plan(Form.DENSE, 64, 2112, 7168, 1, 0), "tile=64x16x128 stages=8");
        assertHas(plan(Form.DENSE, 64, 2200, 7168, 1, 0), "tile=64x32x128 stages=8");
        assertHas(plan(Form.DENSE, 64, 4240, 7168, 1, 0), "tile=64x48x128 stages=8");
    }

    @Test
    void hopperTileWidthByWaves() {
        assumeTrue(hopper && sms == Fp8GemmChecks.TILE_CASE_SMS,
                "the tile choices are proven on sm_90 with " + Fp8GemmChecks.TILE_CASE_SMS + " SMs");
        // BM 64 (decode): the fewest bytes through the busiest SM, ceil(tiles / 132) x (64 + BN) per unit
        // of K, then the wider tile. M = 64, N = 2112 (DeepGEMM's decode shape): 132 tiles of BN 16, one
        // per SM (80), where BN 64 streams B through 33 SMs (128). Before the narrow tiles: 64x64.
        assertHas(plan(Form.DENSE, 64, 2112, 7168, 1, 0), "tile=64x16x128");
        assertHas(plan(Form.DENSE, 64, 2112, 7168, 1, 0), "grid=132x1x1");
        // N = 2200: BN 16 needs two tiles on some SMs (160); BN 32's 69 tiles one each (96).
        assertHas(plan(Form.DENSE, 64, 2200, 7168, 1, 0), "tile=64x32x128");
        // N = 8456: BN 16 would stream the least B (5 tiles of 16 a SM: 80 columns) but reload A five
        // times (400); BN 96's 89 tiles, one each (160), win. Counting A keeps the narrow tiles to where
        // they fill the SMs.
        assertHas(plan(Form.DENSE, 64, 8456, 7168, 1, 0), "tile=64x96x128");
        // M = 64, N = 24576: BN 96's 256 tiles (2 a SM: 320) beat BN 64's 384 (3: 384) and BN 112's 220
        // (2: 352). Also the fewest waves and fullest last wave (the BM 128 rule, and the pick before).
        assertHas(plan(Form.DENSE, 64, 24576, 1536, 1, 0), "tile=64x96x128");
        // Masked with expectedM <= 64, many tiles: the wide tile that fits one a SM (G=15, N=904: 120
        // tiles of BN 128, 192) over more, narrower ones.
        assertHas(plan(Form.GROUPED_MASKED, 64, 904, 7168, 15, 64), "tile=64x128x128");
        // M = 4096, N = 7168: BN 160 needs 11 waves (1440 tiles), BN 128 14, BN 64 28.
        assertHas(plan(Form.DENSE, 4096, 7168, 2048, 1, 0), "tile=128x160x128");
        // Equal tile counts: the narrower tile (less zero-filled padding past N). M = 6400, N = 136: BN 64
        // needs 150 tiles (2 waves); BN 96, 112 and 128 all make 100 (one wave): 96.
        assertHas(plan(Form.DENSE, 6400, 136, 2048, 1, 0), "tile=128x96x128");
    }

    @Test
    void everyTileCaseGetsItsTile() {
        // Fp8GemmChecks.tileCases: each of the 15 configurations, proven on the device they are designed
        // for (132 SMs: an H100 SXM, an H200, the emulated sm_90).
        assumeTrue(hopper && sms == Fp8GemmChecks.TILE_CASE_SMS,
                "the tile choices are proven on sm_90 with " + Fp8GemmChecks.TILE_CASE_SMS + " SMs");
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Fp8GemmChecks.TileCase t : Fp8GemmChecks.tileCases()) {
            String p = t.gemm().plan(stream);
            assertHas(p, "family=wgmma");
            assertHas(p, "tile=" + t.tile() + "x128 ");
            seen.add(t.tile());
        }
        for (int bm : new int[] {64, 128})
            for (int bn : new int[] {16, 32, 48, 64, 96, 112, 128, 144, 160})
                if (bm == 64 || bn >= 64) assertTrue(seen.contains(bm + "x" + bn), "no tile case for " + bm + "x" + bn);
        // The narrow widths are decode-only: no BM 128 tile narrower than 64.
        for (String tile : seen) assertTrue(tile.startsWith("64x") || Integer.parseInt(tile.substring(4)) >= 64, tile);
    }

    @Test
    void hopperPersistentGrid() {
        assumeTrue(hopper, "the Hopper (wgmma) plan needs sm_90");
        // 2 x 4 tiles of 128 x 64 (one wave: the most CTAs): 8 CTAs; many tiles: one CTA per SM.
        assertHas(plan(Form.DENSE, 256, 256, 512, 1, 0), "grid=8x1x1 persistent");
        assertHas(plan(Form.DENSE, 4096, 7168, 2048, 1, 0), "grid=" + sms + "x1x1 persistent");
    }

    @Test
    void hopperClustersOfTwoForLargeDenseProblems() {
        assumeTrue(hopper, "the Hopper (wgmma) plan needs sm_90");
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
