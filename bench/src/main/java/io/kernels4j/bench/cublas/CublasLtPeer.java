package io.kernels4j.bench.cublas;

import io.kernels4j.bench.BenchContext;
import io.kernels4j.bench.KernelTimer;
import io.kernels4j.bench.Timing;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.Checks;
import io.kernels4j.ops.internal.OpSupport;
import java.util.Optional;

/**
 * cuBLASLt as the GEMM peer of a benchmark run: the same shapes, the same device buffers, the same
 * timer (so the same flush, warm-up and rotation) as ours. One per process ({@link #shared()}),
 * found through {@link CublasLt}'s search (the CLI's {@code --cublaslt PATH} sets the system property
 * {@value CublasLt#PROPERTY}).
 *
 * <pre>{@code
 * Optional<CublasLtPeer> peer = CublasLtPeer.shared();
 * Timing theirs = peer.get().timeFp8(ctx, sets, i -> a[i], i -> as[i], i -> b[i], i -> bs[i], d);
 * }</pre>
 */
public final class CublasLtPeer implements AutoCloseable {
    /** cuBLAS's recommended workspace on Hopper. */
    public static final long WORKSPACE_BYTES = 32L << 20;

    private static Optional<CublasLtPeer> shared;

    private final CublasLt lt;
    private DeviceTensor workspace;

    public CublasLtPeer(CublasLt lt) {
        this.lt = lt;
    }

    /**
     * The process-wide peer, loaded on first use; empty (after one line on stderr: "cuBLASLt not found
     * (tried ...); peer columns skipped") when the library is absent.
     */
    public static synchronized Optional<CublasLtPeer> shared() {
        if (shared == null) {
            shared = CublasLt.load(null).map(CublasLtPeer::new);
            shared.ifPresent(p -> Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    p.close();
                } catch (RuntimeException ignored) {
                    // the process is ending; the driver reclaims everything
                }
            })));
        }
        return shared;
    }

    public CublasLt library() {
        return lt;
    }

    /** Index of the input set a launch reads, for rotation (see {@link KernelTimer#time(int, java.util.function.IntConsumer)}). */
    @FunctionalInterface
    public interface PerSet {
        DeviceTensor get(int set);
    }

    private DeviceTensor workspace(BenchContext ctx) {
        if (workspace == null) workspace = DeviceTensor.allocate(ctx.device(), DType.INT32, WORKSPACE_BYTES / 4);
        return workspace;
    }

    /**
     * Times cuBLASLt's FP8 block-scaled GEMM ({@code D[M,N] = A[M,K] . B[N,K]^T}, A with 1x128
     * MN-major scales, B with 128x128 scales, BF16 out; layouts of docs/CONTRACT.md section 1) over
     * {@code sets} rotating input sets. Throws {@link UnsupportedOperationException} or
     * {@link CublasLtException} when cuBLASLt cannot run the shape; callers report the peer column as
     * skipped with that message.
     */
    public Timing timeFp8(BenchContext ctx, int sets, PerSet a, PerSet aScales, PerSet b, PerSet bScales, DeviceTensor d) {
        int[] mnk = checkFp8(a.get(0), aScales.get(0), b.get(0), bScales.get(0), d);
        DeviceTensor ws = workspace(ctx);
        try (CublasLtMatmul mm = lt.fp8BlockScaled(mnk[0], mnk[1], mnk[2], WORKSPACE_BYTES)) {
            Stream s = ctx.stream();
            return ctx.timer().time(sets, i -> mm.launch(OpSupport.address(a.get(i)), OpSupport.address(aScales.get(i)), OpSupport.address(b.get(i)),
                    OpSupport.address(bScales.get(i)), OpSupport.address(d), OpSupport.address(ws), WORKSPACE_BYTES, OpSupport.handle(s)));
        }
    }

    /** One FP8 GEMM into {@code d} on the context's stream (for comparing outputs); does not synchronise. */
    public void fp8(BenchContext ctx, DeviceTensor a, DeviceTensor aScales, DeviceTensor b, DeviceTensor bScales, DeviceTensor d) {
        int[] mnk = checkFp8(a, aScales, b, bScales, d);
        DeviceTensor ws = workspace(ctx);
        try (CublasLtMatmul mm = lt.fp8BlockScaled(mnk[0], mnk[1], mnk[2], WORKSPACE_BYTES)) {
            mm.launch(OpSupport.address(a), OpSupport.address(aScales), OpSupport.address(b), OpSupport.address(bScales), OpSupport.address(d), OpSupport.address(ws),
                    WORKSPACE_BYTES, OpSupport.handle(ctx.stream()));
        }
    }

    /** Times cuBLASLt's BF16 GEMM {@code D[M,N] = A[M,K] . B[N,K]^T} (all BF16, FP32 accumulate). */
    public Timing timeBf16(BenchContext ctx, int sets, PerSet a, PerSet b, DeviceTensor d) {
        DeviceTensor a0 = a.get(0), b0 = b.get(0);
        Checks.requireTensor(a0, "a", DType.BF16, Checks.ANY, Checks.ANY);
        long m = a0.dim(0), k = a0.dim(1);
        Checks.requireTensor(b0, "b", DType.BF16, Checks.ANY, k);
        long n = b0.dim(0);
        Checks.requireTensor(d, "d", DType.BF16, m, n);
        DeviceTensor ws = workspace(ctx);
        try (CublasLtMatmul mm = lt.bf16(Math.toIntExact(m), Math.toIntExact(n), Math.toIntExact(k), WORKSPACE_BYTES)) {
            Stream s = ctx.stream();
            return ctx.timer().time(sets, i -> mm.launch(OpSupport.address(a.get(i)), 0, OpSupport.address(b.get(i)), 0, OpSupport.address(d),
                    OpSupport.address(ws), WORKSPACE_BYTES, OpSupport.handle(s)));
        }
    }

    /** Shapes per docs/CONTRACT.md section 1-2; returns {M, N, K}. */
    static int[] checkFp8(DeviceTensor a, DeviceTensor aScales, DeviceTensor b, DeviceTensor bScales, DeviceTensor d) {
        Checks.requireTensor(a, "a", DType.FP8_E4M3, Checks.ANY, Checks.ANY);
        long m = a.dim(0), k = a.dim(1);
        Checks.requireTensor(b, "b", DType.FP8_E4M3, Checks.ANY, k);
        long n = b.dim(0);
        long kb = (k + 127) / 128;
        Checks.requireTensor(aScales, "aScales", DType.FP32, kb, (m + 3) / 4 * 4);
        Checks.requireTensor(bScales, "bScales", DType.FP32, (n + 127) / 128, kb);
        Checks.requireTensor(d, "d", DType.BF16, m, n);
        return new int[] {Math.toIntExact(m), Math.toIntExact(n), Math.toIntExact(k)};
    }

    @Override
    public void close() {
        try {
            if (workspace != null) workspace.close();
        } finally {
            lt.close();
        }
    }
}
