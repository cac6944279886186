package io.kernels4j.validation.mla;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.mla.MlaDecode;
import io.kernels4j.ops.mla.MlaKvCache;
import io.kernels4j.validation.CheckCase;
import io.kernels4j.validation.EmulatorSizes;
import io.kernels4j.validation.CheckContext;
import io.kernels4j.validation.CheckResult;
import io.kernels4j.validation.CheckSuite;
import io.kernels4j.validation.Metrics;
import io.kernels4j.validation.RandomTensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * GPU checks of MLA decoding (docs/CONTRACT.md section 3) against {@link MlaReference}. Each case writes the cache
 * through {@link MlaKvCache} into a poisoned cache (BF16 NaN / FP8 0xFF bytes, so every slot no request may
 * read is NaN) and gates the write bit for bit against the Java encoder; then schedules, decodes and gates:
 * out {@code diff < 1e-5}, {@code |lse - ref| <= 1e-4 * max(1, |ref|)} (+inf exactly where no key is visible),
 * every output written (outputs poisoned with a NaN sentinel), no NaN, no device error bits, bitwise
 * identical on a second run, and in fixed-split mode request 0 bitwise identical in a different batch.
 * The case list trims docs/CONTRACT.md's cross product to one that still covers every value (b in {1, 3, 64}, sQ in
 * {1, 2}, hQ in {1, 16, 128}, hKV in {1, 2}, seqlens 0, 1, 63, 64, 65, >= 8192 and random mixes, page sizes
 * 16/32/64/80, fixed splits, FP8, bad page ids and lengths in both cache formats) at a bearable FP64 reference cost.
 */
public final class MlaChecks implements CheckSuite {
    /** The MLA check suite. */
    public MlaChecks() {}

    /** The softmax scale of every case: DeepSeek-V3's 192^-0.5 * mscale^2. */
    public static final float SCALE = 0.1352338f;
    static final short OUT_POISON = (short) 0x7FA1; // a NaN pattern the kernel never produces
    static final int LSE_POISON = 0x7FA00001;

    /**
     * One case: a fixed list of seqlens, or a random mix in [0, mixMax] whose first values are 0, 1, 63, 64, 65.
     *
     * @param label the case's name in reports
     * @param b the requests
     * @param sQ the query tokens per request
     * @param hQ the query heads
     * @param hKV the KV heads
     * @param pageSize the tokens per cache page
     * @param seqlens the sequence length of each request, or null for a random mix
     * @param mixMax the largest seqlen of a random mix
     * @param fixedSplits the fixed number of KV splits per request, 0 for the scheduler's choice
     * @param fp8 whether the cache is FP8 (656-byte rows, {@link MlaFp8Row}) rather than BF16
     * @param causal whether queries with {@code sQ > 1} are masked causally (end-aligned)
     * @param badData whether the case feeds out-of-range page ids and seqlens on purpose
     */
    public record Spec(String label, int b, int sQ, int hQ, int hKV, int pageSize, int[] seqlens, int mixMax, int fixedSplits,
            boolean fp8, boolean causal, boolean badData) {
        int[] seqlens(long seed) {
            if (seqlens != null) return seqlens.clone();
            int[] s = RandomTensors.uniformInts(seed ^ 0x5EED, b, 0, mixMax + 1);
            int[] edge = {0, 1, 63, 64, 65};
            for (int i = 0; i < Math.min(b, edge.length); i++) s[i] = edge[i];
            return s;
        }
    }

    static Spec c(String label, int b, int sQ, int hQ, int hKV, int page, int[] seqlens, int mixMax, int fixed, boolean fp8,
            boolean causal) {
        // Emulator-sized (EmulatorSizes): fewer requests, shorter sequences; remainders modulo the
        // 64-key tile and the page kept.
        int eb = EmulatorSizes.dim(b, 8, 1), emix = EmulatorSizes.dim(mixMax, 256, 64);
        int[] es = seqlens == null ? null : Arrays.stream(seqlens).map(x -> EmulatorSizes.dim(x, 512, 64)).toArray();
        if (eb != b || emix != mixMax || (es != null && !Arrays.equals(es, seqlens)))
            label += " (emulator-sized: b=" + eb + (es != null ? " seqlens=" + Arrays.toString(es) : " mix<=" + emix) + ")";
        return new Spec(label, eb, sQ, hQ, hKV, page, es, emix, fixed, fp8, causal, false);
    }

    static final List<Spec> SPECS = List.of(
            c("b=1 sQ=1 hQ=1 hKV=1 page=64 seqlen=1", 1, 1, 1, 1, 64, new int[] {1}, 0, 0, false, false),
            c("b=3 sQ=1 hQ=16 hKV=1 page=64 seqlens=0,63,65", 3, 1, 16, 1, 64, new int[] {0, 63, 65}, 0, 0, false, false),
            c("b=3 sQ=2 hQ=16 hKV=1 page=64 causal seqlens=1,64,65", 3, 2, 16, 1, 64, new int[] {1, 64, 65}, 0, 0, false, true),
            c("b=3 sQ=2 hQ=16 hKV=2 page=16 causal seqlens=0,64,63", 3, 2, 16, 2, 16, new int[] {0, 64, 63}, 0, 0, false, true),
            c("b=3 sQ=2 hQ=1 hKV=1 page=32 non-causal seqlens=65,1,200", 3, 2, 1, 1, 32, new int[] {65, 1, 200}, 0, 0, false, false),
            c("b=1 sQ=1 hQ=128 hKV=1 page=64 seqlen=8192", 1, 1, 128, 1, 64, new int[] {8192}, 0, 0, false, false),
            c("b=1 sQ=2 hQ=128 hKV=1 page=64 causal seqlen=8193", 1, 2, 128, 1, 64, new int[] {8193}, 0, 0, false, true),
            c("b=64 sQ=1 hQ=16 hKV=1 page=64 mix<=2048", 64, 1, 16, 1, 64, null, 2048, 0, false, false),
            c("b=64 sQ=2 hQ=16 hKV=2 page=32 causal mix<=1024", 64, 2, 16, 2, 32, null, 1024, 0, false, true),
            c("b=64 sQ=1 hQ=128 hKV=1 page=64 mix<=512", 64, 1, 128, 1, 64, null, 512, 0, false, false),
            c("b=3 sQ=1 hQ=128 hKV=2 page=32 seqlens=64,0,1000 fixed=4", 3, 1, 128, 2, 32, new int[] {64, 0, 1000}, 0, 4, false, false),
            c("b=64 sQ=1 hQ=16 hKV=1 page=64 mix<=2048 fixed=3", 64, 1, 16, 1, 64, null, 2048, 3, false, false),
            c("b=3 sQ=2 hQ=128 hKV=1 page=64 causal mix<=3000 fixed=2", 3, 2, 128, 1, 64, null, 3000, 2, false, true),
            c("fp8 b=3 sQ=1 hQ=16 hKV=1 page=64 seqlens=65,0,200", 3, 1, 16, 1, 64, new int[] {65, 0, 200}, 0, 0, true, false),
            c("fp8 b=64 sQ=2 hQ=16 hKV=1 page=64 causal mix<=1024", 64, 2, 16, 1, 64, null, 1024, 0, true, true),
            c("fp8 b=1 sQ=1 hQ=128 hKV=1 page=64 seqlen=9000", 1, 1, 128, 1, 64, new int[] {9000}, 0, 0, true, false),
            c("fp8 b=3 sQ=2 hQ=16 hKV=2 page=16 causal seqlens=1,64,300 fixed=2", 3, 2, 16, 2, 16, new int[] {1, 64, 300}, 0, 2, true, true),
            // Page 80: 64-key tiles straddle pages (the Hopper family reads page ids per 16-key chunk).
            c("b=3 sQ=2 hQ=16 hKV=1 page=80 causal seqlens=81,160,239", 3, 2, 16, 1, 80, new int[] {81, 160, 239}, 0, 0, false, true),
            c("fp8 b=3 sQ=1 hQ=128 hKV=1 page=80 seqlens=79,0,400 fixed=3", 3, 1, 128, 1, 80, new int[] {79, 0, 400}, 0, 3, true, false),
            new Spec("bad data: page id out of range, seqlen -5, seqlen past the table", 3, 1, 16, 1, 64,
                    new int[] {100, -5, 1_000_000}, 0, 0, false, false, true),
            new Spec("fp8 bad data: page id out of range, seqlen -5, seqlen past the table", 3, 1, 16, 1, 64,
                    new int[] {100, -5, 1_000_000}, 0, 0, true, false, true));

    @Override
    public String family() {
        return "mla";
    }

    @Override
    public List<CheckCase> cases() {
        List<CheckCase> out = new ArrayList<>();
        for (Spec s : SPECS)
            out.add(new CheckCase() {
                @Override public String op() { return "MlaDecode.forward"; }
                @Override public String name() { return s.label(); }
                @Override public CheckResult run(CheckContext ctx) { return runCase(s, ctx); }
            });
        return out;
    }

    /** Host side of one case: inputs, the expected cache image and what the reference sees. */
    public static final class Problem {
        /** Filled by {@link MlaChecks#build}. */
        Problem() {}

        /** The requests. */
        public int b;
        /** The block-table entries per request. */
        public int maxBlocks;
        /** The pages of the cache. */
        public int numBlocks;
        /** The tokens written into the cache ({@code kvNew}'s rows). */
        public int numTokens;
        /** The sequence length of each request, as given to the op. */
        public int[] seqlens;
        /** The sequence length of each request as the reference sees it (bad data clamped as the kernel does). */
        public int[] refSeqlens;
        /** {@code [b, maxBlocks]}: the page of each block of each request; unused entries hold garbage. */
        public int[] table;
        /** {@code [numTokens]}: the cache slot ({@code page * pageSize + offset}) of each new token, -1 to skip it. */
        public int[] slots;
        /** BF16 {@code [b, sQ, hQ, 576]}: the queries. */
        public short[] q;
        /** BF16 {@code [numTokens, hKV, 576]}: the rows written into the cache. */
        public short[] kvNew;
        /** BF16 {@code [numBlocks, pageSize, hKV, 576]}: the cache image the writes must produce (null for FP8). */
        public short[] cacheBf16;
        /** {@code [numBlocks, pageSize, hKV, 656]}: the FP8 cache image the writes must produce (null for BF16). */
        public byte[] cacheFp8;
        /** The device error bits the case must raise (0 unless {@link Spec#badData()}). */
        public int expectedErrors;
    }

    /**
     * The inputs of a case and the cache image the writes must produce (also used by {@code kernels4j dump}).
     *
     * @param s the case
     * @param seed the seed of the random inputs
     * @return the problem
     */

    public static Problem build(Spec s, long seed) {
        Problem p = new Problem();
        p.b = s.b();
        p.seqlens = s.seqlens(seed);
        int page = s.pageSize(), hKV = s.hKV();
        if (s.badData()) {
            // request 0: 100 keys whose second page id is out of range (those keys are skipped: the reference
            // sees 64); request 1: seqlen -5 (-> 0); request 2: seqlen past the table (-> 2 pages).
            p.maxBlocks = 2;
            p.numBlocks = 4;
            p.table = new int[] {1, p.numBlocks + 7, 123456, -99, 2, 3};
            p.refSeqlens = new int[] {64, 0, 2 * page};
            p.expectedErrors = Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE | Kernels4jNative.K4J_DEVERR_LENGTH_OUT_OF_RANGE;
            p.numTokens = p.numBlocks * page; // fill every slot: nothing is poisoned here
            p.slots = new int[p.numTokens];
            for (int t = 0; t < p.numTokens; t++) p.slots[t] = t;
        } else {
            int need = 0, maxPages = 0;
            for (int v : p.seqlens) {
                need += (v + page - 1) / page;
                maxPages = Math.max(maxPages, (v + page - 1) / page);
            }
            p.maxBlocks = maxPages + 2;
            p.numBlocks = need + 4; // 4 pages nobody owns
            int[] perm = RandomTensors.permutation(seed ^ 1, p.numBlocks);
            // unused entries hold garbage: the kernel must never read them
            p.table = RandomTensors.uniformInts(seed ^ 2, p.b * p.maxBlocks, -1_000_000, 1_000_000_000);
            int next = 0, tokens = 0;
            for (int r = 0; r < p.b; r++) {
                for (int blk = 0; blk < (p.seqlens[r] + page - 1) / page; blk++) p.table[r * p.maxBlocks + blk] = perm[next++];
                tokens += p.seqlens[r];
            }
            p.refSeqlens = p.seqlens;
            p.numTokens = tokens + 3; // + 3 tokens with slot -1
            p.slots = new int[p.numTokens];
            int t = 0;
            for (int r = 0; r < p.b; r++)
                for (int j = 0; j < p.seqlens[r]; j++) p.slots[t++] = p.table[r * p.maxBlocks + j / page] * page + j % page;
            while (t < p.numTokens) p.slots[t++] = -1;
        }
        p.kvNew = RandomTensors.normalBf16(seed ^ 3, p.numTokens * hKV * MlaReference.DIM, 1.0);
        int rows = p.numBlocks * page * hKV;
        if (s.fp8()) {
            p.cacheFp8 = new byte[rows * MlaFp8Row.ROW_BYTES];
            Arrays.fill(p.cacheFp8, (byte) 0xFF); // e4m3 NaN, FP32 NaN scales, BF16 NaN rope
            for (int t = 0; t < p.numTokens; t++)
                if (p.slots[t] >= 0)
                    for (int h = 0; h < hKV; h++)
                        MlaFp8Row.encode(p.kvNew, (t * hKV + h) * MlaReference.DIM, p.cacheFp8,
                                (p.slots[t] * hKV + h) * MlaFp8Row.ROW_BYTES);
        } else {
            p.cacheBf16 = new short[rows * MlaReference.DIM];
            Arrays.fill(p.cacheBf16, (short) 0xFFFF); // BF16 NaN
            for (int t = 0; t < p.numTokens; t++)
                if (p.slots[t] >= 0)
                    System.arraycopy(p.kvNew, t * hKV * MlaReference.DIM, p.cacheBf16, p.slots[t] * hKV * MlaReference.DIM,
                            hKV * MlaReference.DIM);
        }
        p.q = RandomTensors.normalBf16(seed ^ 4, p.b * s.sQ() * s.hQ() * MlaReference.DIM, 1.0);
        return p;
    }

    static CheckResult runCase(Spec s, CheckContext ctx) {
        Problem p = build(s, ctx.seed());
        Stream st = ctx.stream();
        int b = p.b, sQ = s.sQ(), hQ = s.hQ(), hKV = s.hKV(), page = s.pageSize();
        int sms = ctx.device().smCount();
        CheckResult.Builder res = CheckResult.builder();
        try (Scope scope = Scope.open(ctx.device())) {
            DeviceTensor q = scope.allocate(DType.BF16, b, sQ, hQ, MlaReference.DIM);
            q.copyFrom(p.q);
            DeviceTensor kvNew = scope.allocate(DType.BF16, p.numTokens, hKV, MlaReference.DIM);
            kvNew.copyFrom(p.kvNew);
            DeviceTensor slots = scope.allocate(DType.INT32, p.numTokens);
            slots.copyFrom(p.slots);
            DeviceTensor cache = s.fp8()
                    ? scope.allocate(DType.FP8_E4M3, p.numBlocks, page, hKV, MlaFp8Row.ROW_BYTES)
                    : scope.allocate(DType.BF16, p.numBlocks, page, hKV, MlaReference.DIM);
            DeviceTensor table = scope.allocate(DType.INT32, b, p.maxBlocks);
            table.copyFrom(p.table);
            DeviceTensor seqlens = scope.allocate(DType.INT32, b);
            seqlens.copyFrom(p.seqlens);
            DeviceTensor sched = scope.allocate(DType.INT32, MlaDecode.scheduleInts(b, sms, s.fixedSplits()));
            long wsBytes = MlaDecode.workspaceBytes(b, sQ, hQ, sms, s.fixedSplits());
            DeviceTensor ws = scope.allocate(DType.FP32, (wsBytes + 3) / 4);
            DeviceTensor out = scope.allocate(DType.BF16, b, sQ, hQ, MlaReference.VDIM);
            DeviceTensor lse = scope.allocate(DType.FP32, b, hQ, sQ);

            st.clearDeviceErrors();
            cache.fill(s.fp8() ? 0xFF : 0xFFFF, st);
            MlaKvCache.write(kvNew, slots, cache, st);
            int writeErrors = st.deviceErrors();
            long cacheMismatch = s.fp8() ? mismatches(p.cacheFp8, cache.toByteArray()) : mismatches(p.cacheBf16, cache.toShortArray());
            res.metric("cacheWriteMismatches", cacheMismatch).gate(cacheMismatch == 0, "cache write differs from the Java encoder in "
                    + cacheMismatch + " elements");
            res.gate(writeErrors == 0, "cache write raised device errors " + writeErrors);
            st.clearDeviceErrors();

            ws.fill(0x7FC00000, st); // stale partials must not matter
            MlaDecode.Schedule schedule = MlaDecode.schedule(seqlens, page, p.maxBlocks, sms, s.fixedSplits(), sched, st);
            res.metric("plan", MlaDecode.plan(q, cache, st)); // the kernel family and configuration that ran
            short[] out1 = null;
            float[] lse1 = null;
            for (int run = 0; run < 2; run++) {
                out.fill(OUT_POISON, st);
                lse.fill(LSE_POISON, st);
                MlaDecode.forward(q, cache, table, seqlens, schedule, SCALE, s.causal(), ws, out, lse, st);
                int errs = st.deviceErrors();
                if (run == 0) {
                    res.metric("deviceErrors", errs).gate(errs == p.expectedErrors,
                            "device error bits " + errs + ", expected " + p.expectedErrors);
                    out1 = out.toShortArray();
                    lse1 = lse.toFloatArray();
                } else {
                    boolean same = Arrays.equals(out1, out.toShortArray()) && Arrays.equals(lse1, lse.toFloatArray());
                    res.metric("deterministic", same).gate(same, "second run differs bitwise");
                }
                st.clearDeviceErrors();
            }

            MlaReference.Result ref = MlaReference.decode(p.q,
                    s.fp8() ? MlaReference.Cache.fp8(p.cacheFp8) : MlaReference.Cache.bf16(p.cacheBf16), page, hKV, p.table,
                    p.maxBlocks, p.refSeqlens, sQ, hQ, SCALE, s.causal());
            gateOutputs(res, ref, out1, lse1);

            if (s.fixedSplits() > 0 && b > 1) {
                // Batch invariance: shorten every other request; request 0's results must not move.
                int[] other = p.seqlens.clone();
                for (int r = 1; r < b; r++) other[r] = other[r] / 2;
                seqlens.copyFrom(other);
                MlaDecode.Schedule s2 = MlaDecode.schedule(seqlens, page, p.maxBlocks, sms, s.fixedSplits(), sched, st);
                out.fill(OUT_POISON, st);
                lse.fill(LSE_POISON, st);
                MlaDecode.forward(q, cache, table, seqlens, s2, SCALE, s.causal(), ws, out, lse, st);
                st.synchronize();
                short[] o2 = out.toShortArray();
                float[] l2 = lse.toFloatArray();
                int no = sQ * hQ * MlaReference.VDIM;
                boolean inv = Arrays.equals(Arrays.copyOf(out1, no), Arrays.copyOf(o2, no));
                for (int h = 0; h < hQ * sQ; h++) inv &= Float.floatToRawIntBits(lse1[h]) == Float.floatToRawIntBits(l2[h]);
                res.metric("batchInvariant", inv).gate(inv, "fixed-split request 0 changed with the rest of the batch");
            }
        }
        return res.build();
    }

    static void gateOutputs(CheckResult.Builder res, MlaReference.Result ref, short[] out, float[] lse) {
        float[] outF = Bf16.decode(out);
        int unwritten = Metrics.countEqual(out, OUT_POISON) + Metrics.countEqualBits(lse, LSE_POISON);
        int outNan = Metrics.nanCount(outF);
        double diff = Metrics.diff(ref.out(), outF);
        int lseBad = 0, lseNan = 0;
        double lseMaxErr = 0;
        for (int i = 0; i < lse.length; i++) {
            double want = ref.lse()[i];
            float got = lse[i];
            if (Float.isNaN(got)) { lseNan++; continue; }
            if (Double.isInfinite(want)) {
                if (got != Float.POSITIVE_INFINITY) lseBad++;
                continue;
            }
            double err = Math.abs(got - want);
            lseMaxErr = Math.max(lseMaxErr, err / Math.max(1, Math.abs(want)));
            if (!(err <= 1e-4 * Math.max(1, Math.abs(want)))) lseBad++;
        }
        res.metric("diff", diff).metric("relL2", Metrics.relL2(ref.out(), outF)).metric("lseMaxRelErr", lseMaxErr)
                .metric("unwritten", unwritten).metric("nan", outNan + lseNan);
        res.gate(diff < 1e-5, "out diff " + diff + " >= 1e-5");
        res.gate(lseBad == 0, lseBad + " lse values off by more than 1e-4 * max(1, |ref|) (or not +inf where no key is visible)");
        res.gate(unwritten == 0, unwritten + " outputs still hold the poison sentinel");
        res.gate(outNan + lseNan == 0, (outNan + lseNan) + " NaN in the outputs");
    }

    static long mismatches(short[] want, short[] got) {
        long n = 0;
        for (int i = 0; i < want.length; i++) if (want[i] != got[i]) n++;
        return n;
    }

    static long mismatches(byte[] want, byte[] got) {
        long n = 0;
        for (int i = 0; i < want.length; i++) if (want[i] != got[i]) n++;
        return n;
    }
}
