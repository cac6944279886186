package io.kernels4j.bench.mla;

import io.kernels4j.bench.BenchCase;
import io.kernels4j.bench.BenchContext;
import io.kernels4j.bench.BenchOptions;
import io.kernels4j.bench.BenchResult;
import io.kernels4j.bench.BenchSuite;
import io.kernels4j.bench.Timing;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.mla.MlaDecode;
import io.kernels4j.validation.RandomTensors;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * MLA decode benchmarks (docs/CONTRACT.md section 5): b = 128, sk in {4096, 8192}, hQ in {16, 32, 64, 128}, sQ in {1, 2}
 * (causal), hKV = 1, page size 64, BF16 cache, fixed lengths (every request sk) and variable lengths (uniform in
 * [sk/2, 3sk/2], so the mean is about sk). The schedule is computed once outside the timed region, as in real
 * decoding where it is shared by every layer. FLOPs = 2 * b * sQ * hQ * sk * (576 + 512), bytes =
 * b * sk * 576 * 2 + q + out (sk = mean seqlen).
 */
public final class MlaDecodeBench implements BenchSuite {
    static final int B = 128, PAGE = 64;
    static final float SCALE = 0.1352338f;

    @Override
    public String family() {
        return "mla";
    }

    @Override
    public List<BenchCase> cases(BenchOptions options) {
        List<BenchCase> out = new ArrayList<>();
        int[] sks = options.quick() ? new int[] {4096} : new int[] {4096, 8192};
        int[] hqs = options.quick() ? new int[] {16, 128} : new int[] {16, 32, 64, 128};
        for (boolean varlen : new boolean[] {false, true})
            for (int sk : sks)
                for (int hQ : hqs)
                    for (int sQ : new int[] {1, 2}) {
                        String name = "b=" + B + " sk=" + sk + (varlen ? " (var)" : "") + " hQ=" + hQ + " sQ=" + sQ;
                        out.add(new BenchCase() {
                            @Override public String op() { return "MlaDecode.forward"; }
                            @Override public String name() { return name; }
                            @Override public BenchResult run(BenchContext ctx) { return bench(ctx, name, sk, hQ, sQ, varlen); }
                        });
                    }
        return out;
    }

    static BenchResult bench(BenchContext ctx, String name, int sk, int hQ, int sQ, boolean varlen) {
        Stream st = ctx.stream();
        int[] seqlens = varlen ? RandomTensors.uniformInts(ctx.seed(), B, sk / 2, sk * 3 / 2 + 1) : filled(sk);
        long totalKeys = 0;
        int maxPages = 0;
        for (int s : seqlens) {
            totalKeys += s;
            maxPages = Math.max(maxPages, (s + PAGE - 1) / PAGE);
        }
        int numBlocks = 0;
        for (int s : seqlens) numBlocks += (s + PAGE - 1) / PAGE;
        int[] perm = RandomTensors.permutation(ctx.seed() ^ 1, numBlocks);
        int[] table = new int[B * maxPages];
        int next = 0;
        for (int r = 0; r < B; r++)
            for (int blk = 0; blk < (seqlens[r] + PAGE - 1) / PAGE; blk++) table[r * maxPages + blk] = perm[next++];
        int sms = ctx.device().smCount();
        try (Scope scope = Scope.open(ctx.device())) {
            DeviceTensor q = scope.allocate(DType.BF16, B, sQ, hQ, 576);
            q.copyFrom(RandomTensors.normalBf16(ctx.seed() ^ 2, B * sQ * hQ * 576, 1.0));
            DeviceTensor cache = scope.allocate(DType.BF16, numBlocks, PAGE, 1, 576);
            // Random (never zero) cache contents: one random chunk of pages, copied over the whole cache.
            int chunk = Math.min(numBlocks, 64);
            DeviceTensor src = cache.slice(0, chunk);
            src.copyFrom(RandomTensors.normalBf16(ctx.seed() ^ 3, chunk * PAGE * 576, 1.0));
            for (int p = chunk; p < numBlocks; p += chunk) {
                int n = Math.min(chunk, numBlocks - p);
                cache.slice(p, p + n).copyFrom(src.slice(0, n), st);
            }
            DeviceTensor bt = scope.allocate(DType.INT32, B, maxPages);
            bt.copyFrom(table);
            DeviceTensor sl = scope.allocate(DType.INT32, B);
            sl.copyFrom(seqlens);
            DeviceTensor sched = scope.allocate(DType.INT32, MlaDecode.scheduleInts(B, sms, 0));
            DeviceTensor ws = scope.allocate(DType.FP32, (MlaDecode.workspaceBytes(B, sQ, hQ, sms, 0) + 3) / 4);
            DeviceTensor out = scope.allocate(DType.BF16, B, sQ, hQ, 512);
            DeviceTensor lse = scope.allocate(DType.FP32, B, hQ, sQ);
            MlaDecode.Schedule s = MlaDecode.schedule(sl, PAGE, maxPages, sms, 0, sched, st);
            boolean causal = sQ > 1;
            Timing t = ctx.timer().time(() -> MlaDecode.forward(q, cache, bt, sl, s, SCALE, causal, ws, out, lse, st));
            st.checkDeviceErrors();
            double meanSk = (double) totalKeys / B;
            double flops = 2.0 * B * sQ * hQ * meanSk * (576 + 512);
            double bytes = B * meanSk * 576 * 2 + (double) q.byteSize() + out.byteSize();
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("meanSeqlen", meanSk);
            extra.put("pageSize", PAGE);
            extra.put("causal", causal);
            extra.put("plan", MlaDecode.plan(q, cache, st)); // the kernel family and configuration this row ran
            return new BenchResult("MlaDecode.forward", name, t, flops, bytes, extra);
        }
    }

    static int[] filled(int v) {
        int[] a = new int[B];
        java.util.Arrays.fill(a, v);
        return a;
    }
}
