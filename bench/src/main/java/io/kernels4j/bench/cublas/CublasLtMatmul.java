package io.kernels4j.bench.cublas;

import static io.kernels4j.bench.cublas.CublasLtApi.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One prepared cuBLASLt matmul (descriptors, preference, heuristic algorithm): {@code D[M,N] =
 * A[M,K] . B[N,K]^T} with every tensor row-major as in docs/CONTRACT.md, D in BF16, FP32 accumulation.
 *
 * <h2>Mapping onto cuBLAS's column-major operands</h2>
 * cuBLAS computes {@code D' = op(A') op(B')} on column-major matrices. A row-major {@code X[r, c]}
 * is the column-major {@code c x r} matrix {@code X^T}, so our row-major {@code D[M, N]} is the
 * column-major {@code N x M} matrix {@code D^T = B . A^T}. Hence:
 * <ul>
 *   <li>cuBLAS {@code A'} = our {@code B} (column-major {@code K x N}, {@code lda = K}) with
 *       {@code transa = T}: {@code op(A')} is {@code N x K};</li>
 *   <li>cuBLAS {@code B'} = our {@code A} (column-major {@code K x M}, {@code ldb = K}) with
 *       {@code transb = N}: {@code op(B')} is {@code K x M};</li>
 *   <li>cuBLAS {@code D'} is column-major {@code N x M} with {@code ldd = N}, i.e. exactly our
 *       row-major {@code D[M, N]}; {@code m' = N}, {@code n' = M}, {@code k' = K}. This is the
 *       "TN" form that cuBLASLt's FP8 kernels require (both operands K-major).</li>
 * </ul>
 *
 * <h2>FP8 block scales</h2>
 * Scales are multiplicative dequantisation factors in both conventions ({@code x = q * s}).
 * <ul>
 *   <li>Our weight scales (128x128 blocks of {@code B[N, K]}, FP32 row-major
 *       {@code [ceil(N/128)][ceil(K/128)]}) belong to cuBLAS {@code A'}:
 *       {@code CUBLASLT_MATMUL_DESC_A_SCALE_MODE = BLK128x128_32F}, {@code A_SCALE_POINTER}. cuBLAS
 *       reads this block grid with the K-blocks contiguous, its leading dimension rounded up to a
 *       multiple of 4 (as TransformerEngine pads it); the contract's layout (docs/CONTRACT.md section 1) is identical exactly when
 *       {@code ceil(K/128) % 4 == 0}, which the peer therefore requires (true for every default
 *       shape: K in {7168, 1536, 512, 16384, 2048}).</li>
 *   <li>Our activation scales (1x128 groups of {@code A[M, K]}, FP32 MN-major
 *       {@code [ceil(K/128)][alignUp(M, 4)]}) belong to cuBLAS {@code B'}:
 *       {@code B_SCALE_MODE = VEC128_32F}, {@code B_SCALE_POINTER}. cuBLAS reads one scale per
 *       128 K-values of each of the {@code n' = M} columns, M-contiguous per K-block (PyTorch's
 *       {@code _scaled_mm} requires the same: scale shape {@code (M, ceil(K/128))} with strides
 *       {@code (1, M)}). docs/CONTRACT.md pads M to a multiple of 4; the peer requires {@code M % 4 == 0} so that
 *       no reading of the padding question matters.</li>
 * </ul>
 * Requires CUDA 12.9+ cuBLASLt on sm_90 (Hopper); other parts report CUBLAS_STATUS_NOT_SUPPORTED
 * from the heuristic query, which the bench turns into a skipped peer column.
 */
public final class CublasLtMatmul implements AutoCloseable {
    private final CublasLt lt;
    private final boolean fp8;
    private final int m, n, k;
    private final long workspaceLimit;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment desc, aDesc, bDesc, dDesc, pref;
    private final MemorySegment alpha, beta, ptrHolder, intHolder;
    private final MemorySegment heuristic;
    private boolean planned;
    private long algoWorkspace;
    private boolean closed;

    private CublasLtMatmul(CublasLt lt, boolean fp8, int m, int n, int k, long workspaceLimit) {
        if (m < 1 || n < 1 || k < 1) throw new IllegalArgumentException("m, n, k: must be >= 1, got " + m + ", " + n + ", " + k);
        if (k % 16 != 0) throw new UnsupportedOperationException("k: cuBLASLt needs K % 16 == 0 (16-byte aligned rows), got " + k);
        if (fp8) {
            if (m % 4 != 0) throw new UnsupportedOperationException("m: the cuBLASLt peer needs M % 4 == 0 (scale layout), got " + m);
            if (((k + 127) / 128) % 4 != 0)
                throw new UnsupportedOperationException("k: the cuBLASLt peer needs ceil(K/128) % 4 == 0 (scale layout), got K = " + k);
        }
        this.lt = lt;
        this.fp8 = fp8;
        this.m = m;
        this.n = n;
        this.k = k;
        this.workspaceLimit = workspaceLimit;
        try {
            alpha = arena.allocate(JAVA_FLOAT);
            alpha.set(JAVA_FLOAT, 0, 1f);
            beta = arena.allocate(JAVA_FLOAT);
            beta.set(JAVA_FLOAT, 0, 0f);
            ptrHolder = arena.allocate(JAVA_LONG);
            intHolder = arena.allocate(JAVA_INT);
            heuristic = arena.allocate(HEURISTIC_RESULT_BYTES, 16);
            MemorySegment p = arena.allocate(ADDRESS);

            lt.check((int) lt.matmulDescCreate.invokeExact(p, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
            desc = p.get(ADDRESS, 0);
            setInt(CUBLASLT_MATMUL_DESC_TRANSA, CUBLAS_OP_T);
            setInt(CUBLASLT_MATMUL_DESC_TRANSB, CUBLAS_OP_N);
            if (fp8) {
                setInt(CUBLASLT_MATMUL_DESC_A_SCALE_MODE, CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F);
                setInt(CUBLASLT_MATMUL_DESC_B_SCALE_MODE, CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F);
            }
            int abType = fp8 ? CUDA_R_8F_E4M3 : CUDA_R_16BF;
            aDesc = layout(p, abType, k, n, k); // cuBLAS A' = our B: K x N column-major
            bDesc = layout(p, abType, k, m, k); // cuBLAS B' = our A: K x M column-major
            dDesc = layout(p, CUDA_R_16BF, n, m, n); // D' = our D: N x M column-major

            lt.check((int) lt.preferenceCreate.invokeExact(p), "cublasLtMatmulPreferenceCreate");
            pref = p.get(ADDRESS, 0);
            ptrHolder.set(JAVA_LONG, 0, workspaceLimit);
            lt.check((int) lt.preferenceSetAttribute.invokeExact(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                    ptrHolder, 8L), "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        } catch (Throwable t) {
            arena.close();
            throw new IllegalStateException(t);
        }
    }

    static CublasLtMatmul fp8BlockScaled(CublasLt lt, int m, int n, int k, long workspaceBytes) {
        return new CublasLtMatmul(lt, true, m, n, k, workspaceBytes);
    }

    static CublasLtMatmul bf16(CublasLt lt, int m, int n, int k, long workspaceBytes) {
        return new CublasLtMatmul(lt, false, m, n, k, workspaceBytes);
    }

    private MemorySegment layout(MemorySegment p, int type, long rows, long cols, long ld) throws Throwable {
        lt.check((int) lt.matrixLayoutCreate.invokeExact(p, type, rows, cols, ld), "cublasLtMatrixLayoutCreate");
        return p.get(ADDRESS, 0);
    }

    private void setInt(int attr, int value) throws Throwable {
        intHolder.set(JAVA_INT, 0, value);
        lt.check((int) lt.matmulDescSetAttribute.invokeExact(desc, attr, intHolder, 4L), "cublasLtMatmulDescSetAttribute(" + attr + ")");
    }

    private void setPtr(int attr, long value) throws Throwable {
        ptrHolder.set(JAVA_LONG, 0, value);
        lt.check((int) lt.matmulDescSetAttribute.invokeExact(desc, attr, ptrHolder, 8L), "cublasLtMatmulDescSetAttribute(" + attr + ")");
    }

    /** Asks the heuristic for up to 8 algorithms and keeps the first that fits the workspace. */
    private void plan() throws Throwable {
        int want = 8;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment results = a.allocate(HEURISTIC_RESULT_BYTES * want, 16);
            MemorySegment count = a.allocate(JAVA_INT);
            lt.check((int) lt.algoGetHeuristic.invokeExact(lt.handle(), desc, aDesc, bDesc, dDesc, dDesc, pref, want,
                    results, count), "cublasLtMatmulAlgoGetHeuristic(" + shape() + ")");
            int got = count.get(JAVA_INT, 0);
            for (int i = 0; i < got; i++) {
                MemorySegment r = results.asSlice(i * HEURISTIC_RESULT_BYTES, HEURISTIC_RESULT_BYTES);
                long ws = r.get(JAVA_LONG, HEURISTIC_WORKSPACE_OFFSET);
                if (r.get(JAVA_INT, HEURISTIC_STATE_OFFSET) == 0 && ws <= workspaceLimit) {
                    MemorySegment.copy(r, 0, heuristic, 0, HEURISTIC_RESULT_BYTES);
                    algoWorkspace = ws;
                    planned = true;
                    return;
                }
            }
        }
        throw new CublasLtException(15, "cublasLtMatmulAlgoGetHeuristic(" + shape() + "): no algorithm"
                + " (CUBLAS_STATUS_NOT_SUPPORTED); FP8 block scaling needs cuBLASLt 12.9+ on sm_90");
    }

    /**
     * Enqueues one GEMM on {@code stream} (a {@code cudaStream_t}). Addresses are device pointers:
     * {@code a}/{@code b} FP8 e4m3 (or BF16 for a BF16 plan) row-major {@code [M,K]}/{@code [N,K]},
     * {@code aScales}/{@code bScales} in docs/CONTRACT.md's layouts (ignored for BF16), {@code d} BF16
     * {@code [M,N]}, {@code workspace} at least {@code workspaceBytes} bytes (the limit given at
     * preparation). The first call also runs the heuristic (host only).
     */
    public void launch(long a, long aScales, long b, long bScales, long d, long workspace, long workspaceBytes,
                       MemorySegment stream) {
        if (closed) throw new IllegalStateException("cuBLASLt matmul used after close");
        try {
            if (fp8) {
                setPtr(CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, bScales); // cuBLAS A' is our B
                setPtr(CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, aScales); // cuBLAS B' is our A
            }
            if (!planned) plan();
            if (workspaceBytes < algoWorkspace)
                throw new IllegalArgumentException("workspaceBytes: the chosen algorithm needs " + algoWorkspace + ", got " + workspaceBytes);
            MemorySegment algo = heuristic.asSlice(0, ALGO_BYTES);
            MemorySegment dp = MemorySegment.ofAddress(d);
            lt.check((int) lt.matmul.invokeExact(lt.handle(), desc, alpha,
                    MemorySegment.ofAddress(b), aDesc, MemorySegment.ofAddress(a), bDesc, beta,
                    dp, dDesc, dp, dDesc, algo, MemorySegment.ofAddress(workspace), workspaceBytes, stream),
                    "cublasLtMatmul(" + shape() + ")");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Workspace bytes the chosen algorithm needs (known after the first launch). */
    public long algoWorkspace() {
        return algoWorkspace;
    }

    public String shape() {
        return (fp8 ? "FP8 1x128/128x128" : "BF16") + " M=" + m + " N=" + n + " K=" + k;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            int e1 = (int) lt.preferenceDestroy.invokeExact(pref);
            int e2 = (int) lt.matrixLayoutDestroy.invokeExact(dDesc);
            int e3 = (int) lt.matrixLayoutDestroy.invokeExact(bDesc);
            int e4 = (int) lt.matrixLayoutDestroy.invokeExact(aDesc);
            int e5 = (int) lt.matmulDescDestroy.invokeExact(desc);
            lt.check(e1 != 0 ? e1 : e2 != 0 ? e2 : e3 != 0 ? e3 : e4 != 0 ? e4 : e5, "CublasLtMatmul.close");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            arena.close();
        }
    }
}
