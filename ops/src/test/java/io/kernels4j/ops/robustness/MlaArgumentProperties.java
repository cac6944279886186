package io.kernels4j.ops.robustness;

import static org.junit.jupiter.api.Assertions.*;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Simulated;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.mla.MlaDecode;
import io.kernels4j.ops.mla.MlaKvCache;
import io.kernels4j.ops.robustness.Mutations.Arg;
import io.kernels4j.ops.robustness.Mutations.Mutation;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Hostile arguments for MlaDecode.schedule/forward and MlaKvCache.write (no GPU): one broken thing
 * at a time on top of a random valid configuration must be rejected before launch, naming an argument.
 */
class MlaArgumentProperties {
    record Cfg(int b, int sQ, int hQ, int hKV, int page, int maxBlocks, int numBlocks, boolean fp8, int numSms, int fixedSplits) {
        static Cfg random(SplittableRandom r) {
            int hKV = 1 + r.nextInt(2);
            return new Cfg(1 + r.nextInt(4), 1 + r.nextInt(3), hKV * (1 << r.nextInt(7)), hKV, 16 << r.nextInt(3),
                    1 + r.nextInt(8), 1 + r.nextInt(64), r.nextBoolean(), 1 + r.nextInt(132), r.nextInt(3) == 0 ? 1 + r.nextInt(64) : 0);
        }

        long ws() {
            return MlaDecode.workspaceBytes(b, sQ, hQ, numSms, fixedSplits);
        }

        long ints() {
            return MlaDecode.scheduleInts(b, numSms, fixedSplits);
        }
    }

    /**
     * No known gaps left: MlaShapes rejects a dimension of 2^32 + k (it used to pass as k), sQ * hQ past
     * the native limit, and MlaDecode checks the alignment of blockTable, cacheSeqlens and lse in Java.
     */
    static final Set<String> FORWARD_GAPS = Set.of();
    static final Set<String> SCHEDULE_GAPS = Set.of();
    static final Set<String> WRITE_GAPS = Set.of();

    static final Set<String> FORWARD_NAMES = Set.of("q", "kvCache", "blockTable", "cacheSeqlens", "workspace", "out", "lse",
            "schedule", "softmaxScale", "stream");

    @Property(tries = 300)
    void forwardRejectsEveryBrokenArgument(@ForAll long seed) {
        if (Mutations.onGpu()) return; // needs a schedule computed from the seqlens, not a zero-filled buffer
        SplittableRandom r = new SplittableRandom(seed);
        Cfg c = Cfg.random(r);
        List<Arg> args = List.of(
                Arg.of("q", DType.BF16, c.b, c.sQ, c.hQ, 576),
                (c.fp8 ? Arg.of("kvCache", DType.FP8_E4M3, c.numBlocks, c.page, c.hKV, 656)
                        : Arg.of("kvCache", DType.BF16, c.numBlocks, c.page, c.hKV, 576)).growable(0),
                Arg.of("blockTable", DType.INT32, c.b, c.maxBlocks),
                Arg.of("cacheSeqlens", DType.INT32, c.b),
                Arg.of("workspace", DType.FP32, (c.ws() + 3) / 4).bytesOnly(),
                Arg.of("out", DType.BF16, c.b, c.sQ, c.hQ, 512),
                Arg.of("lse", DType.FP32, c.b, c.hQ, c.sQ),
                Arg.of("schedule.buffer", DType.INT32, c.ints()).growable(0));
        Mutation m = Mutations.random(r, args);
        // Another hKV that divides hQ is another valid configuration.
        Mutations.check(args, m, FORWARD_NAMES, FORWARD_GAPS, x -> "kvCache".equals(x.arg()) && x.dim() == 2
                && x.value() >= 1 && x.value() <= Integer.MAX_VALUE && c.hQ % x.value() == 0, (t, st) -> () -> MlaDecode.forward(t.get("q"), t.get("kvCache"), t.get("blockTable"),
                t.get("cacheSeqlens"), new MlaDecode.Schedule(t.get("schedule.buffer"), c.b, c.page, c.maxBlocks, c.numSms,
                        c.fixedSplits), 0.0417f, r.nextBoolean(), t.get("workspace"), t.get("out"), t.get("lse"), st));
    }

    @Property(tries = 200)
    void scheduleRejectsEveryBrokenArgument(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Cfg c = Cfg.random(r);
        // The batch is cacheSeqlens' length: any length >= 1 is valid as long as the schedule buffer is big enough.
        List<Arg> args = List.of(Arg.of("cacheSeqlens", DType.INT32, c.b).growable(0),
                Arg.of("schedule", DType.INT32, c.ints() + 4L * 64).growable(0));
        Mutation m = Mutations.random(r, args);
        Mutations.check(args, m, Set.of("cacheSeqlens", "schedule", "batch", "stream"), SCHEDULE_GAPS, (t, st) -> () -> MlaDecode.schedule(
                t.get("cacheSeqlens"), c.page, c.maxBlocks, c.numSms, c.fixedSplits, t.get("schedule"), st));
    }

    @Property(tries = 200)
    void kvCacheWriteRejectsEveryBrokenArgument(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Cfg c = Cfg.random(r);
        int tokens = 1 + r.nextInt(40);
        List<Arg> args = List.of(Arg.of("kvNew", DType.BF16, tokens, c.hKV, 576),
                Arg.of("slotMapping", DType.INT32, tokens),
                (c.fp8 ? Arg.of("kvCache", DType.FP8_E4M3, c.numBlocks, c.page, c.hKV, 656)
                        : Arg.of("kvCache", DType.BF16, c.numBlocks, c.page, c.hKV, 576)).growable(0));
        Mutation m = Mutations.random(r, args);
        Mutations.check(args, m, Set.of("kvNew", "slotMapping", "kvCache", "pageSize", "stream"), WRITE_GAPS,
                (t, st) -> () -> MlaKvCache.write(t.get("kvNew"), t.get("slotMapping"), t.get("kvCache"), st));
    }

    /** Bad scalars on valid tensors: page size, SM count, split count, softmax scale, schedule fields. */
    @Property(tries = 200)
    void badScalarsAreRejected(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Cfg c = Cfg.random(r);
        Device dev = Simulated.device(0);
        Stream s = Simulated.stream(dev);
        DeviceTensor seqlens = Simulated.tensor(dev, DType.INT32, c.b);
        DeviceTensor sched = Simulated.tensor(dev, DType.INT32, c.ints() + 4096);
        int[] badPage = {0, -16, 15, 24, Integer.MIN_VALUE};
        int[] badSms = {-1, Integer.MIN_VALUE};
        int[] badSplits = {-1, 65, Integer.MAX_VALUE};
        int which = r.nextInt(4);
        Simulated.Outcome o = Simulated.validate(s, () -> {
            switch (which) {
                case 0 -> MlaDecode.schedule(seqlens, badPage[r.nextInt(badPage.length)], c.maxBlocks, c.numSms, c.fixedSplits, sched, s);
                case 1 -> MlaDecode.schedule(seqlens, c.page, c.maxBlocks, badSms[r.nextInt(badSms.length)], c.fixedSplits, sched, s);
                case 2 -> MlaDecode.schedule(seqlens, c.page, c.maxBlocks, c.numSms, badSplits[r.nextInt(badSplits.length)], sched, s);
                default -> MlaDecode.schedule(seqlens, c.page, r.nextBoolean() ? 0 : Integer.MAX_VALUE, c.numSms, c.fixedSplits, sched, s);
            }
        });
        Simulated.Outcome.Rejected rej = assertInstanceOf(Simulated.Outcome.Rejected.class, o, "case " + which);
        assertFalse(rej.activated());
        String msg = rej.error().getMessage();
        assertTrue(msg.startsWith("pageSize:") || msg.startsWith("numSms:") || msg.startsWith("fixedSplits:")
                || msg.startsWith("maxBlocksPerSeq:"), msg);
        float[] badScale = {0f, -1f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f};
        Cfg f = c;
        DeviceTensor q = Simulated.tensor(dev, DType.BF16, f.b, f.sQ, f.hQ, 576);
        DeviceTensor kv = Simulated.tensor(dev, DType.BF16, f.numBlocks, f.page, f.hKV, 576);
        DeviceTensor bt = Simulated.tensor(dev, DType.INT32, f.b, f.maxBlocks);
        DeviceTensor ws = Simulated.tensor(dev, DType.FP32, (f.ws() + 3) / 4);
        DeviceTensor out = Simulated.tensor(dev, DType.BF16, f.b, f.sQ, f.hQ, 512);
        DeviceTensor lse = Simulated.tensor(dev, DType.FP32, f.b, f.hQ, f.sQ);
        float scale = badScale[r.nextInt(badScale.length)];
        Simulated.Outcome o2 = Simulated.validate(s, () -> MlaDecode.forward(q, kv, bt, seqlens,
                new MlaDecode.Schedule(sched, f.b, f.page, f.maxBlocks, f.numSms, f.fixedSplits), scale, false, ws, out, lse, s));
        Simulated.Outcome.Rejected rej2 = assertInstanceOf(Simulated.Outcome.Rejected.class, o2, "softmaxScale " + scale);
        assertTrue(rej2.error().getMessage().startsWith("softmaxScale:"), rej2.error().getMessage());
        Simulated.Outcome o3 = Simulated.validate(s, () -> MlaDecode.forward(q, kv, bt, seqlens, null, 0.1f, false, ws, out, lse, s));
        assertTrue(assertInstanceOf(Simulated.Outcome.Rejected.class, o3).error().getMessage().startsWith("schedule:"));
        for (DeviceTensor t : List.of(seqlens, sched, q, kv, bt, ws, out, lse)) t.close();
    }

}
