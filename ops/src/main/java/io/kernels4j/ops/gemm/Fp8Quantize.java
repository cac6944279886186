package io.kernels4j.ops.gemm;

import io.kernels4j.bindings.GemmNative;
import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.Checks;
import io.kernels4j.ops.internal.OpSupport;
import io.kernels4j.ops.internal.Status;

/**
 * FP8 e4m3 quantisation into the layouts {@link Fp8Gemm} consumes (docs/CONTRACT.md section 1), bit for bit
 * equal to the Java reference quantiser: per group, {@code amax = max|x|} clamped below at
 * {@code 1e-4}, {@code scale = amax / 448} (IEEE FP32 division), {@code q = e4m3(x / scale)}
 * (IEEE FP32 division, round to nearest even, saturating to +-448). With {@code pow2}, the scale is
 * the smallest power of two {@code >= amax / 448} (UE8M0 style). NaN inputs are not supported (the
 * amax skips them).
 *
 * <p>Inputs are BF16 or FP32; every tensor must be 16-byte aligned and on the stream's device.
 * Asynchronous on the stream, no host sync, no device allocation, no Java heap allocation (unless it throws).
 *
 * <p>Thread-safety: the methods are stateless and may be called from any number of threads at once.
 * Calls on one {@link io.kernels4j.ops.Stream} run on the GPU in the order they were made; calls on
 * different streams run concurrently, so a tensor one of them writes must not be read or written by
 * another until an {@link io.kernels4j.ops.Event} (or a synchronisation) orders them. Closing a tensor
 * or stream while another thread's call uses it is safe: that call either fails with
 * {@link IllegalStateException} before launching, or launches and the memory is released when it
 * ends. A call allocates nothing on the Java heap unless its argument checks throw.
 */
public final class Fp8Quantize {
    private Fp8Quantize() {}

    /**
     * 1x128 per-token groups (activations): {@code x[M, K]} to {@code q[M, K]} and MN-major scales
     * {@code [ceil(K/128), alignUp(M, 4)]} (scale of row m, k-block kb at {@code kb * alignUp(M, 4) + m};
     * the padding entries are written 0). The last group of a row may be shorter than 128.
     *
     * @param x      BF16 or FP32 {@code [M, K]}
     * @param q      FP8_E4M3 {@code [M, K]}, written
     * @param scales FP32 {@code [ceil(K/128), alignUp(M, 4)]}, written
     * @param pow2 true: each scale is the smallest power of two {@code >= amax / 448} (UE8M0 style)
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     */
    public static void perTokenGroup(DeviceTensor x, DeviceTensor q, DeviceTensor scales, boolean pow2, Stream stream) {
        check(x, q, scales, true, stream);
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) GemmNative.k4j_fp8_quant_1x128.invokeExact(OpSupport.address(x), x.dtype().code(), OpSupport.address(q),
                    OpSupport.address(scales), x.dim(0), x.dim(1), pow2 ? 1 : 0, OpSupport.handle(stream));
        } catch (Throwable t) {
            throw Kernels4jNative.rethrow(t);
        }
        Status.check(rc, "Fp8Quantize.perTokenGroup");
        OpSupport.afterOp(stream, "Fp8Quantize.perTokenGroup");
    }

    /**
     * 128x128 blocks (weights): {@code w[N, K]} to {@code q[N, K]} and scales
     * {@code [ceil(N/128), ceil(K/128)]}. Edge blocks may be short.
     *
     * @param w      BF16 or FP32 {@code [N, K]}
     * @param q      FP8_E4M3 {@code [N, K]}, written
     * @param scales FP32 {@code [ceil(N/128), ceil(K/128)]}, written
     * @param pow2 true: each scale is the smallest power of two {@code >= amax / 448} (UE8M0 style)
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     */
    public static void perBlock(DeviceTensor w, DeviceTensor q, DeviceTensor scales, boolean pow2, Stream stream) {
        check(w, q, scales, false, stream);
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) GemmNative.k4j_fp8_quant_128x128.invokeExact(OpSupport.address(w), w.dtype().code(), OpSupport.address(q),
                    OpSupport.address(scales), w.dim(0), w.dim(1), pow2 ? 1 : 0, OpSupport.handle(stream));
        } catch (Throwable t) {
            throw Kernels4jNative.rethrow(t);
        }
        Status.check(rc, "Fp8Quantize.perBlock");
        OpSupport.afterOp(stream, "Fp8Quantize.perBlock");
    }

    /**
     * Every host check of {@link #perTokenGroup} ({@code perToken}) or {@link #perBlock}, in order;
     * allocates nothing when they pass (an allocation-free predicate, then {@link #validate} for the
     * message when it fails; see Fp8Gemm.checkDense).
     */
    static void check(DeviceTensor x, DeviceTensor q, DeviceTensor scales, boolean perToken, Stream stream) {
        Checks.requireNonNull(stream, "stream");
        String op = perToken ? "Fp8Quantize.perTokenGroup" : "Fp8Quantize.perBlock";
        if (!ok(x, q, scales, perToken)) {
            validate(TensorArg.of(x, perToken ? "x" : "w"), TensorArg.of(q, "q"), TensorArg.of(scales, "scales"), perToken);
            throw TensorArg.disagree(op);
        }
        if (stream.isClosed() || !TensorArg.onDevice(x, stream) || !TensorArg.onDevice(q, stream)
                || !TensorArg.onDevice(scales, stream)) {
            Checks.requireSameDevice(stream, x, q, scales);
            throw TensorArg.disagree(op);
        }
    }

    /** True exactly when {@link #validate} accepts the tensors. */
    static boolean ok(DeviceTensor x, DeviceTensor q, DeviceTensor scales, boolean perToken) {
        if (!TensorArg.passes(x, DType.BF16, DType.FP32, 2, -1, -1, -1, Fp8Gemm.ALIGN_BYTES)) return false;
        long rows = x.dim(0), k = x.dim(1);
        if (rows < 1 || rows > Integer.MAX_VALUE - 4 || k < 1 || k > Fp8Gemm.MAX_DIM) return false;
        long kb = Fp8Gemm.ceilDiv(k, Fp8Gemm.BLOCK);
        return TensorArg.passes(q, DType.FP8_E4M3, null, 2, rows, k, -1, Fp8Gemm.ALIGN_BYTES)
                && TensorArg.passes(scales, DType.FP32, null, 2, perToken ? kb : Fp8Gemm.ceilDiv(rows, Fp8Gemm.BLOCK),
                        perToken ? Fp8Gemm.alignUp(rows, 4) : kb, -1, Fp8Gemm.ALIGN_BYTES);
    }

    /** Host checks of both quantisers; returns {rows, K}. */
    static long[] validate(TensorArg x, TensorArg q, TensorArg scales, boolean perToken) {
        String xName = perToken ? "x" : "w";
        TensorArg.required(x, xName).requireRank(2, DType.BF16, DType.FP32).requireAligned(Fp8Gemm.ALIGN_BYTES);
        long rows = x.dim(0), k = x.dim(1);
        if (rows < 1 || rows > Integer.MAX_VALUE - 4)
            throw new IllegalArgumentException(xName + ": rows must be in [1, 2^31 - 4], got " + rows);
        if (k < 1 || k > Fp8Gemm.MAX_DIM)
            throw new IllegalArgumentException(xName + ": K must be in [1, 2^31 - 128], got " + k);
        TensorArg.required(q, "q").requireShape(DType.FP8_E4M3, rows, k).requireAligned(Fp8Gemm.ALIGN_BYTES);
        long kb = Fp8Gemm.ceilDiv(k, Fp8Gemm.BLOCK);
        if (perToken)
            TensorArg.required(scales, "scales").requireShape(DType.FP32, kb, Fp8Gemm.alignUp(rows, 4));
        else
            TensorArg.required(scales, "scales").requireShape(DType.FP32, Fp8Gemm.ceilDiv(rows, Fp8Gemm.BLOCK), kb);
        scales.requireAligned(Fp8Gemm.ALIGN_BYTES);
        return new long[] {rows, k};
    }
}
