package io.kernels4j.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;

/** Downcalls for {@code native/include/k4j_mla.h} (MLA decoding over a paged latent KV cache). */
public final class MlaNative {
    /** Latent + RoPE width of a query/key row (512 + 64). */
    public static final int HEAD_DIM = 576;
    /** Latent width of a value row. */
    public static final int V_DIM = 512;
    /** RoPE width of a key row. */
    public static final int ROPE_DIM = 64;
    /** Bytes of one FP8 cache row: 512 e4m3 values, 4 FP32 scales, 64 BF16 RoPE values. */
    public static final int FP8_ROW_BYTES = 656;
    /** Keys per tile of the decode kernel. */
    public static final int TILE_KEYS = 64;

    private MlaNative() {}

    /** int k4j_mla_schedule_sizes(int64 batch, int num_sms, int fixed_splits, int64 *max_work, int64 *schedule_ints). */
    public static final MethodHandle k4j_mla_schedule_sizes = Downcalls.handle("k4j_mla_schedule_sizes",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));

    /** int k4j_mla_schedule(seqlens, batch, page_size, max_blocks_per_seq, num_sms, fixed_splits, schedule, schedule_ints, err_flags, stream). */
    public static final MethodHandle k4j_mla_schedule = Downcalls.handle("k4j_mla_schedule",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, ADDRESS));

    /** int k4j_mla_workspace_bytes(int64 batch, int64 s_q, int64 h_q, int num_sms, int fixed_splits, int64 *bytes). */
    public static final MethodHandle k4j_mla_workspace_bytes = Downcalls.handle("k4j_mla_workspace_bytes",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS));

    /**
     * int k4j_mla_decode(q, kv_cache, kv_dtype, block_table, cache_seqlens, schedule, workspace, workspace_bytes,
     * out, lse, batch, s_q, h_q, h_kv, num_blocks, page_size, max_blocks_per_seq, num_sms, fixed_splits,
     * softmax_scale, causal, err_flags, stream).
     */
    public static final MethodHandle k4j_mla_decode = Downcalls.handle("k4j_mla_decode",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT,
                    JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_FLOAT, JAVA_INT, JAVA_LONG, ADDRESS));

    /** int k4j_mla_decode_plan(kv_dtype, s_q, h_q, h_kv, num_blocks, page_size, char *buf, int64 size). */
    public static final MethodHandle k4j_mla_decode_plan = Downcalls.handle("k4j_mla_decode_plan",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));

    /** int k4j_mla_kv_cache_write(kv_new, num_tokens, h_kv, slot_mapping, slot_bytes, kv_cache, kv_dtype, num_blocks, page_size, err_flags, stream). */
    public static final MethodHandle k4j_mla_kv_cache_write = Downcalls.handle("k4j_mla_kv_cache_write",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT,
                    JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS));
}
