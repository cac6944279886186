package io.kernels4j.ops.robustness;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.gemm.Fp8Gemm;
import io.kernels4j.ops.gemm.Fp8Quantize;
import io.kernels4j.ops.robustness.Mutations.Arg;
import io.kernels4j.ops.robustness.Mutations.Kind;
import io.kernels4j.ops.robustness.Mutations.Mutation;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Hostile arguments for Fp8Gemm (dense, grouped contiguous/ends/masked) and Fp8Quantize (no GPU):
 * one broken argument at a time on a random valid problem is rejected before launch, naming it.
 */
class GemmArgumentProperties {
    static final Set<String> NAMES = Set.of("a", "aScales", "b", "bScales", "c", "d", "mIndices", "groupEnds", "maskedM",
            "k", "expectedM", "stream");

    static long cdiv(long v, long d) {
        return (v + d - 1) / d;
    }

    static long align4(long v) {
        return cdiv(v, 4) * 4;
    }

    /** d may be BF16 or FP32; a c of FP32 is optional. */
    static Predicate<Mutation> outputDtypes() {
        return m -> m.kind() == Kind.DTYPE && "d".equals(m.arg()) && (m.dtype() == DType.BF16 || m.dtype() == DType.FP32);
    }

    static List<Arg> outputs(SplittableRandom r, long... shape) {
        List<Arg> l = new ArrayList<>();
        l.add(Arg.of("c", DType.FP32, shape).nullable());
        l.add(Arg.of("d", r.nextBoolean() ? DType.BF16 : DType.FP32, shape));
        return l;
    }

    @Property(tries = 250)
    void denseRejectsEveryBrokenArgument(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long m = 1 + r.nextInt(300), n = 8L * (1 + r.nextInt(40)), k = 16L * (1 + r.nextInt(40));
        List<Arg> args = new ArrayList<>(List.of(Arg.of("a", DType.FP8_E4M3, m, k),
                Arg.of("aScales", DType.FP32, cdiv(k, 128), align4(m)), Arg.of("b", DType.FP8_E4M3, n, k),
                Arg.of("bScales", DType.FP32, cdiv(n, 128), cdiv(k, 128))));
        args.addAll(outputs(r, m, n));
        Mutations.check(args, Mutations.random(r, args), NAMES, Set.of(), outputDtypes(), (t, s) -> () -> Fp8Gemm.dense(
                t.get("a"), t.get("aScales"), t.get("b"), t.get("bScales"), t.get("c"), t.get("d"), s));
    }

    @Property(tries = 250)
    void groupedContiguousAndEndsRejectEveryBrokenArgument(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long m = 1 + r.nextInt(600), n = 8L * (1 + r.nextInt(40)), k = 16L * (1 + r.nextInt(40)), g = 1 + r.nextInt(8);
        boolean ends = r.nextBoolean();
        List<Arg> args = new ArrayList<>(List.of(Arg.of("a", DType.FP8_E4M3, m, k),
                Arg.of("aScales", DType.FP32, cdiv(k, 128), align4(m)), Arg.of("b", DType.FP8_E4M3, g, n, k),
                Arg.of("bScales", DType.FP32, g, cdiv(n, 128), cdiv(k, 128))));
        args.addAll(outputs(r, m, n));
        args.add(ends ? Arg.of("groupEnds", DType.INT32, g) : Arg.of("mIndices", DType.INT32, m));
        Mutations.check(args, Mutations.random(r, args), NAMES, Set.of(), outputDtypes(), (t, s) -> () -> {
            if (ends) Fp8Gemm.groupedEnds(t.get("a"), t.get("aScales"), t.get("b"), t.get("bScales"), t.get("c"), t.get("d"),
                    t.get("groupEnds"), s);
            else Fp8Gemm.groupedContiguous(t.get("a"), t.get("aScales"), t.get("b"), t.get("bScales"), t.get("c"), t.get("d"),
                    t.get("mIndices"), s);
        });
    }

    @Property(tries = 250)
    void groupedMaskedRejectsEveryBrokenArgument(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long maxM = 1 + r.nextInt(200), n = 8L * (1 + r.nextInt(40)), k = 16L * (1 + r.nextInt(40)), g = 1 + r.nextInt(8);
        List<Arg> args = new ArrayList<>(List.of(Arg.of("a", DType.FP8_E4M3, g, maxM, k),
                Arg.of("aScales", DType.FP32, g, cdiv(k, 128), align4(maxM)), Arg.of("b", DType.FP8_E4M3, g, n, k),
                Arg.of("bScales", DType.FP32, g, cdiv(n, 128), cdiv(k, 128))));
        args.addAll(outputs(r, g, maxM, n));
        args.add(Arg.of("maskedM", DType.INT32, g));
        int expectedM = r.nextInt(8) == 0 ? -1 - r.nextInt(5) : r.nextInt(300);
        Mutation mut = Mutations.random(r, args);
        if (expectedM < 0) { // a bad hint alone must be rejected too
            Mutations.checkRejected(args, "expectedM", (t, s) -> () -> Fp8Gemm.groupedMasked(t.get("a"), t.get("aScales"),
                    t.get("b"), t.get("bScales"), t.get("c"), t.get("d"), t.get("maskedM"), expectedM, s));
            return;
        }
        Mutations.check(args, mut, NAMES, Set.of(), outputDtypes(), (t, s) -> () -> Fp8Gemm.groupedMasked(t.get("a"),
                t.get("aScales"), t.get("b"), t.get("bScales"), t.get("c"), t.get("d"), t.get("maskedM"), expectedM, s));
    }

    @Property(tries = 250)
    void quantizersRejectEveryBrokenArgument(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long rows = 1 + r.nextInt(400), k = 1 + r.nextInt(1000);
        boolean perToken = r.nextBoolean();
        String x = perToken ? "x" : "w";
        List<Arg> args = List.of(Arg.of(x, r.nextBoolean() ? DType.BF16 : DType.FP32, rows, k),
                Arg.of("q", DType.FP8_E4M3, rows, k),
                perToken ? Arg.of("scales", DType.FP32, cdiv(k, 128), align4(rows))
                        : Arg.of("scales", DType.FP32, cdiv(rows, 128), cdiv(k, 128)));
        Predicate<Mutation> inputDtypes = m -> m.kind() == Kind.DTYPE && x.equals(m.arg())
                && (m.dtype() == DType.BF16 || m.dtype() == DType.FP32);
        boolean pow2 = r.nextBoolean();
        Mutations.check(args, Mutations.random(r, args), Set.of(x, "q", "scales", "stream"), Set.of(), inputDtypes,
                (t, s) -> () -> {
                    if (perToken) Fp8Quantize.perTokenGroup(t.get("x"), t.get("q"), t.get("scales"), pow2, s);
                    else Fp8Quantize.perBlock(t.get("w"), t.get("q"), t.get("scales"), pow2, s);
                });
    }
}
