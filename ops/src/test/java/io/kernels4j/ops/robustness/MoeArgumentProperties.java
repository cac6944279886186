package io.kernels4j.ops.robustness;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.moe.MoeCombine;
import io.kernels4j.ops.moe.MoeDispatch;
import io.kernels4j.ops.moe.MoeLayout;
import io.kernels4j.ops.moe.SiluAndMul;
import io.kernels4j.ops.robustness.Mutations.Arg;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Hostile arguments for the MoE ops (layout, dispatch, combine, SiLU-and-mul; no GPU): one broken
 * argument at a time on a random valid problem is rejected before launch, naming it.
 */
class MoeArgumentProperties {
    static final Set<String> NAMES = Set.of("topkIdx", "numTokensPerExpert", "expertOffsets", "totalRows", "rowOf",
            "workspace", "x", "xOut", "xOutScales", "mIndices", "counts", "slotOf", "overflow", "y", "topkWeights", "out",
            "gateUp", "outScales", "numTokens", "topK", "numExperts", "alignment", "hidden", "inter", "stream");

    /** An INT32 index tensor (its 4-byte alignment is checked in Java, like every other argument). */
    static Arg idx(String name, long... shape) {
        return Arg.of(name, DType.INT32, shape);
    }

    static long align4(long v) {
        return (v + 3) / 4 * 4;
    }

    @Property(tries = 250)
    void layoutRejectsEveryBrokenArgument(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long t = 1 + r.nextInt(300), k = 1 + r.nextInt(8);
        int e = 1 + r.nextInt(64), alignment = 1 << r.nextInt(8);
        long ws = MoeLayout.workspaceBytes(t, k, e);
        List<Arg> args = new ArrayList<>(List.of(idx("topkIdx", t, k), idx("numTokensPerExpert", e),
                idx("expertOffsets", e + 1), idx("totalRows", 1).nullable(), idx("rowOf", t, k)));
        if (ws > 0) args.add(Arg.of("workspace", DType.INT32, (ws + 3) / 4).bytesOnly());
        Mutations.check(args, Mutations.random(r, args), NAMES, Set.of(), m -> false, (ts, s) -> () -> MoeLayout.compute(
                ts.get("topkIdx"), e, alignment, ts.get("numTokensPerExpert"), ts.get("expertOffsets"), ts.get("totalRows"),
                ts.get("rowOf"), ts.get("workspace"), s));
    }

    @Property(tries = 200)
    void layoutRejectsBadScalars(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long t = 1 + r.nextInt(50), k = 1 + r.nextInt(8);
        int e = 1 + r.nextInt(64);
        boolean badE = r.nextBoolean();
        int[] badEs = {0, -1, 1025, Integer.MIN_VALUE};
        int[] badAligns = {0, -128, 1025, Integer.MAX_VALUE};
        int eArg = badE ? badEs[r.nextInt(badEs.length)] : e;
        int alignArg = badE ? 128 : badAligns[r.nextInt(badAligns.length)];
        long ws = 1 << 20;
        List<Arg> args = List.of(idx("topkIdx", t, k), idx("numTokensPerExpert", Math.max(1, eArg)),
                idx("expertOffsets", Math.max(1, eArg) + 1), idx("rowOf", t, k), Arg.of("workspace", DType.INT32, ws));
        Mutations.checkRejected(args, badE ? "numExperts" : "alignment", (ts, s) -> () -> MoeLayout.compute(ts.get("topkIdx"),
                eArg, alignArg, ts.get("numTokensPerExpert"), ts.get("expertOffsets"), null, ts.get("rowOf"), ts.get("workspace"), s));
    }

    @Property(tries = 250)
    void dispatchContiguousRejectsEveryBrokenArgument(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long t = 1 + r.nextInt(200), k = 1 + r.nextInt(8), e = 1 + r.nextInt(64), h = 128L * (1 + r.nextInt(8));
        long cap = MoeLayout.maxPaddedRows(t, k, e, 128);
        boolean fp8 = r.nextBoolean();
        // topK appears only in rowOf here: any K in [1, 32] is valid.
        List<Arg> args = new ArrayList<>(List.of(Arg.of("x", DType.BF16, t, h), idx("rowOf", t, k).growable(1),
                idx("numTokensPerExpert", e), idx("expertOffsets", e + 1), Arg.of("xOut", fp8 ? DType.FP8_E4M3 : DType.BF16, cap, h),
                idx("mIndices", cap).nullable()));
        if (fp8) args.add(Arg.of("xOutScales", DType.FP32, h / 128, align4(cap)));
        boolean pow2 = r.nextBoolean();
        Mutations.check(args, Mutations.random(r, args), NAMES, Set.of(), m -> false, (ts, s) -> () -> MoeDispatch.contiguous(
                ts.get("x"), ts.get("rowOf"), ts.get("numTokensPerExpert"), ts.get("expertOffsets"), ts.get("xOut"),
                ts.get("xOutScales"), pow2, ts.get("mIndices"), s));
    }

    @Property(tries = 250)
    void dispatchMaskedRejectsEveryBrokenArgument(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long t = 1 + r.nextInt(200), k = 1 + r.nextInt(8), e = 1 + r.nextInt(64), h = 128L * (1 + r.nextInt(8));
        long maxTok = 1 + r.nextInt(64);
        boolean fp8 = r.nextBoolean();
        List<Arg> args = new ArrayList<>(List.of(Arg.of("x", DType.BF16, t, h), idx("topkIdx", t, k), idx("rowOf", t, k),
                idx("numTokensPerExpert", e), idx("expertOffsets", e + 1),
                Arg.of("xOut", fp8 ? DType.FP8_E4M3 : DType.BF16, e, maxTok, h), idx("counts", e), idx("slotOf", t, k),
                idx("overflow", 1).nullable()));
        if (fp8) args.add(Arg.of("xOutScales", DType.FP32, e, h / 128, align4(maxTok)));
        // Another capacity per expert is another valid layout (BF16; FP8 while the scale rows stay the same).
        Mutations.check(args, Mutations.random(r, args), NAMES, Set.of(),
                m -> "xOut".equals(m.arg()) && m.dim() == 1 && m.value() >= 1 && m.value() * e <= Integer.MAX_VALUE
                        && (!fp8 || align4(m.value()) == align4(maxTok)),
                (ts, s) -> () -> MoeDispatch.masked(ts.get("x"), ts.get("topkIdx"), ts.get("rowOf"), ts.get("numTokensPerExpert"),
                        ts.get("expertOffsets"), ts.get("xOut"), ts.get("xOutScales"), false, ts.get("counts"), ts.get("slotOf"),
                        ts.get("overflow"), s));
    }

    @Property(tries = 250)
    void combineRejectsEveryBrokenArgument(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long t = 1 + r.nextInt(200), k = 1 + r.nextInt(8), h = 128L * (1 + r.nextInt(8));
        boolean masked = r.nextBoolean();
        long e = 1 + r.nextInt(64), maxTok = 1 + r.nextInt(64), cap = 1 + r.nextInt(2000);
        List<Arg> args = List.of(
                masked ? Arg.of("y", DType.BF16, e, maxTok, h).growable(0, 1) : Arg.of("y", DType.BF16, cap, h).growable(0),
                idx(masked ? "slotOf" : "rowOf", t, k), Arg.of("topkWeights", DType.FP32, t, k),
                Arg.of("out", DType.BF16, t, h));
        // Contiguous: y's row count is free, even 0 (every routed row is then out of range: skipped on
        // the device with INDEX_OUT_OF_RANGE).
        Mutations.check(args, Mutations.random(r, args), NAMES, Set.of(),
                m -> !masked && "y".equals(m.arg()) && m.dim() == 0, (ts, s) -> () -> {
                    if (masked) MoeCombine.masked(ts.get("y"), ts.get("slotOf"), ts.get("topkWeights"), ts.get("out"), s);
                    else MoeCombine.contiguous(ts.get("y"), ts.get("rowOf"), ts.get("topkWeights"), ts.get("out"), s);
                });
    }

    @Property(tries = 250)
    void siluAndMulRejectsEveryBrokenArgument(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long inter = 128L * (1 + r.nextInt(8)), rows = 1 + r.nextInt(300), e = 1 + r.nextInt(16);
        boolean masked = r.nextBoolean(), fp8 = r.nextBoolean();
        DType od = fp8 ? DType.FP8_E4M3 : DType.BF16;
        List<Arg> args = new ArrayList<>();
        if (masked) {
            args.add(Arg.of("gateUp", DType.BF16, e, rows, 2 * inter));
            args.add(Arg.of("out", od, e, rows, inter));
            if (fp8) args.add(Arg.of("outScales", DType.FP32, e, inter / 128, align4(rows)));
            args.add(idx("counts", e).nullable());
        } else {
            args.add(Arg.of("gateUp", DType.BF16, rows, 2 * inter));
            args.add(Arg.of("out", od, rows, inter));
            if (fp8) args.add(Arg.of("outScales", DType.FP32, inter / 128, align4(rows)));
            args.add(idx("mIndices", rows).nullable());
        }
        Mutations.check(args, Mutations.random(r, args), NAMES, Set.of(), m -> false, (ts, s) -> () -> {
            if (masked) SiluAndMul.masked(ts.get("gateUp"), ts.get("counts"), ts.get("out"), ts.get("outScales"), true, s);
            else SiluAndMul.contiguous(ts.get("gateUp"), ts.get("mIndices"), ts.get("out"), ts.get("outScales"), false, s);
        });
    }
}
