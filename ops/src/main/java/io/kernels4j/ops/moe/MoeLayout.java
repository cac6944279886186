package io.kernels4j.ops.moe;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.bindings.MoeNative;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.OpSupport;
import io.kernels4j.ops.internal.Status;

/**
 * MoE routing layout (docs/CONTRACT.md section 4), computed on the device: from {@code topkIdx[T, K]} INT32
 * (expert ids in {@code [0, E)}, {@code -1} = not routed) it writes
 * <ul>
 *   <li>{@code numTokensPerExpert[E]} INT32: routed (token, k) pairs per expert;</li>
 *   <li>{@code expertOffsets[E + 1]} INT32: start row of each expert's segment in the
 *       grouped-contiguous layout, each segment padded to {@code alignment} rows (an empty expert
 *       gets an empty segment); {@code expertOffsets[E]} is the total padded row count;</li>
 *   <li>{@code totalRows[1]} INT32 (optional): the same total, for the caller to read;</li>
 *   <li>{@code rowOf[T, K]} INT32: the destination row of each pair, {@code -1} if not routed.
 *       Within an expert, rows follow ascending token order (then ascending k): deterministic,
 *       unlike atomics-based implementations.</li>
 * </ul>
 * Ids outside {@code [0, E)} other than {@code -1} are treated as not routed and raise
 * {@code K4J_DEVERR_INDEX_OUT_OF_RANGE} in the stream's error word. No host sync, no allocation:
 * scratch comes from a caller workspace of {@link #workspaceBytes} bytes, so the op is CUDA-graph safe.
 * Limits: {@code 1 <= K <= 32}, {@code 1 <= E <= 1024}, {@code 1 <= alignment <= 1024} (DeepGEMM
 * uses 128; the masked layout works with any alignment).
 *
 * <p>Thread-safety: the methods are stateless and may be called from any number of threads at once.
 * Calls on one {@link io.kernels4j.ops.Stream} run on the GPU in the order they were made; calls on
 * different streams run concurrently, so a tensor one of them writes must not be read or written by
 * another until an {@link io.kernels4j.ops.Event} (or a synchronisation) orders them. Closing a tensor
 * or stream while another thread's call uses it is safe: that call either fails with
 * {@link IllegalStateException} before launching, or launches and the memory is released when it
 * ends. A call allocates nothing on the Java heap unless its argument checks throw.
 */
public final class MoeLayout {
    private MoeLayout() {}

    /**
     * Bytes of workspace {@link #compute} needs for T tokens, top-k K and E experts (may be 0): one
     * INT32 per (chunk, expert), at most 64 chunks. Mirrors {@code k4j_moe_layout_workspace_bytes}.
     *
     * @param numTokens T
     * @param topK K
     * @param numExperts E
     * @return the bytes (a multiple of 256, possibly 0)
     */
    public static long workspaceBytes(long numTokens, long topK, long numExperts) {
        MoeShapes.routing(numTokens, topK, numExperts);
        long pairs = numTokens * topK;
        long units = (pairs + 255) / 256;
        long steps = units == 0 ? 1 : (units + 63) / 64;
        long chunk = steps * 256;
        long chunks = (pairs + chunk - 1) / chunk;
        return (chunks * numExperts * 4 + 255) / 256 * 256;
    }

    /**
     * Worst-case total padded rows: {@code T*K + min(E, T*K) * (alignment - 1)}. A contiguous
     * dispatch capacity of this many rows never overflows, whatever the routing.
     *
     * @param numTokens T
     * @param topK K
     * @param numExperts E
     * @param alignment segment alignment in rows
     * @return the row count
     */
    public static long maxPaddedRows(long numTokens, long topK, long numExperts, long alignment) {
        MoeShapes.routing(numTokens, topK, numExperts);
        MoeShapes.alignment(alignment);
        long pairs = numTokens * topK;
        return pairs + Math.min(pairs, numExperts) * (alignment - 1);
    }

    /**
     * Computes the layout (three small kernels on {@code stream}).
     *
     * @param topkIdx            INT32 [T, K]
     * @param numExperts         E
     * @param alignment          segment alignment in rows (1, 64, 128...)
     * @param numTokensPerExpert INT32 [E], written
     * @param expertOffsets      INT32 [E + 1], written
     * @param totalRows          INT32 [1], written; may be null
     * @param rowOf              INT32 [T, K], written
     * @param workspace          at least {@link #workspaceBytes} bytes (any dtype); may be null when that is 0
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     */
    public static void compute(DeviceTensor topkIdx, int numExperts, int alignment, DeviceTensor numTokensPerExpert,
            DeviceTensor expertOffsets, DeviceTensor totalRows, DeviceTensor rowOf, DeviceTensor workspace, Stream stream) {
        MoeArgs.checkLayout(topkIdx, numExperts, alignment, numTokensPerExpert, expertOffsets, totalRows, rowOf, workspace,
                stream);
        long t = topkIdx.dim(0), k = topkIdx.dim(1);
        long have = workspace == null ? 0 : workspace.byteSize(); // checked: >= workspaceBytes(t, k, numExperts)
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) MoeNative.k4j_moe_layout.invokeExact(OpSupport.address(topkIdx), t, k, (long) numExperts, (long) alignment,
                    OpSupport.address(numTokensPerExpert), OpSupport.address(expertOffsets), MoeOps.addr(totalRows), OpSupport.address(rowOf),
                    MoeOps.addr(workspace), have, OpSupport.errorFlagAddress(stream), OpSupport.handle(stream));
        } catch (Throwable e) {
            throw Kernels4jNative.rethrow(e);
        }
        Status.check(rc, "MoeLayout.compute");
        OpSupport.afterOp(stream, "MoeLayout.compute");
    }

    /**
     * Narrows INT64 top-k ids (PyTorch's {@code torch.topk} index dtype) to the INT32 ids
     * {@link #compute} reads, on the device (one small kernel, no sync, no allocation). An id
     * outside {@code [-1, 2^31 - 1]} becomes {@code Integer.MIN_VALUE}, never a wrapped plausible
     * expert id, so the layout then skips it and raises {@code K4J_DEVERR_INDEX_OUT_OF_RANGE}.
     *
     * @param topkIdx   INT64 [T, K], 8-byte aligned
     * @param topkIdx32 INT32 [T, K], written
     * @param stream    where the kernel runs
     */
    public static void topkIdsToInt32(DeviceTensor topkIdx, DeviceTensor topkIdx32, Stream stream) {
        MoeArgs.checkTopkIds(topkIdx, topkIdx32, stream);
        long n = topkIdx.numel();
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) MoeNative.k4j_moe_topk_ids_to_int32.invokeExact(OpSupport.address(topkIdx), n,
                    OpSupport.address(topkIdx32), OpSupport.handle(stream));
        } catch (Throwable e) {
            throw Kernels4jNative.rethrow(e);
        }
        Status.check(rc, "MoeLayout.topkIdsToInt32");
        OpSupport.afterOp(stream, "MoeLayout.topkIdsToInt32");
    }
}
