package io.kernels4j.ops.moe;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.bindings.MoeNative;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.OpSupport;
import io.kernels4j.ops.internal.Status;

/**
 * MoE combine ("unpermute", docs/CONTRACT.md section 4):
 * {@code out[t] = sum over k = 0..K-1 with row(t, k) >= 0 of topkWeights[t, k] * y[row(t, k)]},
 * accumulated in FP32 (fused multiply-adds in ascending k order, so results are bitwise
 * reproducible), rounded once to BF16. A token with no routed slot gets zeros. Rows outside
 * {@code y} are skipped and raise {@code K4J_DEVERR_INDEX_OUT_OF_RANGE}. No host sync, no allocation.
 *
 * <p>Thread-safety: the methods are stateless and may be called from any number of threads at once.
 * Calls on one {@link io.kernels4j.ops.Stream} run on the GPU in the order they were made; calls on
 * different streams run concurrently, so a tensor one of them writes must not be read or written by
 * another until an {@link io.kernels4j.ops.Event} (or a synchronisation) orders them. Closing a tensor
 * or stream while another thread's call uses it is safe: that call either fails with
 * {@link IllegalStateException} before launching, or launches and the memory is released when it
 * ends. A call allocates nothing on the Java heap unless its argument checks throw.
 */
public final class MoeCombine {
    private MoeCombine() {}

    /**
     * From the grouped-contiguous layout.
     *
     * @param y           BF16 [capacity, H], 16-byte aligned (the down-projection output)
     * @param rowOf       INT32 [T, K] from {@link MoeLayout#compute}
     * @param topkWeights FP32 [T, K]
     * @param out         BF16 [T, H], 16-byte aligned, written
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     */
    public static void contiguous(DeviceTensor y, DeviceTensor rowOf, DeviceTensor topkWeights, DeviceTensor out, Stream stream) {
        MoeArgs.checkCombine(y, false, rowOf, "rowOf", topkWeights, out, stream);
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) MoeNative.k4j_moe_combine_contiguous.invokeExact(OpSupport.address(y), y.dim(0), y.dim(1), OpSupport.address(rowOf),
                    OpSupport.address(topkWeights), rowOf.dim(0), rowOf.dim(1), OpSupport.address(out), OpSupport.errorFlagAddress(stream), OpSupport.handle(stream));
        } catch (Throwable e) {
            throw Kernels4jNative.rethrow(e);
        }
        Status.check(rc, "MoeCombine.contiguous");
        OpSupport.afterOp(stream, "MoeCombine.contiguous");
    }

    /**
     * From the masked layout; dropped pairs ({@code slotOf = -1}) add nothing.
     *
     * @param y           BF16 [E, maxTokensPerExpert, H], 16-byte aligned
     * @param slotOf      INT32 [T, K] from {@link MoeDispatch#masked}
     * @param topkWeights FP32 [T, K]
     * @param out         BF16 [T, H], 16-byte aligned, written
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     */
    public static void masked(DeviceTensor y, DeviceTensor slotOf, DeviceTensor topkWeights, DeviceTensor out, Stream stream) {
        MoeArgs.checkCombine(y, true, slotOf, "slotOf", topkWeights, out, stream);
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) MoeNative.k4j_moe_combine_masked.invokeExact(OpSupport.address(y), y.dim(0), y.dim(1), y.dim(2), OpSupport.address(slotOf),
                    OpSupport.address(topkWeights), slotOf.dim(0), slotOf.dim(1), OpSupport.address(out), OpSupport.errorFlagAddress(stream), OpSupport.handle(stream));
        } catch (Throwable e) {
            throw Kernels4jNative.rethrow(e);
        }
        Status.check(rc, "MoeCombine.masked");
        OpSupport.afterOp(stream, "MoeCombine.masked");
    }
}
