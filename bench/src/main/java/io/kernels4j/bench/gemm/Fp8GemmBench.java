package io.kernels4j.bench.gemm;

import io.kernels4j.bench.BenchCase;
import io.kernels4j.bench.BenchContext;
import io.kernels4j.bench.BenchOptions;
import io.kernels4j.bench.BenchResult;
import io.kernels4j.bench.BenchSuite;
import io.kernels4j.bench.DatasheetPeaks;
import io.kernels4j.bench.KernelTimer;
import io.kernels4j.bench.Timing;
import io.kernels4j.bench.cublas.GemmPeers;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.gemm.Fp8Gemm;
import io.kernels4j.ops.gemm.Fp8Quantize;
import io.kernels4j.validation.RandomTensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * FP8 GEMM benchmarks on docs/CONTRACT.md section 5's DeepSeek-V3 shapes: dense (M in {64, 128, 4096} x six
 * (N, K)), grouped contiguous (4 and 8 experts of 1024 rows each, 128-aligned) and grouped masked
 * (4 and 8 experts, maxM 256, maskedM 128 each) of (N, K) in {(4096, 7168), (7168, 2048)}.
 *
 * <p>Inputs are fresh normal random values (FP32 from the run's seed), quantised on the GPU by
 * {@link Fp8Quantize} before timing. FLOPs = 2 * M * N * K with M the real rows; bytes = A + B +
 * scales + D, with A and D counted for the real rows only. The fraction of the FP8 dense peak uses
 * the device's datasheet figure ({@link DatasheetPeaks}, labelled as such; absent for unknown
 * devices); the bandwidth fraction uses the theoretical DRAM bandwidth from the memory clock and bus
 * width.
 *
 * <p>Dense cases whose inputs fit in L2 rotate over copies of them ({@link KernelTimer#rotationSets}),
 * and carry cuBLASLt's FP8 block-scaled and BF16 GEMMs on the same shapes as peer columns
 * ({@link GemmPeers}: times, ratios, and the agreement of cuBLASLt's FP8 output with ours).
 */
public final class Fp8GemmBench implements BenchSuite {

    static final int[] DENSE_M = {64, 128, 4096};
    static final int[][] DENSE_NK = {{2112, 7168}, {24576, 1536}, {32768, 512}, {7168, 16384}, {4096, 7168}, {7168, 2048}};
    static final int[][] GROUPED_NK = {{4096, 7168}, {7168, 2048}};
    static final int CONTIGUOUS_ROWS_PER_EXPERT = 1024;
    static final int MASKED_MAX_M = 256;
    static final int MASKED_M = 128;

    @Override
    public String family() {
        return "gemm";
    }

    @Override
    public List<BenchCase> cases(BenchOptions options) {
        List<BenchCase> cases = new ArrayList<>();
        int[] ms = options.quick() ? new int[] {128} : DENSE_M;
        for (int[] nk : DENSE_NK)
            for (int m : ms) cases.add(new GemmBenchCase("dense", 1, m, nk[0], nk[1]));
        for (int g : options.quick() ? new int[] {4} : new int[] {4, 8})
            for (int[] nk : GROUPED_NK) {
                cases.add(new GemmBenchCase("groupedContiguous", g, CONTIGUOUS_ROWS_PER_EXPERT, nk[0], nk[1]));
                cases.add(new GemmBenchCase("groupedMasked", g, MASKED_M, nk[0], nk[1]));
            }
        return cases;
    }

    /** One timed shape. {@code m} is M (dense), rows per expert (contiguous) or maskedM (masked). */
    record GemmBenchCase(String form, int groups, int m, int n, int k) implements BenchCase {
        @Override
        public String op() {
            return "Fp8Gemm." + form;
        }

        @Override
        public String name() {
            return switch (form) {
                case "dense" -> "m=" + m + " n=" + n + " k=" + k;
                case "groupedContiguous" -> "experts=" + groups + " m/expert=" + m + " n=" + n + " k=" + k;
                default -> "experts=" + groups + " maskedM=" + m + " maxM=" + MASKED_MAX_M + " n=" + n + " k=" + k;
            };
        }

        @Override
        public BenchResult run(BenchContext ctx) {
            Stream s = ctx.stream();
            List<DeviceTensor> owned = new ArrayList<>();
            try {
                int kb = ceilDiv(k, 128), nb = ceilDiv(n, 128);
                boolean masked = form.equals("groupedMasked");
                int aRows = masked ? groups * MASKED_MAX_M : groups * m; // dense: groups == 1
                int realRows = groups * m;
                // B: [G, N, K] quantised per group.
                DeviceTensor b = alloc(owned, ctx, DType.FP8_E4M3, groups, n, k);
                DeviceTensor sb = alloc(owned, ctx, DType.FP32, groups, nb, kb);
                for (int g = 0; g < groups; g++)
                    quantizeRandom(owned, ctx, RandomTensors.derive(ctx.seed(), "b" + g), n, k,
                            b.slice(g, g + 1).reshape(n, k), sb.slice(g, g + 1).reshape(nb, kb), false);
                // A: [rows, K] (masked: [G, maxM, K] with per-group MN-major scales).
                DeviceTensor a, sa;
                if (masked) {
                    int ma = align4(MASKED_MAX_M);
                    a = alloc(owned, ctx, DType.FP8_E4M3, groups, MASKED_MAX_M, k);
                    sa = alloc(owned, ctx, DType.FP32, groups, kb, ma);
                    for (int g = 0; g < groups; g++)
                        quantizeRandom(owned, ctx, RandomTensors.derive(ctx.seed(), "a" + g), MASKED_MAX_M, k,
                                a.slice(g, g + 1).reshape(MASKED_MAX_M, k), sa.slice(g, g + 1).reshape(kb, ma), true);
                } else {
                    a = alloc(owned, ctx, DType.FP8_E4M3, aRows, k);
                    sa = alloc(owned, ctx, DType.FP32, kb, align4(aRows));
                    quantizeRandom(owned, ctx, RandomTensors.derive(ctx.seed(), "a"), aRows, k, a, sa, true);
                }
                DeviceTensor d = masked ? alloc(owned, ctx, DType.BF16, groups, MASKED_MAX_M, n) : alloc(owned, ctx, DType.BF16, aRows, n);
                Runnable launch;
                int sets = 1;
                java.util.function.IntConsumer rotating = null;
                DeviceTensor[] as = null, sas = null, bs = null, sbs = null;
                switch (form) {
                    case "dense" -> {
                        // Rotation: copies of the inputs at other addresses when one set fits in L2.
                        long setBytes = (long) aRows * k + (long) n * k + 4L * kb * (align4(aRows) + nb);
                        sets = KernelTimer.rotationSets(setBytes, ctx.device().l2CacheBytes(), 8);
                        as = new DeviceTensor[sets];
                        sas = new DeviceTensor[sets];
                        bs = new DeviceTensor[sets];
                        sbs = new DeviceTensor[sets];
                        as[0] = a;
                        sas[0] = sa;
                        bs[0] = b.reshape(n, k);
                        sbs[0] = sb.reshape(nb, kb);
                        for (int i = 1; i < sets; i++) {
                            as[i] = copyOf(owned, ctx, as[0]);
                            sas[i] = copyOf(owned, ctx, sas[0]);
                            bs[i] = copyOf(owned, ctx, bs[0]);
                            sbs[i] = copyOf(owned, ctx, sbs[0]);
                        }
                        DeviceTensor[] fa = as, fsa = sas, fb = bs, fsb = sbs;
                        launch = () -> Fp8Gemm.dense(fa[0], fsa[0], fb[0], fsb[0], null, d, s);
                        rotating = i -> Fp8Gemm.dense(fa[i], fsa[i], fb[i], fsb[i], null, d, s);
                    }
                    case "groupedContiguous" -> {
                        int[] idx = new int[aRows];
                        for (int r = 0; r < aRows; r++) idx[r] = r / m;
                        DeviceTensor mIndices = alloc(owned, ctx, DType.INT32, aRows);
                        mIndices.copyFrom(idx);
                        launch = () -> Fp8Gemm.groupedContiguous(a, sa, b, sb, null, d, mIndices, s);
                    }
                    default -> {
                        int[] mm = new int[groups];
                        Arrays.fill(mm, m);
                        DeviceTensor maskedM = alloc(owned, ctx, DType.INT32, groups);
                        maskedM.copyFrom(mm);
                        launch = () -> Fp8Gemm.groupedMasked(a, sa, b, sb, null, d, maskedM, m, s);
                    }
                }
                s.synchronize();
                Timing t = rotating == null ? ctx.timer().time(launch) : ctx.timer().time(sets, rotating);
                double flops = 2.0 * realRows * n * k;
                double scaleBytes = 4.0 * ((double) kb * (masked ? groups * align4(MASKED_MAX_M) : align4(aRows)) + (double) groups * nb * kb);
                double bytes = (double) realRows * k + (double) groups * n * k + scaleBytes + 2.0 * realRows * n;
                Map<String, Object> extra = new LinkedHashMap<>();
                // The kernel configuration this row ran (family, tile, stages, cluster, grid).
                Fp8Gemm.Form planForm = switch (form) {
                    case "dense" -> Fp8Gemm.Form.DENSE;
                    case "groupedContiguous" -> Fp8Gemm.Form.GROUPED_CONTIGUOUS;
                    default -> Fp8Gemm.Form.GROUPED_MASKED;
                };
                extra.put("plan", Fp8Gemm.plan(planForm, masked ? MASKED_MAX_M : aRows, n, k, groups, masked ? m : 0,
                        DType.BF16, s));
                double tflops = flops / (t.medianMs() * 1e-3) / 1e12;
                double gbps = bytes / (t.medianMs() * 1e-3) / 1e9;
                DatasheetPeaks.lookup(ctx.device().name()).flatMap(DatasheetPeaks::fp8).ifPresent(peak ->
                        extra.put("fracFp8Peak(datasheet)", tflops * 1e12 / peak));
                double bw = ctx.device().theoreticalBandwidth();
                if (bw > 0) extra.put("fracTheoreticalBW", gbps * 1e9 / bw);
                extra.put("spread", t.spread());
                if (sets > 1) extra.put("inputSets", sets);
                if (form.equals("dense")) {
                    DeviceTensor[] fa = as, fsa = sas, fb = bs, fsb = sbs;
                    extra.putAll(GemmPeers.denseFp8(ctx, t, sets, i -> fa[i], i -> fsa[i], i -> fb[i], i -> fsb[i], d, launch));
                }
                return new BenchResult(op(), name(), t, flops, bytes, extra);
            } finally {
                for (DeviceTensor t : owned) t.close();
            }
        }

        private static int ceilDiv(int v, int d) {
            return (v + d - 1) / d;
        }

        private static int align4(int v) {
            return (v + 3) / 4 * 4;
        }

        /** A stream-ordered device copy of {@code src} (same dtype and shape, another address). */
        private static DeviceTensor copyOf(List<DeviceTensor> owned, BenchContext ctx, DeviceTensor src) {
            DeviceTensor t = alloc(owned, ctx, src.dtype(), src.shape());
            t.copyFrom(src, ctx.stream());
            return t;
        }

        private static DeviceTensor alloc(List<DeviceTensor> owned, BenchContext ctx, DType dtype, long... shape) {
            DeviceTensor t = DeviceTensor.allocate(ctx.device(), dtype, shape);
            owned.add(t);
            return t;
        }

        /** Fresh N(0, 1) FP32 values quantised on the GPU into q and its scales (1x128 or 128x128). */
        private static void quantizeRandom(List<DeviceTensor> owned, BenchContext ctx, long seed, int rows, int k,
                                           DeviceTensor q, DeviceTensor scales, boolean perToken) {
            try (DeviceTensor x = DeviceTensor.allocate(ctx.device(), DType.FP32, rows, k)) {
                x.copyFrom(RandomTensors.normal(seed, rows * k, 1.0)); // legacy-stream copy: wait for it below
                io.kernels4j.ops.Cuda.check(io.kernels4j.bindings.cuda.CudaRuntime.cudaDeviceSynchronize(), "cudaDeviceSynchronize");
                if (perToken) Fp8Quantize.perTokenGroup(x, q, scales, false, ctx.stream());
                else Fp8Quantize.perBlock(x, q, scales, false, ctx.stream());
                ctx.stream().synchronize(); // x is freed when this block ends
            }
        }
    }
}
