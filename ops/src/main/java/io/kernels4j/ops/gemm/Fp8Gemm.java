package io.kernels4j.ops.gemm;

import io.kernels4j.bindings.GemmNative;
import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.Checks;
import io.kernels4j.ops.internal.OpSupport;
import io.kernels4j.ops.internal.PlanLine;
import io.kernels4j.ops.internal.Status;

/**
 * FP8 e4m3 GEMM with fine-grained block scaling (DeepGEMM semantics, docs/CONTRACT.md section 2), in three
 * forms: {@link #dense}, grouped contiguous ({@link #groupedContiguous}, {@link #groupedEnds}) and
 * grouped masked ({@link #groupedMasked}).
 *
 * <p>Every form computes, per output element,
 * <pre>
 *   D[m, n] = C[m, n] + sum over k-blocks kb of (sa[m, kb] * sb[n/128, kb]) * (sum over k in kb of A[m, k] * B[n, k])
 * </pre>
 * with each 128-wide partial sum accumulated in FP32 and promoted into the FP32 result once per
 * k-block. {@code C} is optional (FP32, same shape as {@code D}, may be null); {@code D} is BF16
 * (rounded to nearest even once) or FP32.
 *
 * <p>Layouts ({@code KB = ceil(K/128)}, {@code NB = ceil(N/128)}, all row-major):
 * <ul>
 *   <li>{@code a}: FP8_E4M3 {@code [M, K]} ("NT": K contiguous); {@code aScales}: FP32
 *       {@code [KB, alignUp(M, 4)]}, MN-major: the scale of row m and k-block kb at
 *       {@code kb * alignUp(M, 4) + m} (as written by {@link Fp8Quantize#perTokenGroup}).</li>
 *   <li>{@code b}: FP8_E4M3 {@code [N, K]} (grouped: {@code [G, N, K]}); {@code bScales}: FP32
 *       {@code [NB, KB]} (grouped: {@code [G, NB, KB]}), as written by {@link Fp8Quantize#perBlock}.</li>
 * </ul>
 *
 * <p>Checked on the host before anything is launched ({@link IllegalArgumentException} naming the
 * argument, what was expected and what was given): dtypes, exact shapes of every tensor (so an
 * output that is too small is rejected), {@code M >= 1}, {@code N % 8 == 0}, {@code K % 16 == 0},
 * {@code N, K <= 2^31 - 128}, 16-byte alignment of every tensor (4 bytes for the INT32 index arrays), all tensors on the
 * stream's device. Not checkable on the host, and handled on the device: the contents of
 * {@code mIndices}, {@code groupEnds} and {@code maskedM} (bad values are skipped or clamped and
 * raise a bit of the stream's device error word, see {@link Stream#checkDeviceErrors()}).
 *
 * <p>Calls are asynchronous on the given stream: no host synchronisation and no device allocation;
 * they can be captured in a CUDA graph. A call allocates nothing on the Java heap (unless it throws).
 *
 * <p>Thread-safety: the methods are stateless and may be called from any number of threads at once.
 * Calls on one {@link io.kernels4j.ops.Stream} run on the GPU in the order they were made; calls on
 * different streams run concurrently, so a tensor one of them writes must not be read or written by
 * another until an {@link io.kernels4j.ops.Event} (or a synchronisation) orders them. Closing a tensor
 * or stream while another thread's call uses it is safe: that call either fails with
 * {@link IllegalStateException} before launching, or launches and the memory is released when it
 * ends. A call allocates nothing on the Java heap unless its argument checks throw.
 */
public final class Fp8Gemm {
    /** Scale block edge along K (and N for weights). */
    public static final int BLOCK = 128;
    /** Required alignment of every tensor's device address, in bytes. */
    public static final int ALIGN_BYTES = 16;

    private Fp8Gemm() {}

    /** Sizes of a validated call. {@code m} is M (dense), sumM (contiguous/ends) or maxM (masked). */
    record Problem(long m, long n, long k, long groups) {}

    /** The four forms of the GEMM, for {@link #plan}. */
    public enum Form {
        /** {@link #dense}. */
        DENSE,
        /** {@link #groupedContiguous} (mIndices). */
        GROUPED_CONTIGUOUS,
        /** {@link #groupedEnds}. */
        GROUPED_ENDS,
        /** {@link #groupedMasked}. */
        GROUPED_MASKED
    }

    /**
     * The kernel configuration a call of these sizes launches on the stream's device, as one line of
     * text: the family ({@code family=wgmma}: the Hopper TMA + wgmma kernels, chosen on sm_90;
     * {@code family=mma.sync}: the portable kernels of sm_80/sm_89 and the fallback, with the reason in
     * parentheses), the tile ({@code tile=BMxBNxBK}), pipeline stages, cluster size, threads per block,
     * shared memory and grid. Launches nothing; for reports and debugging, not for a hot path (it
     * allocates).
     *
     * @param form      the op
     * @param rows      M (dense), sumM (grouped contiguous/ends) or maxM (grouped masked)
     * @param n         N
     * @param k         K
     * @param groups    G (1 for dense)
     * @param expectedM the masked form's hint (0 = unknown; ignored by the other forms)
     * @param d         the output type, BF16 or FP32
     * @param stream    a stream of the device to plan for
     * @return the plan line, e.g. {@code family=wgmma form=dense tile=128x128x128 stages=4 cluster=1 ...}
     * @throws IllegalArgumentException for sizes the op itself would reject
     */
    public static String plan(Form form, long rows, long n, long k, long groups, int expectedM, DType d, Stream stream) {
        Checks.requireNonNull(form, "form");
        Checks.requireNonNull(d, "d");
        Checks.requireNonNull(stream, "stream");
        return PlanLine.query(stream, "Fp8Gemm.plan", (buf, size) -> (int) GemmNative.k4j_fp8_gemm_plan.invokeExact(
                form.ordinal(), rows, n, k, groups, (long) expectedM, d.code(), buf, size));
    }

    /**
     * Dense NT GEMM: {@code d[M, N] = c + a[M, K] * b[N, K]^T} with block scales.
     *
     * @param a       FP8_E4M3 {@code [M, K]}, {@code M >= 1}, {@code K % 16 == 0}
     * @param aScales FP32 {@code [ceil(K/128), alignUp(M, 4)]} (MN-major)
     * @param b       FP8_E4M3 {@code [N, K]}, {@code N % 8 == 0}
     * @param bScales FP32 {@code [ceil(N/128), ceil(K/128)]}
     * @param c       FP32 {@code [M, N]} added to the product, or null
     * @param d       BF16 or FP32 {@code [M, N]}, written
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     */
    public static void dense(DeviceTensor a, DeviceTensor aScales, DeviceTensor b, DeviceTensor bScales, DeviceTensor c,
                             DeviceTensor d, Stream stream) {
        checkDense(a, aScales, b, bScales, c, d, stream);
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) GemmNative.k4j_fp8_gemm_dense.invokeExact(OpSupport.address(a), OpSupport.address(aScales), OpSupport.address(b),
                    OpSupport.address(bScales), c == null ? 0L : OpSupport.address(c), OpSupport.address(d), d.dtype().code(), a.dim(0), b.dim(0),
                    a.dim(1), OpSupport.handle(stream));
        } catch (Throwable t) {
            throw Kernels4jNative.rethrow(t);
        }
        Status.check(rc, "Fp8Gemm.dense");
        OpSupport.afterOp(stream, "Fp8Gemm.dense");
    }

    /**
     * Grouped contiguous GEMM (MoE prefill): row r of {@code a} is multiplied by expert
     * {@code mIndices[r]}'s weights. Rows with {@code mIndices[r] == -1} are padding: not computed,
     * their rows of {@code d} left as they are. Expert segments are expected contiguous and aligned
     * to 128 rows (DeepGEMM's layout, one pass per tile); other arrangements are still computed
     * correctly, more slowly. An id outside {@code [-1, G)} is skipped like padding and raises
     * {@code K4J_DEVERR_INDEX_OUT_OF_RANGE} in the stream's device error word.
     *
     * @param a        FP8_E4M3 {@code [sumM, K]}
     * @param aScales  FP32 {@code [ceil(K/128), alignUp(sumM, 4)]}
     * @param b        FP8_E4M3 {@code [G, N, K]}
     * @param bScales  FP32 {@code [G, ceil(N/128), ceil(K/128)]}
     * @param c        FP32 {@code [sumM, N]} or null
     * @param d        BF16 or FP32 {@code [sumM, N]}
     * @param mIndices INT32 {@code [sumM]} on the device
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     */
    public static void groupedContiguous(DeviceTensor a, DeviceTensor aScales, DeviceTensor b, DeviceTensor bScales,
                                         DeviceTensor c, DeviceTensor d, DeviceTensor mIndices, Stream stream) {
        checkContiguous(a, aScales, b, bScales, c, d, mIndices, true, stream);
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) GemmNative.k4j_fp8_gemm_grouped_contiguous.invokeExact(OpSupport.address(a), OpSupport.address(aScales), OpSupport.address(b),
                    OpSupport.address(bScales), c == null ? 0L : OpSupport.address(c), OpSupport.address(d), d.dtype().code(), OpSupport.address(mIndices),
                    a.dim(0), b.dim(1), a.dim(1), b.dim(0), OpSupport.errorFlagAddress(stream), OpSupport.handle(stream));
        } catch (Throwable t) {
            throw Kernels4jNative.rethrow(t);
        }
        Status.check(rc, "Fp8Gemm.groupedContiguous");
        OpSupport.afterOp(stream, "Fp8Gemm.groupedContiguous");
    }

    /**
     * Grouped contiguous GEMM without padding: group g owns rows
     * {@code [groupEnds[g-1], groupEnds[g])} of {@code a} and {@code d} ({@code groupEnds[-1] = 0};
     * inclusive prefix sums of the group sizes, no alignment, empty groups allowed). Rows at or past
     * {@code groupEnds[G-1]} are not computed. Ends outside {@code [0, sumM]} or decreasing raise
     * {@code K4J_DEVERR_LENGTH_OUT_OF_RANGE} and are clamped (to {@code [0, sumM]}, then to their
     * running maximum). Same shapes as {@link #groupedContiguous}, with {@code groupEnds} INT32
     * {@code [G]} on the device in place of {@code mIndices}.
     *
     * @param a FP8_E4M3 {@code [sumM, K]}
     * @param aScales FP32 {@code [ceil(K/128), alignUp(sumM, 4)]} (MN-major)
     * @param b FP8_E4M3 {@code [G, N, K]}
     * @param bScales FP32 {@code [G, ceil(N/128), ceil(K/128)]}
     * @param c FP32 {@code [sumM, N]} or null
     * @param d BF16 or FP32 {@code [sumM, N]}
     * @param groupEnds INT32 {@code [G]} on the device: inclusive prefix sums of the group sizes
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     */
    public static void groupedEnds(DeviceTensor a, DeviceTensor aScales, DeviceTensor b, DeviceTensor bScales,
                                   DeviceTensor c, DeviceTensor d, DeviceTensor groupEnds, Stream stream) {
        checkContiguous(a, aScales, b, bScales, c, d, groupEnds, false, stream);
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) GemmNative.k4j_fp8_gemm_grouped_ends.invokeExact(OpSupport.address(a), OpSupport.address(aScales), OpSupport.address(b),
                    OpSupport.address(bScales), c == null ? 0L : OpSupport.address(c), OpSupport.address(d), d.dtype().code(), OpSupport.address(groupEnds),
                    a.dim(0), b.dim(1), a.dim(1), b.dim(0), OpSupport.errorFlagAddress(stream), OpSupport.handle(stream));
        } catch (Throwable t) {
            throw Kernels4jNative.rethrow(t);
        }
        Status.check(rc, "Fp8Gemm.groupedEnds");
        OpSupport.afterOp(stream, "Fp8Gemm.groupedEnds");
    }

    /**
     * Grouped masked GEMM (MoE decode, CUDA-graph friendly): for each group g, rows
     * {@code [0, maskedM[g])} of {@code a[g]} times {@code b[g]} into {@code d[g]}; rows at or past
     * {@code maskedM[g]} of {@code d[g]} are left untouched. {@code maskedM} values outside
     * {@code [0, maxM]} are clamped and raise {@code K4J_DEVERR_LENGTH_OUT_OF_RANGE}.
     *
     * @param a         FP8_E4M3 {@code [G, maxM, K]}
     * @param aScales   FP32 {@code [G, ceil(K/128), alignUp(maxM, 4)]} (MN-major per group)
     * @param b         FP8_E4M3 {@code [G, N, K]}
     * @param bScales   FP32 {@code [G, ceil(N/128), ceil(K/128)]}
     * @param c         FP32 {@code [G, maxM, N]} or null
     * @param d         BF16 or FP32 {@code [G, maxM, N]}
     * @param maskedM   INT32 {@code [G]} on the device
     * @param expectedM host hint of the typical {@code maskedM} (tile choice only), {@code 0} = unknown
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     */
    public static void groupedMasked(DeviceTensor a, DeviceTensor aScales, DeviceTensor b, DeviceTensor bScales,
                                     DeviceTensor c, DeviceTensor d, DeviceTensor maskedM, int expectedM, Stream stream) {
        checkMasked(a, aScales, b, bScales, c, d, maskedM, expectedM, stream);
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) GemmNative.k4j_fp8_gemm_grouped_masked.invokeExact(OpSupport.address(a), OpSupport.address(aScales), OpSupport.address(b),
                    OpSupport.address(bScales), c == null ? 0L : OpSupport.address(c), OpSupport.address(d), d.dtype().code(), OpSupport.address(maskedM),
                    a.dim(0), a.dim(1), b.dim(1), a.dim(2), (long) expectedM, OpSupport.errorFlagAddress(stream), OpSupport.handle(stream));
        } catch (Throwable t) {
            throw Kernels4jNative.rethrow(t);
        }
        Status.check(rc, "Fp8Gemm.groupedMasked");
        OpSupport.afterOp(stream, "Fp8Gemm.groupedMasked");
    }

    // ---- host-side validation (pure Java, no GPU needed) ----

    // The ops call check*(...) and then read the sizes from the tensors. A call must not allocate
    // (CONTRIBUTING), so check* first runs an allocation-free predicate (passes(...)) that accepts
    // exactly what the validate* methods below accept; only when it fails do they run validate* on
    // TensorArg copies, which throws the message. validate* stay the one statement of the rules
    // (and what Fp8GemmArgsTest exercises); Fp8GemmAllocationTest holds check* to zero allocation.

    /** Every host check of {@link #dense}, in order; allocates nothing when they pass. */
    static void checkDense(DeviceTensor a, DeviceTensor aScales, DeviceTensor b, DeviceTensor bScales, DeviceTensor c,
                           DeviceTensor d, Stream stream) {
        Checks.requireNonNull(stream, "stream");
        if (!denseOk(a, aScales, b, bScales, c, d)) {
            validateDense(TensorArg.of(a, "a"), TensorArg.of(aScales, "aScales"), TensorArg.of(b, "b"),
                    TensorArg.of(bScales, "bScales"), TensorArg.of(c, "c"), TensorArg.of(d, "d"));
            throw TensorArg.disagree("Fp8Gemm.dense");
        }
        if (stream.isClosed() || !TensorArg.onDevice(a, stream) || !TensorArg.onDevice(aScales, stream)
                || !TensorArg.onDevice(b, stream) || !TensorArg.onDevice(bScales, stream) || !TensorArg.onDevice(c, stream)
                || !TensorArg.onDevice(d, stream)) {
            Checks.requireSameDevice(stream, a, aScales, b, bScales, c, d);
            throw TensorArg.disagree("Fp8Gemm.dense");
        }
    }

    /** Every host check of {@link #groupedContiguous} ({@code mIndices}) or {@link #groupedEnds}. */
    static void checkContiguous(DeviceTensor a, DeviceTensor aScales, DeviceTensor b, DeviceTensor bScales,
                                DeviceTensor c, DeviceTensor d, DeviceTensor index, boolean mIndices, Stream stream) {
        Checks.requireNonNull(stream, "stream");
        String indexName = mIndices ? "mIndices" : "groupEnds";
        String op = mIndices ? "Fp8Gemm.groupedContiguous" : "Fp8Gemm.groupedEnds";
        if (!contiguousOk(a, aScales, b, bScales, c, d, index, mIndices)) {
            validateContiguous(TensorArg.of(a, "a"), TensorArg.of(aScales, "aScales"), TensorArg.of(b, "b"),
                    TensorArg.of(bScales, "bScales"), TensorArg.of(c, "c"), TensorArg.of(d, "d"),
                    TensorArg.of(index, indexName), indexName);
            throw TensorArg.disagree(op);
        }
        if (stream.isClosed() || !TensorArg.onDevice(a, stream) || !TensorArg.onDevice(aScales, stream)
                || !TensorArg.onDevice(b, stream) || !TensorArg.onDevice(bScales, stream) || !TensorArg.onDevice(c, stream)
                || !TensorArg.onDevice(d, stream) || !TensorArg.onDevice(index, stream)) {
            Checks.requireSameDevice(stream, a, aScales, b, bScales, c, d, index);
            throw TensorArg.disagree(op);
        }
    }

    /** Every host check of {@link #groupedMasked}. */
    static void checkMasked(DeviceTensor a, DeviceTensor aScales, DeviceTensor b, DeviceTensor bScales, DeviceTensor c,
                            DeviceTensor d, DeviceTensor maskedM, int expectedM, Stream stream) {
        Checks.requireNonNull(stream, "stream");
        if (!maskedOk(a, aScales, b, bScales, c, d, maskedM, expectedM)) {
            validateMasked(TensorArg.of(a, "a"), TensorArg.of(aScales, "aScales"), TensorArg.of(b, "b"),
                    TensorArg.of(bScales, "bScales"), TensorArg.of(c, "c"), TensorArg.of(d, "d"),
                    TensorArg.of(maskedM, "maskedM"), expectedM);
            throw TensorArg.disagree("Fp8Gemm.groupedMasked");
        }
        if (stream.isClosed() || !TensorArg.onDevice(a, stream) || !TensorArg.onDevice(aScales, stream)
                || !TensorArg.onDevice(b, stream) || !TensorArg.onDevice(bScales, stream) || !TensorArg.onDevice(c, stream)
                || !TensorArg.onDevice(d, stream) || !TensorArg.onDevice(maskedM, stream)) {
            Checks.requireSameDevice(stream, a, aScales, b, bScales, c, d, maskedM);
            throw TensorArg.disagree("Fp8Gemm.groupedMasked");
        }
    }

    private static boolean kOk(long k) {
        return k >= 16 && k % 16 == 0 && k <= MAX_DIM;
    }

    private static boolean nOk(long n) {
        return n >= 8 && n % 8 == 0 && n <= MAX_DIM;
    }

    private static boolean rowsOk(long m) {
        return m >= 1 && m <= Integer.MAX_VALUE - 4;
    }

    private static boolean groupsOk(long g) {
        return g >= 1 && g <= 65535;
    }

    /** d (BF16 or FP32) and the optional c (FP32) of shape [d0, d1(, d2)]. */
    private static boolean outputsOk(DeviceTensor c, DeviceTensor d, int rank, long d0, long d1, long d2) {
        return TensorArg.passes(d, DType.BF16, DType.FP32, rank, d0, d1, d2, ALIGN_BYTES)
                && (c == null || TensorArg.passes(c, DType.FP32, null, rank, d0, d1, d2, ALIGN_BYTES));
    }

    /** True exactly when {@link #validateDense} accepts the tensors. */
    static boolean denseOk(DeviceTensor a, DeviceTensor aScales, DeviceTensor b, DeviceTensor bScales, DeviceTensor c,
                           DeviceTensor d) {
        if (!TensorArg.passes(a, DType.FP8_E4M3, null, 2, -1, -1, -1, ALIGN_BYTES)) return false;
        long m = a.dim(0), k = a.dim(1);
        if (!rowsOk(m) || !kOk(k) || !TensorArg.passes(b, DType.FP8_E4M3, null, 2, -1, k, -1, ALIGN_BYTES)) return false;
        long n = b.dim(0), kb = ceilDiv(k, BLOCK);
        return nOk(n) && TensorArg.passes(aScales, DType.FP32, null, 2, kb, alignUp(m, 4), -1, ALIGN_BYTES)
                && TensorArg.passes(bScales, DType.FP32, null, 2, ceilDiv(n, BLOCK), kb, -1, ALIGN_BYTES)
                && outputsOk(c, d, 2, m, n, -1);
    }

    /** True exactly when {@link #validateContiguous} accepts the tensors. */
    static boolean contiguousOk(DeviceTensor a, DeviceTensor aScales, DeviceTensor b, DeviceTensor bScales,
                                DeviceTensor c, DeviceTensor d, DeviceTensor index, boolean mIndices) {
        if (!TensorArg.passes(a, DType.FP8_E4M3, null, 2, -1, -1, -1, ALIGN_BYTES)) return false;
        long m = a.dim(0), k = a.dim(1);
        if (!rowsOk(m) || !kOk(k) || !TensorArg.passes(b, DType.FP8_E4M3, null, 3, -1, -1, k, ALIGN_BYTES)) return false;
        long groups = b.dim(0), n = b.dim(1), kb = ceilDiv(k, BLOCK);
        return groupsOk(groups) && nOk(n)
                && TensorArg.passes(aScales, DType.FP32, null, 2, kb, alignUp(m, 4), -1, ALIGN_BYTES)
                && TensorArg.passes(bScales, DType.FP32, null, 3, groups, ceilDiv(n, BLOCK), kb, ALIGN_BYTES)
                && outputsOk(c, d, 2, m, n, -1)
                && TensorArg.passes(index, DType.INT32, null, 1, mIndices ? m : groups, -1, -1, 4);
    }

    /** True exactly when {@link #validateMasked} accepts the tensors. */
    static boolean maskedOk(DeviceTensor a, DeviceTensor aScales, DeviceTensor b, DeviceTensor bScales, DeviceTensor c,
                            DeviceTensor d, DeviceTensor maskedM, int expectedM) {
        if (!TensorArg.passes(a, DType.FP8_E4M3, null, 3, -1, -1, -1, ALIGN_BYTES)) return false;
        long groups = a.dim(0), maxM = a.dim(1), k = a.dim(2);
        if (!groupsOk(groups) || !rowsOk(maxM) || !kOk(k)
                || !TensorArg.passes(b, DType.FP8_E4M3, null, 3, groups, -1, k, ALIGN_BYTES)) return false;
        long n = b.dim(1), kb = ceilDiv(k, BLOCK);
        return nOk(n) && TensorArg.passes(aScales, DType.FP32, null, 3, groups, kb, alignUp(maxM, 4), ALIGN_BYTES)
                && TensorArg.passes(bScales, DType.FP32, null, 3, groups, ceilDiv(n, BLOCK), kb, ALIGN_BYTES)
                && outputsOk(c, d, 3, groups, maxM, n)
                && TensorArg.passes(maskedM, DType.INT32, null, 1, groups, -1, -1, 4)
                && expectedM >= 0;
    }

    static long ceilDiv(long v, long d) {
        return (v + d - 1) / d;
    }

    static long alignUp(long v, long a) {
        return ceilDiv(v, a) * a;
    }

    /** Largest N and K: the kernels' 32-bit tile arithmetic ({@code (K + 127) / 128}, ...) must not overflow. */
    static final long MAX_DIM = (1L << 31) - 128;

    private static void checkK(long k) {
        if (k < 16 || k % 16 != 0 || k > MAX_DIM)
            throw new IllegalArgumentException("k: K must be a positive multiple of 16, at most 2^31 - 128, got " + k);
    }

    private static void checkN(long n, String name) {
        if (n < 8 || n % 8 != 0 || n > MAX_DIM)
            throw new IllegalArgumentException(name + ": N must be a positive multiple of 8, at most 2^31 - 128, got " + n);
    }

    private static void checkRows(long m, String what, String name) {
        if (m < 1 || m > Integer.MAX_VALUE - 4)
            throw new IllegalArgumentException(name + ": " + what + " must be in [1, 2^31 - 4], got " + m);
    }

    private static void checkOutputs(TensorArg c, TensorArg d, long... shape) {
        TensorArg.required(d, "d").requireShapeOneOf(new DType[] {DType.BF16, DType.FP32}, shape).requireAligned(ALIGN_BYTES);
        if (c != null) c.requireShape(DType.FP32, shape).requireAligned(ALIGN_BYTES);
    }

    /** Checks of {@link #dense}; returns (M, N, K, 1). */
    static Problem validateDense(TensorArg a, TensorArg aScales, TensorArg b, TensorArg bScales, TensorArg c, TensorArg d) {
        TensorArg.required(a, "a").requireRank(2, DType.FP8_E4M3).requireAligned(ALIGN_BYTES);
        long m = a.dim(0), k = a.dim(1);
        checkRows(m, "M (a.shape[0])", "a");
        checkK(k);
        TensorArg.required(b, "b").requireShape(DType.FP8_E4M3, -1, k).requireAligned(ALIGN_BYTES);
        long n = b.dim(0);
        checkN(n, "b");
        long kb = ceilDiv(k, BLOCK);
        TensorArg.required(aScales, "aScales").requireShape(DType.FP32, kb, alignUp(m, 4)).requireAligned(ALIGN_BYTES);
        TensorArg.required(bScales, "bScales").requireShape(DType.FP32, ceilDiv(n, BLOCK), kb).requireAligned(ALIGN_BYTES);
        checkOutputs(c, d, m, n);
        return new Problem(m, n, k, 1);
    }

    /** Checks of {@link #groupedContiguous} and {@link #groupedEnds}; returns (sumM, N, K, G). */
    static Problem validateContiguous(TensorArg a, TensorArg aScales, TensorArg b, TensorArg bScales, TensorArg c,
                                      TensorArg d, TensorArg index, String indexName) {
        TensorArg.required(a, "a").requireRank(2, DType.FP8_E4M3).requireAligned(ALIGN_BYTES);
        long m = a.dim(0), k = a.dim(1);
        checkRows(m, "sumM (a.shape[0])", "a");
        checkK(k);
        TensorArg.required(b, "b").requireShape(DType.FP8_E4M3, -1, -1, k).requireAligned(ALIGN_BYTES);
        long groups = b.dim(0), n = b.dim(1);
        if (groups < 1 || groups > 65535)
            throw new IllegalArgumentException("b: number of groups G (b.shape[0]) must be in [1, 65535], got " + groups);
        checkN(n, "b");
        long kb = ceilDiv(k, BLOCK);
        TensorArg.required(aScales, "aScales").requireShape(DType.FP32, kb, alignUp(m, 4)).requireAligned(ALIGN_BYTES);
        TensorArg.required(bScales, "bScales").requireShape(DType.FP32, groups, ceilDiv(n, BLOCK), kb)
                .requireAligned(ALIGN_BYTES);
        checkOutputs(c, d, m, n);
        long indexLen = indexName.equals("mIndices") ? m : groups;
        TensorArg.required(index, indexName).requireShape(DType.INT32, indexLen).requireAligned(4);
        return new Problem(m, n, k, groups);
    }

    /** Checks of {@link #groupedMasked}; returns (maxM, N, K, G). */
    static Problem validateMasked(TensorArg a, TensorArg aScales, TensorArg b, TensorArg bScales, TensorArg c, TensorArg d,
                                  TensorArg maskedM, int expectedM) {
        TensorArg.required(a, "a").requireRank(3, DType.FP8_E4M3).requireAligned(ALIGN_BYTES);
        long groups = a.dim(0), maxM = a.dim(1), k = a.dim(2);
        if (groups < 1 || groups > 65535)
            throw new IllegalArgumentException("a: number of groups G (a.shape[0]) must be in [1, 65535], got " + groups);
        checkRows(maxM, "maxM (a.shape[1])", "a");
        checkK(k);
        TensorArg.required(b, "b").requireShape(DType.FP8_E4M3, groups, -1, k).requireAligned(ALIGN_BYTES);
        long n = b.dim(1);
        checkN(n, "b");
        long kb = ceilDiv(k, BLOCK);
        TensorArg.required(aScales, "aScales").requireShape(DType.FP32, groups, kb, alignUp(maxM, 4))
                .requireAligned(ALIGN_BYTES);
        TensorArg.required(bScales, "bScales").requireShape(DType.FP32, groups, ceilDiv(n, BLOCK), kb)
                .requireAligned(ALIGN_BYTES);
        checkOutputs(c, d, groups, maxM, n);
        TensorArg.required(maskedM, "maskedM").requireShape(DType.INT32, groups).requireAligned(4);
        if (expectedM < 0) throw new IllegalArgumentException("expectedM: must be >= 0 (0 = unknown), got " + expectedM);
        return new Problem(maxM, n, k, groups);
    }
}
