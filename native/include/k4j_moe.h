/* kernels4j C ABI: moe ops (docs/CONTRACT.md section 4: DeepEP / vLLM semantics on one GPU). Included from
 * kernels4j.h; same conventions.
 *
 * Routing input: topk_idx[T, K] INT32 expert ids in [0, E), -1 = not routed (any other value is
 * skipped like -1 and raises K4J_DEVERR_INDEX_OUT_OF_RANGE); topk_weights[T, K] FP32;
 * x[T, H] BF16 with H % 128 == 0. Limits: 1 <= K <= 32, 1 <= E <= 1024, 1 <= alignment <= 1024,
 * H (and the SiLU's I) <= 65535 * 1024 (grid limit).
 * The pairs (t, k) are ordered token-major: pair index t * K + k.
 *
 * A step of an MoE layer:
 *   k4j_moe_layout                 topk_idx -> counts, offsets, total rows, row_of
 *   k4j_moe_dispatch_contiguous    x -> xE[capacity, H] (+ scales) + m_indices      (prefill)
 *   k4j_moe_dispatch_masked        x -> xE[E, maxTokens, H] (+ scales) + counts    (decode)
 *   grouped FP8 GEMM (gate/up), k4j_moe_silu_mul_quant, grouped FP8 GEMM (down)
 *   k4j_moe_combine_contiguous / k4j_moe_combine_masked   y -> out[T, H]
 *
 * FP8 activation scales are FP32 in the GEMM's MN-major layout, per group of rows:
 * scales[g][kb][alignUp(M, 4)] with M the rows per group (contiguous: one group of `capacity` rows;
 * masked: E groups of maxTokens rows), i.e. element (row m of group g, column block kb) lives at
 * (g * (H / 128) + kb) * alignUp(M, 4) + m. Padding entries are never written.
 * Quantisation per docs/CONTRACT.md section 1 (amax >= 1e-4, scale = amax / 448, q = e4m3(x / scale), RN,
 * saturating; pow2_scales != 0 rounds the scale up to a power of two, computed on its bits).
 */
#ifndef K4J_MOE_H
#define K4J_MOE_H
#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of scratch k4j_moe_layout needs (may be 0), or a negative K4J_ERR_* for bad sizes. */
K4J_API int64_t k4j_moe_layout_workspace_bytes(int64_t num_tokens, int64_t top_k, int64_t num_experts);

/* Worst-case padded row count of the contiguous layout: T*K + min(E, T*K) * (alignment - 1).
 * A capacity of this many rows never overflows. Negative K4J_ERR_* for bad sizes. */
K4J_API int64_t k4j_moe_max_padded_rows(int64_t num_tokens, int64_t top_k, int64_t num_experts,
                                        int64_t alignment);

/* Layout, all on the device (three small kernels, deterministic).
 *   num_tokens_per_expert[E] INT32: routed pairs per expert.
 *   expert_offsets[E + 1] INT32: start row of each expert's segment; segment e holds
 *       alignUp(count[e], alignment) rows (0 for an empty expert), so every offset is a multiple
 *       of alignment; expert_offsets[E] = total padded rows.
 *   total_rows INT32 scalar (may be 0): the same total.
 *   row_of[T, K] INT32: destination row of pair (t, k), -1 if not routed. Within an expert, rows
 *       follow ascending (t, k) order: expert_offsets[e] + number of earlier pairs with expert e.
 *   workspace: k4j_moe_layout_workspace_bytes(...) bytes, 4-byte aligned (may be 0 if that is 0).
 * T may be 0 (counts 0, offsets 0). */
K4J_API int k4j_moe_layout(k4j_dptr topk_idx, int64_t num_tokens, int64_t top_k, int64_t num_experts,
                           int64_t alignment, k4j_dptr num_tokens_per_expert, k4j_dptr expert_offsets,
                           k4j_dptr total_rows, k4j_dptr row_of, k4j_dptr workspace,
                           int64_t workspace_bytes, k4j_dptr err_flags, k4j_stream stream);

/* Top-k expert ids INT64[n] (PyTorch's dtype) -> INT32[n] for k4j_moe_layout, on the device, no
 * sync. An id outside [-1, 2^31 - 1] becomes INT32_MIN, which the layout flags as out of range.
 * src 8-byte aligned, dst 4-byte aligned; n in [0, 2^31 - 1]. */
K4J_API int k4j_moe_topk_ids_to_int32(k4j_dptr src, int64_t n, k4j_dptr dst, k4j_stream stream);

/* Dispatch to the grouped-contiguous layout (feeds the grouped contiguous FP8 GEMM).
 *   x[T, H] BF16 (16-byte aligned); row_of, num_tokens_per_expert, expert_offsets from the layout.
 *   out_dtype K4J_DTYPE_BF16: x_out[capacity, H] BF16, x_out_scales ignored (may be 0).
 *   out_dtype K4J_DTYPE_FP8_E4M3: x_out[capacity, H] e4m3 and x_out_scales FP32
 *       [H/128][alignUp(capacity, 4)] (MN-major), the cast fused (x read once).
 *   m_indices[capacity] INT32 (may be 0): expert of each row; -1 for alignment padding and for
 *       rows at or past the total.
 * Real rows are written; padding rows of x_out / scales are left untouched (the GEMM ignores them
 * through m_indices). A pair whose row is >= capacity is not written and raises
 * K4J_DEVERR_CAPACITY_OVERFLOW. x_out must be 16-byte aligned. */
K4J_API int k4j_moe_dispatch_contiguous(k4j_dptr x, int64_t num_tokens, int64_t hidden, int64_t top_k,
                                        k4j_dptr row_of, k4j_dptr num_tokens_per_expert,
                                        k4j_dptr expert_offsets, int64_t num_experts, int64_t capacity,
                                        int out_dtype, k4j_dptr x_out, k4j_dptr x_out_scales,
                                        int pow2_scales, k4j_dptr m_indices, k4j_dptr err_flags,
                                        k4j_stream stream);

/* Dispatch to the masked layout (feeds the grouped masked FP8 GEMM, CUDA-graph friendly).
 *   topk_idx, row_of, num_tokens_per_expert, expert_offsets: routing and its layout (any alignment;
 *       the rank of a pair in its expert is row_of - expert_offsets[e]).
 *   x_out[E, max_tokens_per_expert, H] BF16 or e4m3; fp8 scales FP32
 *       [E][H/128][alignUp(max_tokens_per_expert, 4)].
 *   counts[E] INT32: min(num_tokens_per_expert[e], max_tokens_per_expert) (the GEMM's maskedM).
 *   slot_of[T, K] INT32: flat destination row e * max_tokens_per_expert + rank, -1 if not routed or
 *       dropped; k4j_moe_combine_masked reads it.
 *   overflow INT32 scalar (may be 0): number of pairs dropped because their expert already had
 *       max_tokens_per_expert rows (the later tokens, in (t, k) order, are dropped); dropped pairs
 *       are never written and also raise K4J_DEVERR_CAPACITY_OVERFLOW in err_flags.
 * Rows past counts[e] are left untouched. */
K4J_API int k4j_moe_dispatch_masked(k4j_dptr x, int64_t num_tokens, int64_t hidden, int64_t top_k,
                                    k4j_dptr topk_idx, k4j_dptr row_of, k4j_dptr num_tokens_per_expert,
                                    k4j_dptr expert_offsets, int64_t num_experts,
                                    int64_t max_tokens_per_expert, int out_dtype, k4j_dptr x_out,
                                    k4j_dptr x_out_scales, int pow2_scales, k4j_dptr counts,
                                    k4j_dptr slot_of, k4j_dptr overflow, k4j_dptr err_flags,
                                    k4j_stream stream);

/* Combine from the contiguous layout: out[t] = sum over k = 0..K-1 with row_of[t, k] >= 0 of
 * topk_weights[t, k] * y[row_of[t, k]], in that order, FP32 fused multiply-adds, BF16 out (RN).
 * y[capacity, H] BF16, out[T, H] BF16 (both 16-byte aligned). A token with no routed slot gets 0.
 * Rows >= capacity (or < -1) are skipped and raise K4J_DEVERR_INDEX_OUT_OF_RANGE. */
K4J_API int k4j_moe_combine_contiguous(k4j_dptr y, int64_t capacity, int64_t hidden, k4j_dptr row_of,
                                       k4j_dptr topk_weights, int64_t num_tokens, int64_t top_k,
                                       k4j_dptr out, k4j_dptr err_flags, k4j_stream stream);

/* Combine from the masked layout: y[E, max_tokens_per_expert, H] BF16 and slot_of[T, K] from
 * k4j_moe_dispatch_masked; otherwise as k4j_moe_combine_contiguous (dropped pairs add nothing). */
K4J_API int k4j_moe_combine_masked(k4j_dptr y, int64_t num_experts, int64_t max_tokens_per_expert,
                                   int64_t hidden, k4j_dptr slot_of, k4j_dptr topk_weights,
                                   int64_t num_tokens, int64_t top_k, k4j_dptr out, k4j_dptr err_flags,
                                   k4j_stream stream);

/* SiLU-and-multiply with the FP8 re-quantisation fused (vLLM silu_and_mul layout):
 *   gate_up[G * M, 2 * I] BF16: columns [0, I) are the gate, [I, 2I) the up projection; I % 128 == 0.
 *   h = silu(gate) * up in FP32, silu(g) = g / (1 + expf(-g)).
 *   out_dtype K4J_DTYPE_FP8_E4M3: out[G * M, I] e4m3 + out_scales FP32 [G][I/128][alignUp(M, 4)];
 *   out_dtype K4J_DTYPE_BF16: out[G * M, I] BF16 = RN(h), out_scales ignored.
 *   Contiguous layout: G = 1, M = capacity, m_indices[capacity] (may be 0): rows with -1 skipped.
 *   Masked layout: G = E, M = maxTokensPerExpert, counts[E] (may be 0): rows >= counts[g] skipped
 *       (counts outside [0, M] are clamped and raise K4J_DEVERR_LENGTH_OUT_OF_RANGE).
 *   Skipped rows are left untouched. At most one of m_indices, counts. */
K4J_API int k4j_moe_silu_mul_quant(k4j_dptr gate_up, int64_t num_groups, int64_t rows_per_group,
                                   int64_t inter, k4j_dptr m_indices, k4j_dptr counts, int out_dtype,
                                   k4j_dptr out, k4j_dptr out_scales, int pow2_scales,
                                   k4j_dptr err_flags, k4j_stream stream);

#ifdef __cplusplus
}
#endif
#endif
