package io.kernels4j.ops.moe;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.bindings.MoeNative;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.OpSupport;
import io.kernels4j.ops.internal.Status;

/**
 * SiLU-and-multiply between the gate/up and the down grouped GEMMs of an MoE layer, with the FP8
 * re-quantisation fused. {@code gateUp[..., 2I]} BF16 holds the gate in columns {@code [0, I)} and
 * the up projection in {@code [I, 2I)} (vLLM's {@code silu_and_mul} and DeepGEMM's layout);
 * {@code h = silu(gate) * up} is computed in FP32 with {@code silu(g) = g / (1 + expf(-g))} and
 * written as e4m3 + 1x128 FP32 scales in the GEMM's MN-major layout (docs/CONTRACT.md section 1; h is not
 * rounded to BF16 first), or as BF16. {@code I % 128 == 0}. Rows that hold no token are skipped and
 * left untouched. No host sync, no allocation.
 *
 * <p>Because CUDA's {@code expf} is not correctly rounded, h may differ from an FP64 reference in
 * the last FP32 bit; a quantised code may then differ by one step (see the moe checks).
 *
 * <p>Thread-safety: the methods are stateless and may be called from any number of threads at once.
 * Calls on one {@link io.kernels4j.ops.Stream} run on the GPU in the order they were made; calls on
 * different streams run concurrently, so a tensor one of them writes must not be read or written by
 * another until an {@link io.kernels4j.ops.Event} (or a synchronisation) orders them. Closing a tensor
 * or stream while another thread's call uses it is safe: that call either fails with
 * {@link IllegalStateException} before launching, or launches and the memory is released when it
 * ends. A call allocates nothing on the Java heap unless its argument checks throw.
 */
public final class SiluAndMul {
    private SiluAndMul() {}

    /**
     * Grouped-contiguous layout.
     *
     * @param gateUp    BF16 [rows, 2I], 16-byte aligned
     * @param mIndices  INT32 [rows] or null: rows with -1 are skipped
     * @param out       FP8_E4M3 or BF16 [rows, I], 16-byte aligned
     * @param outScales FP8 only: FP32 [I/128, alignUp(rows, 4)]; null for BF16
     * @param pow2Scales round scales up to powers of two (UE8M0 style)
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     */
    public static void contiguous(DeviceTensor gateUp, DeviceTensor mIndices, DeviceTensor out, DeviceTensor outScales,
            boolean pow2Scales, Stream stream) {
        MoeArgs.checkSiluAndMul(gateUp, false, mIndices, "mIndices", out, outScales, stream);
        launch(gateUp, 1, gateUp.dim(0), gateUp.dim(1) / 2, mIndices, null, out, outScales, pow2Scales, stream, "SiluAndMul.contiguous");
    }

    /**
     * Masked layout.
     *
     * @param gateUp    BF16 [E, maxTokensPerExpert, 2I], 16-byte aligned
     * @param counts    INT32 [E] or null: rows {@code >= counts[e]} of expert e are skipped
     *                  (counts outside {@code [0, maxTokensPerExpert]} are clamped and raise
     *                  {@code K4J_DEVERR_LENGTH_OUT_OF_RANGE})
     * @param out       FP8_E4M3 or BF16 [E, maxTokensPerExpert, I], 16-byte aligned
     * @param outScales FP8 only: FP32 [E, I/128, alignUp(maxTokensPerExpert, 4)]; null for BF16
     * @param pow2Scales round scales up to powers of two (UE8M0 style)
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     */
    public static void masked(DeviceTensor gateUp, DeviceTensor counts, DeviceTensor out, DeviceTensor outScales,
            boolean pow2Scales, Stream stream) {
        MoeArgs.checkSiluAndMul(gateUp, true, counts, "counts", out, outScales, stream);
        launch(gateUp, gateUp.dim(0), gateUp.dim(1), gateUp.dim(2) / 2, null, counts, out, outScales, pow2Scales, stream,
                "SiluAndMul.masked");
    }

    private static void launch(DeviceTensor gateUp, long groups, long rowsPerGroup, long inter, DeviceTensor mIndices,
            DeviceTensor counts, DeviceTensor out, DeviceTensor outScales, boolean pow2, Stream stream, String op) {
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) MoeNative.k4j_moe_silu_mul_quant.invokeExact(OpSupport.address(gateUp), groups, rowsPerGroup, inter,
                    MoeOps.addr(mIndices), MoeOps.addr(counts), out.dtype().code(), OpSupport.address(out), MoeOps.addr(outScales),
                    pow2 ? 1 : 0, OpSupport.errorFlagAddress(stream), OpSupport.handle(stream));
        } catch (Throwable e) {
            throw Kernels4jNative.rethrow(e);
        }
        Status.check(rc, op);
        OpSupport.afterOp(stream, op);
    }
}
