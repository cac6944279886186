package io.kernels4j.bench.moe;

import io.kernels4j.bench.BenchCase;
import io.kernels4j.bench.BenchContext;
import io.kernels4j.bench.BenchOptions;
import io.kernels4j.bench.BenchResult;
import io.kernels4j.bench.BenchSuite;
import io.kernels4j.bench.RandomFill;
import io.kernels4j.bench.Timing;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.gemm.Fp8Gemm;
import io.kernels4j.ops.moe.MoeCombine;
import io.kernels4j.ops.moe.MoeDispatch;
import io.kernels4j.ops.moe.MoeLayout;
import io.kernels4j.ops.moe.SiluAndMul;
import io.kernels4j.validation.RandomTensors;
import io.kernels4j.validation.moe.MoeReference;
import io.kernels4j.validation.moe.MoeRouting;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * MoE benchmarks ({@code kernels4j bench moe}), docs/CONTRACT.md section 5 shapes: T in {128, 4096},
 * H = 7168, K = 8, E = 256, uniform random routing (fresh per run), DeepSeek-V3's expert
 * intermediate size I = 2048 for SiLU-mul and the layer. Contiguous layout aligned to 128; the
 * masked layout sized {@code maxTokensPerExpert = alignUp(max count, 64)} (the bench knows its
 * routing; a decode caller sizes it from its worst case).
 *
 * <p>Bytes (docs/CONTRACT.md section 4: every byte read plus every byte written, padding rows not counted
 * since no kernel touches them): dispatch = x + rowOf + xE rows + scales + mIndices (capacity)
 * (+ counts/slotOf for masked); combine = y rows + rowOf + weights + out; SiLU-mul = gateUp rows +
 * out rows + scales + mIndices; layout = topkIdx + rowOf + counts + offsets. The layer reports
 * FLOPs = 2 * routed rows * (2I*H + H*I); its bytes are the FP8 weights of the experts that get
 * tokens, x and out, and per routed row the intermediate rows written and read once each
 * (xE 2H, gateUp 8I, h 2I, y 4H bytes; scales left out).
 * Layer weights, their scales and the combine's expert outputs are random (N(0,1) e4m3 codes, scales
 * uniform in [2^-11, 2^-9], BF16 N(0,1)), tiled across the tensor by {@link RandomFill}: 11 GB of
 * weights drawn on the host would take minutes, and constant operands may run faster than real ones.
 */
public final class MoeBench implements BenchSuite {
    static final int H = 7168, K = 8, E = 256, I = 2048, ALIGN = 128;

    @Override
    public String family() {
        return "moe";
    }

    enum Op {
        LAYOUT("MoeLayout.compute"),
        DISPATCH_BF16("MoeDispatch.contiguous"),
        DISPATCH_FP8("MoeDispatch.contiguous"),
        DISPATCH_MASKED_FP8("MoeDispatch.masked"),
        COMBINE("MoeCombine.contiguous"),
        COMBINE_MASKED("MoeCombine.masked"),
        SILU_FP8("SiluAndMul.contiguous"),
        LAYER("MoeLayer.contiguous"),
        LAYER_MASKED("MoeLayer.masked");

        final String op;

        Op(String op) {
            this.op = op;
        }
    }

    @Override
    public List<BenchCase> cases(BenchOptions options) {
        List<BenchCase> c = new ArrayList<>();
        for (int t : options.quick() ? new int[] {128} : new int[] {128, 4096})
            for (Op op : Op.values()) c.add(new Case(op, t));
        return c;
    }

    record Case(Op which, int t) implements BenchCase {
        @Override
        public String op() {
            return which.op;
        }

        @Override
        public String name() {
            String out = switch (which) {
                case DISPATCH_BF16 -> " out=BF16";
                case DISPATCH_FP8, DISPATCH_MASKED_FP8 -> " out=FP8";
                case SILU_FP8 -> " I=" + I + " out=FP8";
                case LAYER, LAYER_MASKED -> " I=" + I;
                default -> "";
            };
            return "T=" + t + " H=" + H + " K=" + K + " E=" + E + out;
        }

        @Override
        public BenchResult run(BenchContext ctx) {
            Stream st = ctx.stream();
            int[] idx = MoeRouting.topkIdx(RandomTensors.derive(ctx.seed(), "idx"), t, K, E, MoeRouting.Kind.UNIFORM);
            float[] w = MoeRouting.weights(RandomTensors.derive(ctx.seed(), "w"), t, K);
            MoeReference.Layout ref = MoeReference.layout(idx, t, K, E, ALIGN);
            long pairs = (long) t * K;
            long routed = Arrays.stream(ref.numTokensPerExpert()).asLongStream().sum();
            int cap = (int) MoeLayout.maxPaddedRows(t, K, E, ALIGN);
            int maxTok = (Arrays.stream(ref.numTokensPerExpert()).max().orElse(1) + 63) / 64 * 64;
            int capLd = (cap + 3) / 4 * 4, tokLd = (maxTok + 3) / 4 * 4;
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("capacity", cap);
            extra.put("maxTokensPerExpert", maxTok);
            try (Scope s = Scope.open(ctx.device())) {
                DeviceTensor dIdx = s.allocate(DType.INT32, t, K);
                dIdx.copyFrom(idx);
                DeviceTensor dw = s.allocate(DType.FP32, t, K);
                dw.copyFrom(w);
                DeviceTensor counts = s.allocate(DType.INT32, E), offsets = s.allocate(DType.INT32, E + 1);
                DeviceTensor total = s.allocate(DType.INT32, 1), rowOf = s.allocate(DType.INT32, t, K);
                long wsBytes = MoeLayout.workspaceBytes(t, K, E);
                DeviceTensor ws = s.allocate(DType.INT32, Math.max(1, wsBytes / 4));
                Runnable layout = () -> MoeLayout.compute(dIdx, E, ALIGN, counts, offsets, total, rowOf, ws, st);
                layout.run();
                DeviceTensor x = s.allocate(DType.BF16, t, H);
                x.copyFrom(RandomTensors.normalBf16(RandomTensors.derive(ctx.seed(), "x"), t * H, 1.0));
                st.synchronize();
                Timing timing;
                double bytes, flops = 0;
                switch (which) {
                    case LAYOUT -> {
                        timing = ctx.timer().time(layout);
                        bytes = pairs * 4 * 2 + E * 4 * 2 + 4;
                    }
                    case DISPATCH_BF16, DISPATCH_FP8 -> {
                        boolean fp8 = which == Op.DISPATCH_FP8;
                        DeviceTensor xe = s.allocate(fp8 ? DType.FP8_E4M3 : DType.BF16, cap, H);
                        DeviceTensor sc = fp8 ? s.allocate(DType.FP32, H / 128, capLd) : null;
                        DeviceTensor mIdx = s.allocate(DType.INT32, cap);
                        timing = ctx.timer().time(() -> MoeDispatch.contiguous(x, rowOf, counts, offsets, xe, sc, false, mIdx, st));
                        bytes = (double) t * H * 2 + pairs * 4 + routed * H * (fp8 ? 1 : 2) + (fp8 ? routed * (H / 128) * 4 : 0) + cap * 4L;
                    }
                    case DISPATCH_MASKED_FP8 -> {
                        DeviceTensor xe = s.allocate(DType.FP8_E4M3, E, maxTok, H);
                        DeviceTensor sc = s.allocate(DType.FP32, E, H / 128, tokLd);
                        DeviceTensor mc = s.allocate(DType.INT32, E), slot = s.allocate(DType.INT32, t, K), ov = s.allocate(DType.INT32, 1);
                        timing = ctx.timer().time(() -> MoeDispatch.masked(x, dIdx, rowOf, counts, offsets, xe, sc, false, mc, slot, ov, st));
                        bytes = (double) t * H * 2 + pairs * 4 * 3 + routed * H + routed * (H / 128) * 4 + E * 4 * 2;
                    }
                    case COMBINE -> {
                        DeviceTensor y = s.allocate(DType.BF16, cap, H);
                        RandomFill.fill(y, RandomTensors.derive(ctx.seed(), "y"), 0, 0, st);
                        DeviceTensor out = s.allocate(DType.BF16, t, H);
                        timing = ctx.timer().time(() -> MoeCombine.contiguous(y, rowOf, dw, out, st));
                        bytes = routed * H * 2.0 + pairs * 8 + (double) t * H * 2;
                    }
                    case COMBINE_MASKED -> {
                        DeviceTensor xe = s.allocate(DType.BF16, E, maxTok, H);
                        DeviceTensor mc = s.allocate(DType.INT32, E), slot = s.allocate(DType.INT32, t, K);
                        MoeDispatch.masked(x, dIdx, rowOf, counts, offsets, xe, null, false, mc, slot, null, st);
                        DeviceTensor out = s.allocate(DType.BF16, t, H);
                        timing = ctx.timer().time(() -> MoeCombine.masked(xe, slot, dw, out, st));
                        bytes = routed * H * 2.0 + pairs * 8 + (double) t * H * 2;
                    }
                    case SILU_FP8 -> {
                        DeviceTensor gu = s.allocate(DType.BF16, cap, 2 * I);
                        gu.copyFrom(RandomTensors.normalBf16(RandomTensors.derive(ctx.seed(), "gu"), cap * 2 * I, 1.0));
                        DeviceTensor mIdx = s.allocate(DType.INT32, cap);
                        DeviceTensor xe = s.allocate(DType.BF16, cap, H);
                        MoeDispatch.contiguous(x, rowOf, counts, offsets, xe, null, false, mIdx, st);
                        DeviceTensor hq = s.allocate(DType.FP8_E4M3, cap, I), hs = s.allocate(DType.FP32, I / 128, capLd);
                        timing = ctx.timer().time(() -> SiluAndMul.contiguous(gu, mIdx, hq, hs, false, st));
                        bytes = routed * (2.0 * I * 2 + I + (I / 128) * 4) + cap * 4.0;
                    }
                    default -> {
                        boolean masked = which == Op.LAYER_MASKED;
                        DeviceTensor w1 = s.allocate(DType.FP8_E4M3, E, 2 * I, H), w2 = s.allocate(DType.FP8_E4M3, E, H, I);
                        RandomFill.fill(w1, RandomTensors.derive(ctx.seed(), "w1"), 0, 0, st);
                        RandomFill.fill(w2, RandomTensors.derive(ctx.seed(), "w2"), 0, 0, st);
                        DeviceTensor w1s = s.allocate(DType.FP32, E, 2 * I / 128, H / 128), w2s = s.allocate(DType.FP32, E, H / 128, I / 128);
                        RandomFill.fill(w1s, RandomTensors.derive(ctx.seed(), "w1s"), 0x1p-11, 0x1p-9, st);
                        RandomFill.fill(w2s, RandomTensors.derive(ctx.seed(), "w2s"), 0x1p-11, 0x1p-9, st);
                        long rows = masked ? (long) E * maxTok : cap;
                        int ld = masked ? tokLd : capLd;
                        long[] lead = masked ? new long[] {E, maxTok} : new long[] {cap};
                        DeviceTensor xq = s.allocate(DType.FP8_E4M3, with(lead, H));
                        DeviceTensor xs = s.allocate(DType.FP32, masked ? new long[] {E, H / 128, ld} : new long[] {H / 128, ld});
                        DeviceTensor gu = s.allocate(DType.BF16, with(lead, 2 * I));
                        DeviceTensor hq = s.allocate(DType.FP8_E4M3, with(lead, I));
                        DeviceTensor hs = s.allocate(DType.FP32, masked ? new long[] {E, I / 128, ld} : new long[] {I / 128, ld});
                        DeviceTensor y = s.allocate(DType.BF16, with(lead, H));
                        DeviceTensor out = s.allocate(DType.BF16, t, H);
                        DeviceTensor mIdx = masked ? null : s.allocate(DType.INT32, cap);
                        DeviceTensor mc = masked ? s.allocate(DType.INT32, E) : null;
                        DeviceTensor slot = masked ? s.allocate(DType.INT32, t, K) : null;
                        int expectedM = (int) ((pairs + E - 1) / E);
                        Runnable layer = masked ? () -> {
                            layout.run();
                            MoeDispatch.masked(x, dIdx, rowOf, counts, offsets, xq, xs, false, mc, slot, null, st);
                            Fp8Gemm.groupedMasked(xq, xs, w1, w1s, null, gu, mc, expectedM, st);
                            SiluAndMul.masked(gu, mc, hq, hs, false, st);
                            Fp8Gemm.groupedMasked(hq, hs, w2, w2s, null, y, mc, expectedM, st);
                            MoeCombine.masked(y, slot, dw, out, st);
                        } : () -> {
                            layout.run();
                            MoeDispatch.contiguous(x, rowOf, counts, offsets, xq, xs, false, mIdx, st);
                            Fp8Gemm.groupedContiguous(xq, xs, w1, w1s, null, gu, mIdx, st);
                            SiluAndMul.contiguous(gu, mIdx, hq, hs, false, st);
                            Fp8Gemm.groupedContiguous(hq, hs, w2, w2s, null, y, mIdx, st);
                            MoeCombine.contiguous(y, rowOf, dw, out, st);
                        };
                        timing = ctx.timer().time(layer);
                        flops = 2.0 * routed * (2.0 * I * H + (double) H * I);
                        long active = Arrays.stream(ref.numTokensPerExpert()).filter(n -> n > 0).count();
                        double weights = active * (2.0 * I * H + (double) H * I);
                        bytes = weights + (double) t * H * 2 * 2 + routed * (6.0 * H + 10.0 * I); // per row: xE w+r, gateUp w+r, h w+r, y w+r
                        extra.put("rows", rows);
                        extra.put("activeExperts", active);
                    }
                }
                st.synchronize();
                extra.put("routedPairs", routed);
                return new BenchResult(op(), name(), timing, flops, bytes, extra);
            }
        }
    }

    static long[] with(long[] lead, long last) {
        long[] o = Arrays.copyOf(lead, lead.length + 1);
        o[lead.length] = last;
        return o;
    }
}
