// k4j_moe_dispatch_contiguous / k4j_moe_dispatch_masked: launchers of moe/moe_dispatch.cuh.
#include "moe/moe_dispatch.cuh"
#include "moe_internal.h"

namespace {

using k4j::kernels::moe::DispatchParams;

template <bool kMasked>
int launch_dispatch(const DispatchParams &p, int64_t num_tokens, bool fp8, cudaStream_t s) {
  using namespace k4j::kernels::moe;
  if (num_tokens == 0) return K4J_OK;
  const int64_t per_block = (int64_t)kDispatchThreads * kVec;
  const dim3 grid((unsigned)num_tokens, (unsigned)((p.hidden + per_block - 1) / per_block));
  if (fp8) k4j::launch("dispatch_kernel<true, kMasked>", dispatch_kernel<true, kMasked>, grid, kDispatchThreads, 0, s, p);
  else k4j::launch("dispatch_kernel<false, kMasked>", dispatch_kernel<false, kMasked>, grid, kDispatchThreads, 0, s, p);
  return k4j::check_launch(kMasked ? "moe_dispatch_masked" : "moe_dispatch_contiguous");
}

int check_common(k4j_dptr x, int64_t num_tokens, int64_t hidden, int64_t top_k, int64_t num_experts,
                 k4j_dptr row_of, k4j_dptr num_tokens_per_expert, k4j_dptr expert_offsets, int out_dtype,
                 k4j_dptr x_out, k4j_dptr x_out_scales) {
  K4J_MOE_REQUIRE_ROUTING(num_tokens, top_k, num_experts);
  K4J_MOE_REQUIRE_HIDDEN(hidden, "hidden");
  K4J_REQUIRE(out_dtype == K4J_DTYPE_BF16 || out_dtype == K4J_DTYPE_FP8_E4M3,
              "outDtype: must be BF16 (%d) or FP8_E4M3 (%d), got %d", K4J_DTYPE_BF16, K4J_DTYPE_FP8_E4M3,
              out_dtype);
  K4J_REQUIRE(num_tokens <= 2147483647, "numTokens: at most 2^31 - 1, got %lld", (long long)num_tokens);
  K4J_REQUIRE_PTR(num_tokens_per_expert, "numTokensPerExpert");
  K4J_REQUIRE_PTR(expert_offsets, "expertOffsets");
  K4J_REQUIRE_ALIGNED(num_tokens_per_expert, 4, "numTokensPerExpert");
  K4J_REQUIRE_ALIGNED(expert_offsets, 4, "expertOffsets");
  if (num_tokens > 0) {
    K4J_REQUIRE_PTR(x, "x");
    K4J_REQUIRE_ALIGNED(x, 16, "x");
    K4J_REQUIRE_PTR(row_of, "rowOf");
    K4J_REQUIRE_ALIGNED(row_of, 4, "rowOf");
  }
  K4J_REQUIRE_ALIGNED(x_out, 16, "xOut");
  if (out_dtype == K4J_DTYPE_FP8_E4M3) K4J_REQUIRE_ALIGNED(x_out_scales, 4, "xOutScales");
  return K4J_OK;
}

}  // namespace

extern "C" {

K4J_API int k4j_moe_dispatch_contiguous(k4j_dptr x, int64_t num_tokens, int64_t hidden, int64_t top_k,
                                        k4j_dptr row_of, k4j_dptr num_tokens_per_expert,
                                        k4j_dptr expert_offsets, int64_t num_experts, int64_t capacity,
                                        int out_dtype, k4j_dptr x_out, k4j_dptr x_out_scales,
                                        int pow2_scales, k4j_dptr m_indices, k4j_dptr err_flags,
                                        k4j_stream stream) {
  using namespace k4j::kernels::moe;
  if (int rc = check_common(x, num_tokens, hidden, top_k, num_experts, row_of, num_tokens_per_expert,
                            expert_offsets, out_dtype, x_out, x_out_scales))
    return rc;
  K4J_REQUIRE(capacity >= 0 && capacity <= k4j::moe::kInt32Max, "capacity: must be in [0, 2^31 - 1], got %lld",
              (long long)capacity);
  const bool fp8 = out_dtype == K4J_DTYPE_FP8_E4M3;
  if (capacity > 0) {
    K4J_REQUIRE_PTR(x_out, "xOut");
    if (fp8) K4J_REQUIRE_PTR(x_out_scales, "xOutScales");
  }
  K4J_REQUIRE_ALIGNED(m_indices, 4, "mIndices");
  cudaStream_t s = (cudaStream_t)stream;
  if (m_indices != 0 && capacity > 0) {
    const int64_t want = (capacity + 255) / 256;
    const int blocks = (int)(want < 1024 ? want : 1024);
    const size_t smem = (size_t)(2 * num_experts + 1) * sizeof(int);
    k4j::launch("m_indices_kernel", m_indices_kernel, blocks, 256, smem, s, (const int *)expert_offsets, (const int *)num_tokens_per_expert,
                                               (int)num_experts, capacity, (int *)m_indices);
    if (int rc = k4j::check_launch("moe_m_indices")) return rc;
  }
  DispatchParams p{};
  p.x = (const uint16_t *)x;
  p.hidden = hidden;
  p.top_k = (int)top_k;
  p.row_of = (const int *)row_of;
  p.rows = capacity;
  p.rows_per_group = capacity > 0 ? capacity : 1;
  p.expert_offsets = (const int *)expert_offsets;
  p.num_tokens_per_expert = (const int *)num_tokens_per_expert;
  p.num_experts = (int)num_experts;
  p.x_out = (void *)x_out;
  p.scales = (float *)x_out_scales;
  p.pow2 = pow2_scales != 0;
  p.err = (uint32_t *)err_flags;
  return launch_dispatch<false>(p, num_tokens, fp8, s);
}

K4J_API int k4j_moe_dispatch_masked(k4j_dptr x, int64_t num_tokens, int64_t hidden, int64_t top_k,
                                    k4j_dptr topk_idx, k4j_dptr row_of, k4j_dptr num_tokens_per_expert,
                                    k4j_dptr expert_offsets, int64_t num_experts,
                                    int64_t max_tokens_per_expert, int out_dtype, k4j_dptr x_out,
                                    k4j_dptr x_out_scales, int pow2_scales, k4j_dptr counts,
                                    k4j_dptr slot_of, k4j_dptr overflow, k4j_dptr err_flags,
                                    k4j_stream stream) {
  using namespace k4j::kernels::moe;
  if (int rc = check_common(x, num_tokens, hidden, top_k, num_experts, row_of, num_tokens_per_expert,
                            expert_offsets, out_dtype, x_out, x_out_scales))
    return rc;
  K4J_REQUIRE(max_tokens_per_expert >= 1, "maxTokensPerExpert: must be >= 1, got %lld",
              (long long)max_tokens_per_expert);
  K4J_REQUIRE(max_tokens_per_expert * num_experts <= k4j::moe::kInt32Max,
              "maxTokensPerExpert: numExperts * maxTokensPerExpert must fit in INT32, got %lld * %lld",
              (long long)num_experts, (long long)max_tokens_per_expert);
  const bool fp8 = out_dtype == K4J_DTYPE_FP8_E4M3;
  K4J_REQUIRE_PTR(x_out, "xOut");
  if (fp8) K4J_REQUIRE_PTR(x_out_scales, "xOutScales");
  K4J_REQUIRE_PTR(counts, "counts");
  K4J_REQUIRE_ALIGNED(counts, 4, "counts");
  K4J_REQUIRE_ALIGNED(overflow, 4, "overflow");
  if (num_tokens > 0) {
    K4J_REQUIRE_PTR(topk_idx, "topkIdx");
    K4J_REQUIRE_ALIGNED(topk_idx, 4, "topkIdx");
    K4J_REQUIRE_PTR(slot_of, "slotOf");
    K4J_REQUIRE_ALIGNED(slot_of, 4, "slotOf");
  }
  cudaStream_t s = (cudaStream_t)stream;
  k4j::launch("masked_counts_kernel", masked_counts_kernel, 1, 1024, 0, s, (const int *)num_tokens_per_expert, (int)num_experts,
                                          (int)max_tokens_per_expert, (int *)counts, (int *)overflow,
                                          (uint32_t *)err_flags);
  if (int rc = k4j::check_launch("moe_masked_counts")) return rc;
  DispatchParams p{};
  p.x = (const uint16_t *)x;
  p.hidden = hidden;
  p.top_k = (int)top_k;
  p.row_of = (const int *)row_of;
  p.rows = num_experts * max_tokens_per_expert;
  p.rows_per_group = max_tokens_per_expert;
  p.topk_idx = (const int *)topk_idx;
  p.expert_offsets = (const int *)expert_offsets;
  p.num_tokens_per_expert = (const int *)num_tokens_per_expert;
  p.num_experts = (int)num_experts;
  p.slot_of = (int *)slot_of;
  p.x_out = (void *)x_out;
  p.scales = (float *)x_out_scales;
  p.pow2 = pow2_scales != 0;
  p.err = (uint32_t *)err_flags;
  return launch_dispatch<true>(p, num_tokens, fp8, s);
}

}  // extern "C"
