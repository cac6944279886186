package io.kernels4j.bench.cublas;

import io.kernels4j.bench.BenchContext;
import io.kernels4j.bench.KernelTimer;
import io.kernels4j.bench.PeerColumns;
import io.kernels4j.bench.Timing;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * The GEMM peer columns in one call, for {@code Fp8GemmBench}: cuBLASLt's FP8 block-scaled GEMM on
 * the very same inputs (time, ratio, and agreement of its output with ours), and cuBLASLt's BF16 GEMM
 * on the same shapes (what a user without FP8 would run). Never throws for a peer problem: a missing
 * library or an unsupported shape becomes a {@link PeerColumns#SKIPPED} column with the reason.
 */
public final class GemmPeers {
    /** cuBLASLt BF16 GEMM median in ms on the same shape. */
    public static final String BF16_MS = "peerBf16MedianMs";
    /** Our FP8 median over cuBLASLt's BF16 median. */
    public static final String BF16_RATIO = "oursOverPeerBf16";

    private GemmPeers() {}

    /**
     * Peer columns for one dense FP8 GEMM case {@code d[M,N] = a[M,K] . b[N,K]^T}.
     *
     * @param ours        our timing of the case (same timer, same {@code sets})
     * @param sets        input sets the case rotates over ({@link KernelTimer#rotationSets})
     * @param ourD        our output tensor (BF16 or FP32 {@code [M, N]})
     * @param ourRunSet0  enqueues our op on set 0 into {@code ourD} (for the output comparison)
     */
    public static Map<String, Object> denseFp8(BenchContext ctx, Timing ours, int sets, CublasLtPeer.PerSet a,
                                               CublasLtPeer.PerSet aScales, CublasLtPeer.PerSet b, CublasLtPeer.PerSet bScales,
                                               DeviceTensor ourD, Runnable ourRunSet0) {
        Optional<CublasLtPeer> peer = CublasLtPeer.shared();
        if (peer.isEmpty()) return PeerColumns.skipped("cuBLASLt", "cuBLASLt not found");
        CublasLtPeer p = peer.get();
        String name = p.library().name();
        long m = a.get(0).dim(0), k = a.get(0).dim(1), n = b.get(0).dim(0);
        Map<String, Object> out = new LinkedHashMap<>();
        try (Scope scope = Scope.open(ctx.device())) {
            DeviceTensor theirD = scope.allocate(DType.BF16, m, n);
            Timing theirs = p.timeFp8(ctx, sets, a, aScales, b, bScales, theirD);
            // Agreement: both on set 0, outputs poisoned first so an unwritten output cannot pass.
            theirD.fill(0x7FC0, ctx.stream());
            ourD.fill(ourD.dtype() == DType.BF16 ? 0x7FC0 : 0x7FC00000, ctx.stream());
            ourRunSet0.run();
            p.fp8(ctx, a.get(0), aScales.get(0), b.get(0), bScales.get(0), theirD);
            ctx.stream().synchronize();
            double diff = diff(toDoubles(theirD), toDoubles(ourD));
            out.putAll(PeerColumns.of(name, ours, theirs, diff));
            out.put("peerLibrary", p.library().loadedFrom());
        } catch (RuntimeException e) {
            out.putAll(PeerColumns.skipped(name, oneLine(e)));
        }
        try {
            Timing bf16 = bf16(ctx, p, m, n, k);
            out.put(BF16_MS, bf16.medianMs());
            out.put(BF16_RATIO, ours.medianMs() / bf16.medianMs());
        } catch (RuntimeException e) {
            out.put("peerBf16Skipped", oneLine(e));
        }
        return out;
    }

    /** cuBLASLt BF16 GEMM on fresh random BF16 inputs of the same shape (rotating when they fit in L2). */
    static Timing bf16(BenchContext ctx, CublasLtPeer p, long m, long n, long k) {
        long setBytes = 2 * (m * k + n * k);
        int sets = KernelTimer.rotationSets(setBytes, ctx.device().l2CacheBytes(), 8);
        try (Scope scope = Scope.open(ctx.device())) {
            DeviceTensor[] as = new DeviceTensor[sets], bs = new DeviceTensor[sets];
            SplittableRandom rnd = new SplittableRandom(ctx.seed() ^ (m * 31 + n) * 31 + k);
            for (int s = 0; s < sets; s++) {
                as[s] = scope.allocate(DType.BF16, m, k);
                as[s].copyFrom(randomBf16(rnd, Math.toIntExact(m * k)));
                bs[s] = scope.allocate(DType.BF16, n, k);
                bs[s].copyFrom(randomBf16(rnd, Math.toIntExact(n * k)));
            }
            DeviceTensor d = scope.allocate(DType.BF16, m, n);
            return p.timeBf16(ctx, sets, i -> as[i], i -> bs[i], d);
        }
    }

    /** Normal(0, 1) values rounded to BF16 (round to nearest even); never all zeros. */
    static short[] randomBf16(SplittableRandom rnd, int n) {
        short[] out = new short[n];
        for (int i = 0; i < n; i++) out[i] = bf16((float) gaussian(rnd));
        return out;
    }

    private static double gaussian(SplittableRandom rnd) {
        double u = 1.0 - rnd.nextDouble(), v = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    static short bf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) 0x7FC0;
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    static double[] toDoubles(DeviceTensor t) {
        double[] out = new double[Math.toIntExact(t.numel())];
        if (t.dtype() == DType.BF16) {
            short[] s = t.toShortArray();
            for (int i = 0; i < s.length; i++) out[i] = Float.intBitsToFloat((s[i] & 0xFFFF) << 16);
        } else if (t.dtype() == DType.FP32) {
            float[] f = t.toFloatArray();
            for (int i = 0; i < f.length; i++) out[i] = f[i];
        } else {
            throw new IllegalArgumentException("d: expected BF16 or FP32, got " + t.dtype());
        }
        return out;
    }

    /** docs/CONTRACT.md's {@code diff = 1 - 2 sum(x y) / sum(x x + y y)} in double; NaN when either holds a NaN. */
    static double diff(double[] x, double[] y) {
        if (x.length != y.length) throw new IllegalArgumentException("diff: lengths differ, " + x.length + " vs " + y.length);
        double xy = 0, xx = 0;
        for (int i = 0; i < x.length; i++) {
            if (Double.isNaN(x[i]) || Double.isNaN(y[i])) return Double.NaN;
            xy += x[i] * y[i];
            xx += x[i] * x[i] + y[i] * y[i];
        }
        return xx == 0 ? Double.NaN : 1 - 2 * xy / xx;
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
