package io.kernels4j.validation.gemm;

import io.kernels4j.bindings.cuda.CudaRuntime;
import io.kernels4j.ops.Cuda;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.gemm.Fp8Gemm;
import io.kernels4j.ops.gemm.Fp8Quantize;
import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.host.Fp8Quantizer;
import io.kernels4j.validation.CheckCase;
import io.kernels4j.validation.EmulatorSizes;
import io.kernels4j.validation.CheckContext;
import io.kernels4j.validation.CheckResult;
import io.kernels4j.validation.CheckSuite;
import io.kernels4j.validation.Metrics;
import io.kernels4j.validation.RandomTensors;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * GPU checks of the FP8 GEMM family and its quantisers against the FP64 reference (docs/CONTRACT.md section
 * 2): issue 3's case list. Gates: {@code diff < 1e-5} against the reference on the dequantised
 * inputs, no NaN, every computed output written (outputs poisoned before the call), rows that must
 * not be touched (padding, past maskedM) still poisoned, the expected device error bits, and
 * DeepGEMM's own gate against the unquantised inputs ({@code diff < 1e-3}, where the checked outputs,
 * A elements and B elements each number at least {@value #UNQUANTISED_GATE_MIN_COUNT}; reported only
 * below that); relL2 and maxAbs are
 * reported. Quantiser cases must match the Java quantiser bit for bit (values and scales, padding
 * included).
 *
 * <p>Shapes whose full FP64 reference would exceed about {@value #REF_MACS} multiply-adds (the large
 * dense M x N x K combinations) are checked on a random subset of rows (always including the first
 * and last), reported as the metric {@code rowsChecked}; every row is still checked for NaN and
 * for being written.
 */
public final class Fp8GemmChecks implements CheckSuite {
    /** The FP8 GEMM check suite. */
    public Fp8GemmChecks() {}

    static final long REF_MACS = 3_000_000_000L;
    static final double DIFF_TOL = 1e-5;
    static final double DIFF_UNQUANTISED_TOL = 1e-3;
    /**
     * DeepGEMM's unquantised gate applies only where its statistic is stable: at least this many checked
     * outputs, quantised A elements of the checked rows (rows x K) and quantised B elements (N x K). FP8
     * quantisation alone gives a diff of about 6-7e-4, and its spread is set by how many quantisation
     * errors it averages: with 8 outputs about a quarter of random inputs exceed 1e-3, and one row of
     * K = 16 (16 A elements shared by every output) reaches 1e-3 even over 4096 outputs; at this count on
     * all three sides the spread is about 2.5e-5. Below it the gate would fail correct kernels, so the
     * value is reported only.
     */
    static final int UNQUANTISED_GATE_MIN_COUNT = 4096;

    /** Whether the unquantised gate applies to a check of {@code rows} rows of an N x K problem. */
    static boolean unquantisedGateApplies(int rows, int n, int k) {
        long min = UNQUANTISED_GATE_MIN_COUNT;
        return (long) rows * n >= min && (long) rows * k >= min && (long) n * k >= min;
    }
    static final short BF16_POISON = 0x7FC0;
    static final int FP32_POISON = 0x7FC0_0001;

    @Override
    public String family() {
        return "gemm";
    }

    static final int[] DENSE_M = {1, 7, 64, 128, 333, 4096};
    // Emulator-sized shapes (EmulatorSizes): the tails modulo 128 are kept.
    static final int EMU_M = 256, EMU_N = 256, EMU_K = 512;
    static final int[][] NK = {{128, 128}, {2112, 7168}, {7168, 2048}, {576, 7232}, {24576, 1536}};

    @Override
    public List<CheckCase> cases() {
        List<CheckCase> cases = new ArrayList<>();
        for (int[] nk : NK)
            for (int m : DENSE_M) cases.add(GemmCase.dense(m, nk[0], nk[1], false, false));
        // Optional FP32 C and FP32 D.
        cases.add(GemmCase.dense(7, 576, 7232, true, true));
        cases.add(GemmCase.dense(333, 128, 128, true, true));
        cases.add(GemmCase.dense(128, 2112, 7168, false, true));
        cases.add(GemmCase.dense(64, 7168, 2048, true, false));
        // Small tails: N % 64 != 0 (B rows zero-filled inside a warp's n-tiles), K < 128 and K % 32 != 0
        // (half of the last k32 step zero-filled), K = 128 * j + 16.
        cases.add(GemmCase.dense(1, 8, 16, false, false));
        cases.add(GemmCase.dense(33, 72, 48, true, true));
        cases.add(GemmCase.dense(130, 136, 400, false, false));
        cases.add(GemmCase.dense(65, 1000, 112, false, true));
        // Each tile configuration of the sm_90 wgmma family (BM 64 for M <= 64, BM 128 above: the
        // case's "plan" metric names the one that ran) with tails in M, N and K, and TMA-stored (whole
        // row tiles) as well as plain-stored (tails) epilogues; BF16 and FP32 D.
        cases.add(GemmCase.dense(64, 200, 272, false, false));
        cases.add(GemmCase.dense(50, 136, 144, true, true));
        cases.add(GemmCase.dense(192, 264, 400, true, false));
        cases.add(GemmCase.dense(200, 72, 16, false, true));
        // Persistent grid: more tiles than SMs (132 on an H100 and on the emulated sm_90), so CTAs
        // take several tiles and the pipeline's stage/phase run on across them. Kept at full size on
        // the emulator (K is small).
        cases.add(GemmCase.denseExact(64, 140 * 128, 32, false, false));
        cases.add(GemmCase.denseExact(1160, 2048, 144, false, false));
        // Clusters of 2 on sm_90 (the plan's rule: dense, M >= 512, BM 128; the "plan" metric says
        // cluster=2): pairs of vertically adjacent row tiles share their B tile by TMA multicast. Odd
        // row-tile counts (5 here) leave the last pair's lower tile past M; tails in M, N and K.
        cases.add(GemmCase.denseExact(520, 264, 272, true, false));
        cases.add(GemmCase.denseExact(640, 136, 128, false, true));
        // K of 9 k-blocks over at most 6 stages: the stages are reused, so each producer must wait for
        // both CTAs' consumers (remote arrivals) before multicasting into a stage again.
        cases.add(GemmCase.denseExact(576, 72, 1040, false, false));

        // Every tile configuration of the sm_90 wgmma family (TILE_CASES: the tile each one gets).
        for (TileCase t : tileCases()) cases.add(t.gemm());

        int[] g8 = {128, 0, 1, 513, 5, 64, 0, 200};
        int[] g32 = skewedSizes(32);
        // Grouped contiguous, mIndices with 128-aligned segments and -1 padding.
        cases.add(GemmCase.contiguous("G=1", new int[] {333}, 2112, 7168, 128, false, false));
        cases.add(GemmCase.contiguous("G=4 empty+1-row+skewed", new int[] {0, 1, 300, 37}, 576, 7232, 128, false, false));
        cases.add(GemmCase.contiguous("G=8", g8, 2112, 2048, 128, false, false));
        cases.add(GemmCase.contiguous("G=8 unaligned (experts share tiles)", g8, 576, 7232, 1, false, false));
        cases.add(GemmCase.contiguous("G=32 skewed", g32, 256, 1024, 128, false, false));
        cases.add(GemmCase.contiguous("G=4 with C, FP32 D", new int[] {7, 130, 0, 64}, 576, 7232, 128, true, false));
        cases.add(GemmCase.contiguous("G=4 bad ids", new int[] {100, 20, 0, 64}, 128, 128, 64, false, true));
        cases.add(GemmCase.contiguous("G=3 small N, K", new int[] {5, 0, 70}, 72, 48, 1, false, false));
        cases.add(GemmCase.contiguous("G=2 all empty (padding only)", new int[] {0, 0}, 128, 128, 128, false, false));
        cases.add(GemmCase.contiguous("G=5 64-aligned, tails", new int[] {64, 3, 0, 130, 64}, 264, 272, 64, true, false));
        // Grouped contiguous, unpadded groupEnds.
        cases.add(GemmCase.ends("G=1", new int[] {333}, 2112, 7168, false, false));
        cases.add(GemmCase.ends("G=4 empty+1-row+skewed", new int[] {0, 1, 300, 37}, 576, 7232, false, false));
        cases.add(GemmCase.ends("G=8", g8, 2112, 2048, false, false));
        cases.add(GemmCase.ends("G=32 skewed", g32, 256, 1024, false, false));
        cases.add(GemmCase.ends("G=4 bad ends", new int[] {100, 20, 0, 64}, 128, 128, false, true));
        cases.add(GemmCase.ends("G=3 small N, K", new int[] {5, 0, 70}, 72, 48, false, false));
        cases.add(GemmCase.ends("G=2 all empty", new int[] {0, 0}, 128, 128, false, false));
        cases.add(GemmCase.ends("G=6 experts share tiles, tails", new int[] {70, 0, 1, 129, 0, 33}, 200, 400, true, false));
        // Grouped masked.
        cases.add(GemmCase.masked("G=1", new int[] {37}, 64, 2112, 7168, 0, false, false));
        cases.add(GemmCase.masked("G=4 maskedM=0,1,full", new int[] {0, 1, 128, 77}, 128, 576, 7232, 64, false, false));
        cases.add(GemmCase.masked("G=8", new int[] {0, 3, 256, 0, 100, 1, 255, 64}, 256, 2112, 2048, 64, false, false));
        cases.add(GemmCase.masked("G=32", maskedSizes(32, 32), 32, 256, 1024, 8, false, false));
        cases.add(GemmCase.masked("G=4 with C, FP32 D", new int[] {5, 0, 64, 33}, 64, 576, 7232, 32, true, false));
        cases.add(GemmCase.masked("G=4 bad maskedM", new int[] {70, -1, 64, 5}, 64, 128, 128, 0, false, true));
        cases.add(GemmCase.masked("G=3 small N, K", new int[] {1, 9, 0}, 9, 8, 16, 0, false, false));
        cases.add(GemmCase.masked("G=3 all maskedM=0", new int[] {0, 0, 0}, 64, 128, 128, 0, false, false));
        cases.add(GemmCase.masked("G=4 BM 128 tiles, tails", new int[] {200, 0, 128, 129}, 200, 136, 272, 0, true, false));
        // More tiles than SMs across groups: the persistent walk over maskedM on the device.
        cases.add(GemmCase.masked("G=40 persistent walk", maskedSizes(40, 96), 96, 512, 16, 64, false, false));

        // Quantisers, bitwise against the Java quantiser.
        cases.add(new QuantCase(true, EmulatorSizes.dim(1, EMU_M, 128), EmulatorSizes.dim(128, EMU_K, 128), DType.BF16, false));
        cases.add(new QuantCase(true, EmulatorSizes.dim(5, EMU_M, 128), EmulatorSizes.dim(16, EMU_K, 128), DType.FP32, false));
        cases.add(new QuantCase(true, EmulatorSizes.dim(7, EMU_M, 128), EmulatorSizes.dim(7232, EMU_K, 128), DType.FP32, false));
        cases.add(new QuantCase(true, EmulatorSizes.dim(333, EMU_M, 128), EmulatorSizes.dim(200, EMU_K, 128), DType.BF16, true));
        cases.add(new QuantCase(true, EmulatorSizes.dim(4096, EMU_M, 128), EmulatorSizes.dim(7168, EMU_K, 128), DType.BF16, false));
        cases.add(new QuantCase(true, EmulatorSizes.dim(4096, EMU_M, 128), EmulatorSizes.dim(7168, EMU_K, 128), DType.FP32, true));
        cases.add(new QuantCase(false, EmulatorSizes.dim(128, EMU_M, 128), EmulatorSizes.dim(128, EMU_K, 128), DType.FP32, false));
        cases.add(new QuantCase(false, EmulatorSizes.dim(333, EMU_M, 128), EmulatorSizes.dim(200, EMU_K, 128), DType.BF16, true));
        cases.add(new QuantCase(false, EmulatorSizes.dim(2112, EMU_M, 128), EmulatorSizes.dim(7168, EMU_K, 128), DType.BF16, false));
        cases.add(new QuantCase(false, EmulatorSizes.dim(7168, EMU_M, 128), EmulatorSizes.dim(2048, EMU_K, 128), DType.FP32, true));
        cases.add(new QuantCase(false, EmulatorSizes.dim(576, EMU_M, 128), EmulatorSizes.dim(7232, EMU_K, 128), DType.BF16, false));
        // Emulator-sized shapes can coincide: run each once.
        if (EmulatorSizes.ACTIVE) {
            Set<String> seen = new HashSet<>();
            cases.removeIf(c -> !seen.add(c.op() + " " + c.name()));
        }
        return cases;
    }

    /**
     * A case and the tile the sm_90 plan gives it on a device of {@link #TILE_CASE_SMS} SMs (an H100
     * SXM, an H200 and the emulated sm_90): each of the wgmma family's 15 configurations (BM 64 and
     * 128 x BN 64, 96, 112, 128, 144, 160, and BM 64 x the narrow decode widths 16, 32, 48) at least
     * once, BNs that do not divide 128 with tiles that straddle two B-scale blocks, tails in M, N and
     * K, every form, maskedM = 0 and empty groups, BF16 and FP32 D (the narrow tiles' rows are 32 to
     * 192 bytes: 16-byte stores only, one whole 128-byte TMA box, a box and a partial one).
     * The sizes are exact on the emulator too (the choice depends on them), with small K and few
     * non-empty groups so that they stay cheap there. On other devices the cases still run; only the
     * tile differs.
     */
    record TileCase(String tile, GemmCase gemm) {}

    /** The SM count {@link #tileCases} are designed for. */
    static final int TILE_CASE_SMS = 132;

    static List<TileCase> tileCases() {
        // 15 problems of one row tile each (expectedM): the tile count is 15 x ceil(N / BN). BM 64 takes
        // the width with the fewest bytes through the busiest SM, ceil(tiles / 132) x (64 + BN) x K, then
        // the wider: each N below lies in the range where its width wins, with a tail. BM 128: each N is
        // the smallest with a tail for which the narrower widths need a second wave of 132 SMs.
        int[] mm64 = {0, 0, 64, 0, 0, 1, 0, 0, 0, 37, 0, 0, 0, 0, 63};
        int[] mm128 = {0, 200, 0, 0, 129, 0, 0, 1, 0, 0, 0, 0, 64, 0, 0};
        List<TileCase> t = new ArrayList<>();
        // BM 64 (expectedM, or M, <= 64).
        // Narrow decode tiles: one tile per SM while N is moderate (dense: N <= 132 x 16 gets BN 16).
        t.add(new TileCase("64x16", GemmCase.maskedExact("G=4 tile 64x16", new int[] {0, 64, 1, 50}, 64, 200, 272, 0, false)));
        t.add(new TileCase("64x16", GemmCase.maskedExact("G=15 tile 64x16", mm64, 64, 120, 80, 64, true)));
        t.add(new TileCase("64x16", GemmCase.denseExact(37, 200, 272, false, false)));
        t.add(new TileCase("64x16", GemmCase.endsExact("G=3 tile 64x16", new int[] {5, 0, 40}, 200, 16, true)));
        t.add(new TileCase("64x32", GemmCase.maskedExact("G=15 tile 64x32", mm64, 64, 200, 48, 64, true)));
        t.add(new TileCase("64x32", GemmCase.denseExact(64, 2200, 48, false, false)));
        t.add(new TileCase("64x32", GemmCase.contiguousExact("G=3 tile 64x32", new int[] {0, 30, 2}, 2184, 16, false)));
        // BN 48: tiles at n0 = 96, 240, ... straddle two B-scale blocks.
        t.add(new TileCase("64x48", GemmCase.maskedExact("G=15 tile 64x48", mm64, 64, 328, 144, 64, false)));
        t.add(new TileCase("64x48", GemmCase.denseExact(33, 4240, 16, true, true)));
        t.add(new TileCase("64x64", GemmCase.maskedExact("G=15 tile 64x64", mm64, 64, 456, 272, 64, true)));
        t.add(new TileCase("64x96", GemmCase.maskedExact("G=15 tile 64x96", mm64, 64, 520, 48, 64, true)));
        t.add(new TileCase("64x112", GemmCase.maskedExact("G=15 tile 64x112", mm64, 64, 792, 16, 64, false)));
        t.add(new TileCase("64x128", GemmCase.maskedExact("G=15 tile 64x128", mm64, 64, 904, 144, 64, false)));
        t.add(new TileCase("64x144", GemmCase.maskedExact("G=15 tile 64x144", mm64, 64, 1040, 80, 64, true)));
        t.add(new TileCase("64x160", GemmCase.maskedExact("G=15 tile 64x160", mm64, 64, 1160, 112, 64, false)));
        t.add(new TileCase("64x96", GemmCase.denseExact(64, 8456, 48, false, false)));
        t.add(new TileCase("64x160", GemmCase.denseExact(50, 19016, 32, true, true)));
        // BM 128.
        t.add(new TileCase("128x64", GemmCase.maskedExact("G=3 tile 128x64", new int[] {200, 0, 129}, 200, 136, 400, 0, true)));
        t.add(new TileCase("128x96", GemmCase.maskedExact("G=15 tile 128x96", mm128, 200, 520, 48, 128, false)));
        t.add(new TileCase("128x112", GemmCase.maskedExact("G=15 tile 128x112", mm128, 200, 792, 16, 128, true)));
        t.add(new TileCase("128x128", GemmCase.maskedExact("G=15 tile 128x128", mm128, 200, 904, 48, 128, false)));
        t.add(new TileCase("128x144", GemmCase.maskedExact("G=15 tile 128x144", mm128, 200, 1040, 16, 128, true)));
        t.add(new TileCase("128x160", GemmCase.maskedExact("G=15 tile 128x160", mm128, 200, 1160, 16, 128, false)));
        // 34 row tiles x 3 column tiles = 102 CTAs; the contiguous and ends ones with experts sharing tiles.
        t.add(new TileCase("128x96", GemmCase.denseExact(4347, 200, 16, true, true)));
        t.add(new TileCase("128x144", GemmCase.denseExact(4347, 392, 16, false, false)));
        t.add(new TileCase("128x112", GemmCase.endsExact("G=4 tile 128x112", new int[] {1500, 0, 2800, 47}, 296, 16, false)));
        t.add(new TileCase("128x160", GemmCase.contiguousExact("G=4 tile 128x160", new int[] {4000, 300, 0, 47}, 440, 16, true)));
        return t;
    }

    /** 32 skewed group sizes: one hot expert, empty experts, a one-row expert, the rest small. Fixed so the case name is stable. */
    static int[] skewedSizes(int groups) {
        SplittableRandom r = new SplittableRandom(32);
        int[] s = new int[groups];
        for (int g = 0; g < groups; g++) s[g] = r.nextInt(0, 40);
        s[0] = 900;
        s[3] = 0;
        s[4] = 1;
        s[17] = 0;
        s[31] = 0;
        return s;
    }

    static int[] maskedSizes(int groups, int maxM) {
        SplittableRandom r = new SplittableRandom(7);
        int[] s = new int[groups];
        for (int g = 0; g < groups; g++) s[g] = r.nextInt(0, maxM + 1);
        s[0] = 0;
        s[1] = maxM;
        s[2] = 1;
        return s;
    }

    // ---- shared helpers ----

    /** Waits for all device work: uploads go through the legacy stream, the ops through ctx.stream(). */
    static void deviceSync() {
        Cuda.check(CudaRuntime.cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    }

    static DeviceTensor upload(List<DeviceTensor> owned, CheckContext ctx, byte[] data, long... shape) {
        DeviceTensor t = DeviceTensor.allocate(ctx.device(), DType.FP8_E4M3, shape);
        owned.add(t);
        t.copyFrom(data);
        return t;
    }

    static DeviceTensor upload(List<DeviceTensor> owned, CheckContext ctx, float[] data, long... shape) {
        DeviceTensor t = DeviceTensor.allocate(ctx.device(), DType.FP32, shape);
        owned.add(t);
        t.copyFrom(data);
        return t;
    }

    static DeviceTensor upload(List<DeviceTensor> owned, CheckContext ctx, short[] data, long... shape) {
        DeviceTensor t = DeviceTensor.allocate(ctx.device(), DType.BF16, shape);
        owned.add(t);
        t.copyFrom(data);
        return t;
    }

    static DeviceTensor upload(List<DeviceTensor> owned, CheckContext ctx, int[] data, long... shape) {
        DeviceTensor t = DeviceTensor.allocate(ctx.device(), DType.INT32, shape);
        owned.add(t);
        t.copyFrom(data);
        return t;
    }

    static void closeAll(List<DeviceTensor> owned) {
        for (DeviceTensor t : owned) t.close();
    }

    static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }

    /** One GEMM case of any form. */
    record GemmCase(String form, String label, int[] sizes, int maxM, int n, int k, int alignment, int expectedM,
                    boolean withC, boolean dFp32, boolean badData) implements CheckCase {
        static GemmCase dense(int m, int n, int k, boolean withC, boolean dFp32) {
            m = EmulatorSizes.dim(m, EMU_M, 128);
            n = EmulatorSizes.dim(n, EMU_N, 128);
            k = EmulatorSizes.dim(k, EMU_K, 128);
            String l = "m=" + m + " n=" + n + " k=" + k + (withC ? " +C" : "") + (dFp32 ? " D=FP32" : "");
            return new GemmCase("dense", l, new int[] {m}, m, n, k, 1, 0, withC, dFp32, false);
        }

        /** A dense case whose sizes the emulator keeps as they are (small K: cheap there too). */
        static GemmCase denseExact(int m, int n, int k, boolean withC, boolean dFp32) {
            String l = "m=" + m + " n=" + n + " k=" + k + (withC ? " +C" : "") + (dFp32 ? " D=FP32" : "");
            return new GemmCase("dense", l, new int[] {m}, m, n, k, 1, 0, withC, dFp32, false);
        }

        /** Grouped cases whose sizes the emulator keeps as they are (tileCases). */
        static GemmCase contiguousExact(String label, int[] sizes, int n, int k, boolean withC) {
            return new GemmCase("groupedContiguous", label + " sizes=" + Arrays.toString(sizes) + " align=1 n=" + n + " k=" + k,
                    sizes, 0, n, k, 1, 0, withC, withC, false);
        }

        static GemmCase endsExact(String label, int[] sizes, int n, int k, boolean withC) {
            return new GemmCase("groupedEnds", label + " sizes=" + Arrays.toString(sizes) + " n=" + n + " k=" + k, sizes, 0,
                    n, k, 1, 0, withC, withC, false);
        }

        static GemmCase maskedExact(String label, int[] maskedM, int maxM, int n, int k, int expectedM, boolean withC) {
            return new GemmCase("groupedMasked", label + " maskedM=" + Arrays.toString(maskedM) + " maxM=" + maxM + " n=" + n
                    + " k=" + k + " expectedM=" + expectedM, maskedM, maxM, n, k, 1, expectedM, withC, withC, false);
        }

        /** The plan line of this case's call (the form and sizes it passes to the op). */
        String plan(Stream stream) {
            return switch (form) {
                case "dense" -> Fp8Gemm.plan(Fp8Gemm.Form.DENSE, sizes[0], n, k, 1, 0, dType(), stream);
                case "groupedMasked" ->
                    Fp8Gemm.plan(Fp8Gemm.Form.GROUPED_MASKED, maxM, n, k, sizes.length, expectedM, dType(), stream);
                default -> Fp8Gemm.plan(form.equals("groupedEnds") ? Fp8Gemm.Form.GROUPED_ENDS : Fp8Gemm.Form.GROUPED_CONTIGUOUS,
                        sumM(), n, k, sizes.length, 0, dType(), stream);
            };
        }

        private DType dType() {
            return dFp32 ? DType.FP32 : DType.BF16;
        }

        /** Rows of the grouped contiguous / ends forms: each group's rows, padded to the alignment (mIndices form). */
        private int sumM() {
            int rows = 0;
            for (int size : sizes) {
                rows += size;
                if (!form.equals("groupedEnds")) rows = (rows + alignment - 1) / alignment * alignment;
            }
            return Math.max(1, rows);
        }

        static GemmCase contiguous(String label, int[] sizes, int n, int k, int alignment, boolean withC, boolean bad) {
            n = EmulatorSizes.dim(n, EMU_N, 128);
            k = EmulatorSizes.dim(k, EMU_K, 128);
            return new GemmCase("groupedContiguous", label + " sizes=" + Arrays.toString(sizes) + " align=" + alignment
                    + " n=" + n + " k=" + k, sizes, 0, n, k, alignment, 0, withC, withC, bad);
        }

        static GemmCase ends(String label, int[] sizes, int n, int k, boolean withC, boolean bad) {
            n = EmulatorSizes.dim(n, EMU_N, 128);
            k = EmulatorSizes.dim(k, EMU_K, 128);
            return new GemmCase("groupedEnds", label + " sizes=" + Arrays.toString(sizes) + " n=" + n + " k=" + k, sizes, 0,
                    n, k, 1, 0, withC, withC, bad);
        }

        static GemmCase masked(String label, int[] maskedM, int maxM, int n, int k, int expectedM, boolean withC, boolean bad) {
            n = EmulatorSizes.dim(n, EMU_N, 128);
            k = EmulatorSizes.dim(k, EMU_K, 128);
            return new GemmCase("groupedMasked", label + " maskedM=" + Arrays.toString(maskedM) + " maxM=" + maxM + " n=" + n
                    + " k=" + k + " expectedM=" + expectedM, maskedM, maxM, n, k, 1, expectedM, withC, withC, bad);
        }

        @Override
        public String op() {
            return "Fp8Gemm." + form;
        }

        @Override
        public String name() {
            return label;
        }

        @Override
        public CheckResult run(CheckContext ctx) {
            return switch (form) {
                case "dense" -> runDense(ctx);
                case "groupedMasked" -> runMasked(ctx);
                default -> runContiguous(ctx);
            };
        }

        // -- dense --

        private CheckResult runDense(CheckContext ctx) {
            int m = sizes[0];
            long seed = ctx.seed();
            float[] x = RandomTensors.normal(RandomTensors.derive(seed, "a"), m * k, 1.0);
            float[] w = RandomTensors.normal(RandomTensors.derive(seed, "b"), n * k, 1.0);
            float[] c = withC ? RandomTensors.normal(RandomTensors.derive(seed, "c"), m * n, 1.0) : null;
            Fp8Quantizer.Quantized qa = Fp8Quantizer.perTokenGroup(x, m, k, false);
            Fp8Quantizer.Quantized qb = Fp8Quantizer.perBlock(w, n, k, false);
            int kb = Fp8Quantizer.ceilDiv(k, 128);
            List<DeviceTensor> owned = new ArrayList<>();
            try {
                DeviceTensor a = upload(owned, ctx, qa.q(), m, k);
                DeviceTensor sa = upload(owned, ctx, qa.scales(), kb, Fp8Quantizer.alignUp(m, 4));
                DeviceTensor b = upload(owned, ctx, qb.q(), n, k);
                DeviceTensor sb = upload(owned, ctx, qb.scales(), Fp8Quantizer.ceilDiv(n, 128), kb);
                DeviceTensor cT = c == null ? null : upload(owned, ctx, c, m, n);
                DeviceTensor d = output(owned, ctx, m, n);
                deviceSync();
                poison(d, ctx.stream());
                Fp8Gemm.dense(a, sa, b, sb, cT, d, ctx.stream());
                deviceSync();
                float[] out = download(d);
                int[] rows = sampleRows(m, n, k, RandomTensors.derive(seed, "rows"));
                double[] ref = Fp8GemmReference.denseRows(Fp8Quantizer.dequantizePerTokenGroupExact(qa, m, k),
                        Fp8Quantizer.dequantizePerBlockExact(qb, n, k), c, m, n, k, rows);
                double[] refUnq = Fp8GemmReference.denseRows(toDouble(x), toDouble(w), c, m, n, k, rows);
                boolean[] computed = new boolean[m];
                Arrays.fill(computed, true);
                String plan = Fp8Gemm.plan(Fp8Gemm.Form.DENSE, m, n, k, 1, 0, d.dtype(), ctx.stream());
                return judge(ctx, plan, out, rawPoisonMask(d, out), computed, rows, ref, refUnq, 0);
            } finally {
                closeAll(owned);
            }
        }

        // -- contiguous (mIndices or groupEnds) --

        private CheckResult runContiguous(CheckContext ctx) {
            boolean useEnds = form.equals("groupedEnds");
            int groups = sizes.length;
            long seed = ctx.seed();
            // Row layout: each group's rows, padded to `alignment` with -1 (mIndices form only).
            List<Integer> rowExpert = new ArrayList<>();
            int[] ends = new int[groups];
            for (int g = 0; g < groups; g++) {
                for (int i = 0; i < sizes[g]; i++) rowExpert.add(g);
                if (!useEnds) while (rowExpert.size() % alignment != 0) rowExpert.add(-1);
                ends[g] = rowExpert.size();
            }
            int expectedErr = 0;
            if (badData && !useEnds) { // ids the kernel must skip and flag
                rowExpert.set(3, groups + 5);
                rowExpert.set(5, -7);
                expectedErr = io.kernels4j.bindings.Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE;
            }
            int sumM = Math.max(1, rowExpert.size());
            while (rowExpert.size() < sumM) rowExpert.add(-1);
            if (badData && useEnds) { // decreasing and out-of-range ends: clamped and flagged
                ends[1] = ends[0] - 10;
                ends[groups - 1] = sumM + 50;
                expectedErr = io.kernels4j.bindings.Kernels4jNative.K4J_DEVERR_LENGTH_OUT_OF_RANGE;
            }
            int[] mIndices = useEnds ? Fp8GemmReference.rowGroupsFromEnds(ends, sumM)
                    : rowExpert.stream().mapToInt(Integer::intValue).toArray();

            float[] x = RandomTensors.normal(RandomTensors.derive(seed, "a"), sumM * k, 1.0);
            float[] c = withC ? RandomTensors.normal(RandomTensors.derive(seed, "c"), sumM * n, 1.0) : null;
            Fp8Quantizer.Quantized qa = Fp8Quantizer.perTokenGroup(x, sumM, k, false);
            Weights wts = Weights.random(seed, groups, n, k);
            int kb = Fp8Quantizer.ceilDiv(k, 128);
            List<DeviceTensor> owned = new ArrayList<>();
            try {
                DeviceTensor a = upload(owned, ctx, qa.q(), sumM, k);
                DeviceTensor sa = upload(owned, ctx, qa.scales(), kb, Fp8Quantizer.alignUp(sumM, 4));
                DeviceTensor b = upload(owned, ctx, wts.q, groups, n, k);
                DeviceTensor sb = upload(owned, ctx, wts.scales, groups, Fp8Quantizer.ceilDiv(n, 128), kb);
                DeviceTensor cT = c == null ? null : upload(owned, ctx, c, sumM, n);
                DeviceTensor index = useEnds ? upload(owned, ctx, ends, groups)
                        : upload(owned, ctx, rowExpert.stream().mapToInt(Integer::intValue).toArray(), sumM);
                DeviceTensor d = output(owned, ctx, sumM, n);
                deviceSync();
                ctx.stream().clearDeviceErrors();
                poison(d, ctx.stream());
                if (useEnds) Fp8Gemm.groupedEnds(a, sa, b, sb, cT, d, index, ctx.stream());
                else Fp8Gemm.groupedContiguous(a, sa, b, sb, cT, d, index, ctx.stream());
                deviceSync();
                float[] out = download(d);
                boolean[] computed = new boolean[sumM];
                for (int r = 0; r < sumM; r++) computed[r] = mIndices[r] >= 0 && mIndices[r] < groups;
                int[] rows = computedRows(computed);
                double[] ref = refRows(Fp8Quantizer.dequantizePerTokenGroupExact(qa, sumM, k), wts.dequantized(), c, mIndices,
                        rows, sumM);
                double[] refUnq = refRows(toDouble(x), toDouble(wts.raw), c, mIndices, rows, sumM);
                String plan = Fp8Gemm.plan(useEnds ? Fp8Gemm.Form.GROUPED_ENDS : Fp8Gemm.Form.GROUPED_CONTIGUOUS, sumM, n, k,
                        groups, 0, d.dtype(), ctx.stream());
                return judge(ctx, plan, out, rawPoisonMask(d, out), computed, rows, ref, refUnq, expectedErr);
            } finally {
                closeAll(owned);
            }
        }

        /** Reference rows of a contiguous problem, row i of the result = output row rows[i]. */
        private double[] refRows(double[] a, double[] b, float[] c, int[] rowGroup, int[] rows, int sumM) {
            double[] full = new double[sumM * n];
            int[] onlyRows = new int[sumM];
            Arrays.fill(onlyRows, -1);
            for (int r : rows) onlyRows[r] = rowGroup[r];
            Fp8GemmReference.groupedContiguous(a, b, c, onlyRows, sizes.length, n, k, full);
            double[] out = new double[rows.length * n];
            for (int i = 0; i < rows.length; i++) System.arraycopy(full, rows[i] * n, out, i * n, n);
            return out;
        }

        // -- masked --

        private CheckResult runMasked(CheckContext ctx) {
            int groups = sizes.length;
            long seed = ctx.seed();
            int rows = groups * maxM, kb = Fp8Quantizer.ceilDiv(k, 128), ma = Fp8Quantizer.alignUp(maxM, 4);
            float[] x = RandomTensors.normal(RandomTensors.derive(seed, "a"), rows * k, 1.0);
            float[] c = withC ? RandomTensors.normal(RandomTensors.derive(seed, "c"), rows * n, 1.0) : null;
            byte[] aq = new byte[rows * k];
            float[] as = new float[groups * kb * ma];
            double[] aDeq = new double[rows * k];
            for (int g = 0; g < groups; g++) {
                float[] xg = Arrays.copyOfRange(x, g * maxM * k, (g + 1) * maxM * k);
                Fp8Quantizer.Quantized q = Fp8Quantizer.perTokenGroup(xg, maxM, k, false);
                System.arraycopy(q.q(), 0, aq, g * maxM * k, maxM * k);
                System.arraycopy(q.scales(), 0, as, g * kb * ma, kb * ma);
                System.arraycopy(Fp8Quantizer.dequantizePerTokenGroupExact(q, maxM, k), 0, aDeq, g * maxM * k, maxM * k);
            }
            Weights wts = Weights.random(seed, groups, n, k);
            int expectedErr = badData ? io.kernels4j.bindings.Kernels4jNative.K4J_DEVERR_LENGTH_OUT_OF_RANGE : 0;
            List<DeviceTensor> owned = new ArrayList<>();
            try {
                DeviceTensor a = upload(owned, ctx, aq, groups, maxM, k);
                DeviceTensor sa = upload(owned, ctx, as, groups, kb, ma);
                DeviceTensor b = upload(owned, ctx, wts.q, groups, n, k);
                DeviceTensor sb = upload(owned, ctx, wts.scales, groups, Fp8Quantizer.ceilDiv(n, 128), kb);
                DeviceTensor cT = c == null ? null : upload(owned, ctx, c, groups, maxM, n);
                DeviceTensor mm = upload(owned, ctx, sizes, groups);
                DeviceTensor d = output(owned, ctx, groups, maxM, n);
                deviceSync();
                ctx.stream().clearDeviceErrors();
                poison(d, ctx.stream());
                Fp8Gemm.groupedMasked(a, sa, b, sb, cT, d, mm, expectedM, ctx.stream());
                deviceSync();
                float[] out = download(d);
                boolean[] computed = new boolean[rows];
                for (int g = 0; g < groups; g++) {
                    int lim = Math.min(Math.max(sizes[g], 0), maxM);
                    for (int r = 0; r < lim; r++) computed[g * maxM + r] = true;
                }
                int[] rowList = computedRows(computed);
                double[] full = new double[rows * n];
                Fp8GemmReference.groupedMasked(aDeq, wts.dequantized(), c, sizes, maxM, n, k, full);
                double[] fullUnq = new double[rows * n];
                Fp8GemmReference.groupedMasked(toDouble(x), toDouble(wts.raw), c, sizes, maxM, n, k, fullUnq);
                String plan = Fp8Gemm.plan(Fp8Gemm.Form.GROUPED_MASKED, maxM, n, k, groups, expectedM, d.dtype(), ctx.stream());
                return judge(ctx, plan, out, rawPoisonMask(d, out), computed, rowList, pick(full, rowList),
                        pick(fullUnq, rowList), expectedErr);
            } finally {
                closeAll(owned);
            }
        }

        private double[] pick(double[] full, int[] rows) {
            double[] out = new double[rows.length * n];
            for (int i = 0; i < rows.length; i++) System.arraycopy(full, rows[i] * n, out, i * n, n);
            return out;
        }

        // -- common --

        private DeviceTensor output(List<DeviceTensor> owned, CheckContext ctx, long... shape) {
            DeviceTensor d = DeviceTensor.allocate(ctx.device(), dFp32 ? DType.FP32 : DType.BF16, shape);
            owned.add(d);
            return d;
        }

        private void poison(DeviceTensor d, Stream stream) {
            d.fill(dFp32 ? FP32_POISON : BF16_POISON, stream);
        }

        private float[] download(DeviceTensor d) {
            return dFp32 ? d.toFloatArray() : Bf16.decode(d.toShortArray());
        }

        /** Which output elements still hold the poison bit pattern. */
        private boolean[] rawPoisonMask(DeviceTensor d, float[] out) {
            boolean[] p = new boolean[out.length];
            if (dFp32) {
                for (int i = 0; i < out.length; i++) p[i] = Float.floatToRawIntBits(out[i]) == FP32_POISON;
            } else {
                short[] raw = d.toShortArray();
                for (int i = 0; i < raw.length; i++) p[i] = raw[i] == BF16_POISON;
            }
            return p;
        }

        private int[] sampleRows(int m, int n, int k, long seed) {
            long perRow = (long) n * k;
            if ((long) m * perRow <= REF_MACS) return java.util.stream.IntStream.range(0, m).toArray();
            int count = (int) Math.max(32, REF_MACS / perRow);
            SplittableRandom r = new SplittableRandom(seed);
            java.util.TreeSet<Integer> set = new java.util.TreeSet<>(List.of(0, m - 1));
            while (set.size() < Math.min(count, m)) set.add(r.nextInt(m));
            return set.stream().mapToInt(Integer::intValue).toArray();
        }

        private static int[] computedRows(boolean[] computed) {
            int c = 0;
            for (boolean b : computed) if (b) c++;
            int[] rows = new int[c];
            for (int r = 0, i = 0; r < computed.length; r++) if (computed[r]) rows[i++] = r;
            return rows;
        }

        private CheckResult judge(CheckContext ctx, String plan, float[] out, boolean[] poisoned, boolean[] computedRow,
                                  int[] checkRows, double[] ref, double[] refUnq, int expectedErr) {
            int written = 0, unwritten = 0, clobbered = 0, nan = 0;
            for (int r = 0; r < computedRow.length; r++)
                for (int j = 0; j < n; j++) {
                    int i = r * n + j;
                    if (computedRow[r]) {
                        if (poisoned[i]) unwritten++;
                        else if (Float.isNaN(out[i])) nan++;
                        written++;
                    } else if (!poisoned[i]) {
                        clobbered++;
                    }
                }
            float[] got = new float[checkRows.length * n];
            for (int i = 0; i < checkRows.length; i++) System.arraycopy(out, checkRows[i] * n, got, i * n, n);
            int errBits = ctx.stream().deviceErrors();
            ctx.stream().clearDeviceErrors();
            CheckResult.Builder b = CheckResult.builder();
            b.metric("plan", plan);
            b.metric("rowsComputed", written / n).metric("rowsChecked", checkRows.length);
            if (checkRows.length > 0) {
                double diff = Metrics.diff(ref, got), diffUnq = Metrics.diff(refUnq, got);
                b.metric("diff", diff).metric("relL2", Metrics.relL2(ref, got)).metric("maxAbs", Metrics.maxAbs(ref, got))
                        .metric("diffVsUnquantised", diffUnq);
                b.gate(diff < DIFF_TOL, "diff " + diff + " >= " + DIFF_TOL + " (or NaN)");
                if (unquantisedGateApplies(checkRows.length, n, k))
                    b.gate(diffUnq < DIFF_UNQUANTISED_TOL, "DeepGEMM gate vs unquantised inputs: diff " + diffUnq + " >= "
                            + DIFF_UNQUANTISED_TOL);
                else
                    b.metric("unquantisedGate", "reported only (rows x N, rows x K or N x K below " + UNQUANTISED_GATE_MIN_COUNT + ")");
            }
            b.metric("nan", nan).metric("unwritten", unwritten).metric("untouchedClobbered", clobbered).metric("errFlags", errBits);
            b.gate(nan == 0, nan + " NaN outputs");
            b.gate(unwritten == 0, unwritten + " outputs still hold the poison");
            b.gate(clobbered == 0, clobbered + " outputs of rows that must stay untouched were written");
            b.gate(errBits == expectedErr, "device error bits 0x" + Integer.toHexString(errBits) + ", expected 0x"
                    + Integer.toHexString(expectedErr));
            return b.build();
        }
    }

    /** Random weights of G groups, quantised per 128x128 block per group. */
    static final class Weights {
        final float[] raw;
        final byte[] q;
        final float[] scales;
        final Fp8Quantizer.Quantized[] perGroup;
        final int n, k;

        private Weights(float[] raw, Fp8Quantizer.Quantized[] perGroup, int n, int k) {
            this.raw = raw;
            this.perGroup = perGroup;
            this.n = n;
            this.k = k;
            int per = n * k, sper = perGroup[0].scales().length;
            q = new byte[perGroup.length * per];
            scales = new float[perGroup.length * sper];
            for (int g = 0; g < perGroup.length; g++) {
                System.arraycopy(perGroup[g].q(), 0, q, g * per, per);
                System.arraycopy(perGroup[g].scales(), 0, scales, g * sper, sper);
            }
        }

        static Weights random(long seed, int groups, int n, int k) {
            float[] raw = RandomTensors.normal(RandomTensors.derive(seed, "b"), groups * n * k, 1.0);
            Fp8Quantizer.Quantized[] qs = new Fp8Quantizer.Quantized[groups];
            for (int g = 0; g < groups; g++)
                qs[g] = Fp8Quantizer.perBlock(Arrays.copyOfRange(raw, g * n * k, (g + 1) * n * k), n, k, false);
            return new Weights(raw, qs, n, k);
        }

        double[] dequantized() {
            return Fp8GemmReference.dequantizeGroups(perGroup, n, k);
        }
    }

    /** A quantiser case: GPU output bitwise equal to {@link Fp8Quantizer}. */
    record QuantCase(boolean perToken, int rows, int k, DType inputType, boolean pow2) implements CheckCase {
        @Override
        public String op() {
            return perToken ? "Fp8Quantize.perTokenGroup" : "Fp8Quantize.perBlock";
        }

        @Override
        public String name() {
            return (perToken ? "m=" : "n=") + rows + " k=" + k + " in=" + inputType + (pow2 ? " pow2" : "");
        }

        @Override
        public CheckResult run(CheckContext ctx) {
            long seed = RandomTensors.derive(ctx.seed(), "x");
            float[] x;
            List<DeviceTensor> owned = new ArrayList<>();
            try {
                DeviceTensor xt;
                if (inputType == DType.BF16) {
                    short[] raw = RandomTensors.normalBf16(seed, rows * k, 2.0);
                    x = Bf16.decode(raw);
                    xt = upload(owned, ctx, raw, rows, k);
                } else {
                    x = RandomTensors.normal(seed, rows * k, 2.0);
                    xt = upload(owned, ctx, x, rows, k);
                }
                Fp8Quantizer.Quantized want = perToken ? Fp8Quantizer.perTokenGroup(x, rows, k, pow2)
                        : Fp8Quantizer.perBlock(x, rows, k, pow2);
                int kb = Fp8Quantizer.ceilDiv(k, 128);
                DeviceTensor q = DeviceTensor.allocate(ctx.device(), DType.FP8_E4M3, rows, k);
                owned.add(q);
                DeviceTensor s = perToken ? DeviceTensor.allocate(ctx.device(), DType.FP32, kb, Fp8Quantizer.alignUp(rows, 4))
                        : DeviceTensor.allocate(ctx.device(), DType.FP32, Fp8Quantizer.ceilDiv(rows, 128), kb);
                owned.add(s);
                deviceSync();
                q.fill(0x7F, ctx.stream());
                s.fill(FP32_POISON, ctx.stream());
                if (perToken) Fp8Quantize.perTokenGroup(xt, q, s, pow2, ctx.stream());
                else Fp8Quantize.perBlock(xt, q, s, pow2, ctx.stream());
                deviceSync();
                byte[] gotQ = q.toByteArray();
                float[] gotS = s.toFloatArray();
                int qMismatch = 0, sMismatch = 0;
                for (int i = 0; i < gotQ.length; i++) if (gotQ[i] != want.q()[i]) qMismatch++;
                for (int i = 0; i < gotS.length; i++)
                    if (Float.floatToRawIntBits(gotS[i]) != Float.floatToRawIntBits(want.scales()[i])) sMismatch++;
                return CheckResult.builder().metric("qMismatches", qMismatch).metric("scaleMismatches", sMismatch)
                        .gate(qMismatch == 0, qMismatch + " of " + gotQ.length + " e4m3 values differ from the Java quantiser")
                        .gate(sMismatch == 0, sMismatch + " of " + gotS.length + " scales differ from the Java quantiser")
                        .build();
            } finally {
                closeAll(owned);
            }
        }
    }
}
