package io.kernels4j.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls for {@code native/include/k4j_moe.h} (MoE layout, dispatch, combine, SiLU-and-multiply).
 * Device pointers and sizes are {@code long}, flags {@code int}, the stream an {@code ADDRESS}.
 */
public final class MoeNative {
    private MoeNative() {}

    /** {@code int64_t k4j_moe_layout_workspace_bytes(T, K, E)} (negative: K4J_ERR_*). */
    public static final MethodHandle k4j_moe_layout_workspace_bytes = Downcalls.handle("k4j_moe_layout_workspace_bytes",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));

    /** {@code int64_t k4j_moe_max_padded_rows(T, K, E, alignment)} (negative: K4J_ERR_*). */
    public static final MethodHandle k4j_moe_max_padded_rows = Downcalls.handle("k4j_moe_max_padded_rows",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));

    /** (topkIdx, T, K, E, alignment, numTokensPerExpert, expertOffsets, totalRows, rowOf, workspace, workspaceBytes, errFlags, stream). */
    public static final MethodHandle k4j_moe_layout = Downcalls.handle("k4j_moe_layout",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));

    /** (src INT64, n, dst INT32, stream): top-k ids narrowed on the device. */
    public static final MethodHandle k4j_moe_topk_ids_to_int32 = Downcalls.handle("k4j_moe_topk_ids_to_int32",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));

    /** (x, T, H, K, rowOf, numTokensPerExpert, expertOffsets, E, capacity, outDtype, xOut, xOutScales, pow2, mIndices, errFlags, stream). */
    public static final MethodHandle k4j_moe_dispatch_contiguous = Downcalls.handle("k4j_moe_dispatch_contiguous",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS));

    /** (x, T, H, K, topkIdx, rowOf, numTokensPerExpert, expertOffsets, E, maxTokens, outDtype, xOut, xOutScales, pow2, counts, slotOf, overflow, errFlags, stream). */
    public static final MethodHandle k4j_moe_dispatch_masked = Downcalls.handle("k4j_moe_dispatch_masked",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, ADDRESS));

    /** (y, capacity, H, rowOf, topkWeights, T, K, out, errFlags, stream). */
    public static final MethodHandle k4j_moe_combine_contiguous = Downcalls.handle("k4j_moe_combine_contiguous",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, ADDRESS));

    /** (y, E, maxTokens, H, slotOf, topkWeights, T, K, out, errFlags, stream). */
    public static final MethodHandle k4j_moe_combine_masked = Downcalls.handle("k4j_moe_combine_masked",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));

    /** (gateUp, numGroups, rowsPerGroup, inter, mIndices, counts, outDtype, out, outScales, pow2, errFlags, stream). */
    public static final MethodHandle k4j_moe_silu_mul_quant = Downcalls.handle("k4j_moe_silu_mul_quant",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT,
                    JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS));
}
