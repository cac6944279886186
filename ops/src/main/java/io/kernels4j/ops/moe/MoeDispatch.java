package io.kernels4j.ops.moe;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.bindings.MoeNative;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.OpSupport;
import io.kernels4j.ops.internal.Status;

/**
 * MoE dispatch ("permute", docs/CONTRACT.md section 4): copies each token's row {@code x[t]} (BF16,
 * {@code H % 128 == 0}) to the row of every expert it is routed to, as a layout the grouped FP8
 * GEMMs consume. One pass over {@code x} with 16-byte loads and stores; with an FP8 output the
 * cast is fused (docs/CONTRACT.md section 1: 1x128 groups, amax clamped at 1e-4, scale = amax / 448 in FP32,
 * {@code q = e4m3(x / scale)}, optionally power-of-two scales), bit for bit the same as
 * {@link io.kernels4j.ops.host.Fp8Quantizer}. Scales are FP32 in the GEMM's MN-major layout.
 *
 * <p>Both methods take the outputs of {@link MoeLayout#compute} for the same {@code topkIdx}; they
 * never synchronise or allocate (CUDA-graph safe). Data the host cannot see is checked on the
 * device: a row past the output's capacity is not written and raises
 * {@code K4J_DEVERR_CAPACITY_OVERFLOW}; an inconsistent row map raises
 * {@code K4J_DEVERR_INDEX_OUT_OF_RANGE} (see {@link Stream#checkDeviceErrors()}).
 *
 * <p>Thread-safety: the methods are stateless and may be called from any number of threads at once.
 * Calls on one {@link io.kernels4j.ops.Stream} run on the GPU in the order they were made; calls on
 * different streams run concurrently, so a tensor one of them writes must not be read or written by
 * another until an {@link io.kernels4j.ops.Event} (or a synchronisation) orders them. Closing a tensor
 * or stream while another thread's call uses it is safe: that call either fails with
 * {@link IllegalStateException} before launching, or launches and the memory is released when it
 * ends. A call allocates nothing on the Java heap unless its argument checks throw.
 */
public final class MoeDispatch {
    private MoeDispatch() {}

    /**
     * Grouped-contiguous layout (prefill): expert e's rows are
     * {@code [expertOffsets[e], expertOffsets[e] + numTokensPerExpert[e])}, followed by padding up to
     * {@code expertOffsets[e + 1]}.
     *
     * @param x                  BF16 [T, H], 16-byte aligned
     * @param rowOf              INT32 [T, K] from the layout
     * @param numTokensPerExpert INT32 [E] from the layout
     * @param expertOffsets      INT32 [E + 1] from the layout
     * @param xOut               BF16 or FP8_E4M3 [capacity, H], 16-byte aligned; capacity =
     *                           {@link MoeLayout#maxPaddedRows} never overflows. Padding rows are
     *                           left untouched.
     * @param xOutScales         FP8 only: FP32 [H/128, alignUp(capacity, 4)] (MN-major); null for BF16
     * @param pow2Scales         round scales up to powers of two (UE8M0 style)
     * @param mIndices           INT32 [capacity] or null: expert of each row, -1 for padding and for
     *                           rows past the total (the grouped GEMM's {@code mIndices})
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     */
    public static void contiguous(DeviceTensor x, DeviceTensor rowOf, DeviceTensor numTokensPerExpert,
            DeviceTensor expertOffsets, DeviceTensor xOut, DeviceTensor xOutScales, boolean pow2Scales,
            DeviceTensor mIndices, Stream stream) {
        MoeArgs.checkDispatchContiguous(x, rowOf, numTokensPerExpert, expertOffsets, xOut, xOutScales, mIndices, stream);
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) MoeNative.k4j_moe_dispatch_contiguous.invokeExact(OpSupport.address(x), x.dim(0), x.dim(1), rowOf.dim(1),
                    OpSupport.address(rowOf), OpSupport.address(numTokensPerExpert), OpSupport.address(expertOffsets), numTokensPerExpert.dim(0),
                    xOut.dim(0), xOut.dtype().code(), OpSupport.address(xOut), MoeOps.addr(xOutScales), pow2Scales ? 1 : 0,
                    MoeOps.addr(mIndices), OpSupport.errorFlagAddress(stream), OpSupport.handle(stream));
        } catch (Throwable e) {
            throw Kernels4jNative.rethrow(e);
        }
        Status.check(rc, "MoeDispatch.contiguous");
        OpSupport.afterOp(stream, "MoeDispatch.contiguous");
    }

    /**
     * Masked layout (decode, DeepEP low-latency style): expert e's tokens go to
     * {@code xOut[e, 0 .. counts[e])} in ascending (token, k) order. A pair whose rank in its expert
     * is {@code >= maxTokensPerExpert} is dropped: not written, {@code slotOf = -1}, counted in
     * {@code overflow} and flagged with {@code K4J_DEVERR_CAPACITY_OVERFLOW}. Rows past
     * {@code counts[e]} are left untouched.
     *
     * @param topkIdx    INT32 [T, K] (the routing the layout was computed from)
     * @param xOut       BF16 or FP8_E4M3 [E, maxTokensPerExpert, H], 16-byte aligned
     * @param xOutScales FP8 only: FP32 [E, H/128, alignUp(maxTokensPerExpert, 4)]; null for BF16
     * @param counts     INT32 [E], written: {@code min(numTokensPerExpert[e], maxTokensPerExpert)}
     *                   (the masked GEMM's {@code maskedM})
     * @param slotOf     INT32 [T, K], written: flat row {@code e * maxTokensPerExpert + rank}, or -1;
     *                   {@link MoeCombine#masked} reads it
     * @param overflow   INT32 [1] or null, written: number of dropped pairs (0 when none)
     * @param x BF16 [T, H], 16-byte aligned
     * @param rowOf INT32 [T, K] from the layout
     * @param numTokensPerExpert INT32 [E] from the layout
     * @param expertOffsets INT32 [E + 1] from the layout
     * @param pow2Scales round scales up to powers of two (UE8M0 style)
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     */
    public static void masked(DeviceTensor x, DeviceTensor topkIdx, DeviceTensor rowOf, DeviceTensor numTokensPerExpert,
            DeviceTensor expertOffsets, DeviceTensor xOut, DeviceTensor xOutScales, boolean pow2Scales, DeviceTensor counts,
            DeviceTensor slotOf, DeviceTensor overflow, Stream stream) {
        MoeArgs.checkDispatchMasked(x, topkIdx, rowOf, numTokensPerExpert, expertOffsets, xOut, xOutScales, counts, slotOf,
                overflow, stream);
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) MoeNative.k4j_moe_dispatch_masked.invokeExact(OpSupport.address(x), x.dim(0), x.dim(1), rowOf.dim(1),
                    OpSupport.address(topkIdx), OpSupport.address(rowOf), OpSupport.address(numTokensPerExpert), OpSupport.address(expertOffsets),
                    numTokensPerExpert.dim(0), xOut.dim(1), xOut.dtype().code(), OpSupport.address(xOut), MoeOps.addr(xOutScales),
                    pow2Scales ? 1 : 0, OpSupport.address(counts), OpSupport.address(slotOf), MoeOps.addr(overflow), OpSupport.errorFlagAddress(stream),
                    OpSupport.handle(stream));
        } catch (Throwable e) {
            throw Kernels4jNative.rethrow(e);
        }
        Status.check(rc, "MoeDispatch.masked");
        OpSupport.afterOp(stream, "MoeDispatch.masked");
    }
}
