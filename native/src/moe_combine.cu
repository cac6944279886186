// k4j_moe_combine_contiguous / k4j_moe_combine_masked: one kernel (moe/moe_combine.cuh), two row maps.
#include "moe/moe_combine.cuh"
#include "moe_internal.h"

namespace {

int combine(k4j_dptr y, int64_t y_rows, int64_t hidden, k4j_dptr row_map, const char *row_map_name,
            k4j_dptr topk_weights, int64_t num_tokens, int64_t top_k, k4j_dptr out, k4j_dptr err_flags,
            k4j_stream stream) {
  using namespace k4j::kernels::moe;
  K4J_REQUIRE(num_tokens >= 0 && num_tokens <= 2147483647, "numTokens: must be in [0, 2^31 - 1], got %lld",
              (long long)num_tokens);
  K4J_REQUIRE(top_k >= 1 && top_k <= k4j::moe::kMaxTopK, "topK: must be in [1, 32], got %lld", (long long)top_k);
  K4J_MOE_REQUIRE_HIDDEN(hidden, "hidden");
  if (num_tokens == 0) return K4J_OK;
  if (y_rows > 0) {
    K4J_REQUIRE_PTR(y, "y");
    K4J_REQUIRE_ALIGNED(y, 16, "y");
  }
  K4J_REQUIRE_PTR(row_map, row_map_name);
  K4J_REQUIRE_ALIGNED(row_map, 4, row_map_name);
  K4J_REQUIRE_PTR(topk_weights, "topkWeights");
  K4J_REQUIRE_ALIGNED(topk_weights, 4, "topkWeights");
  K4J_REQUIRE_PTR(out, "out");
  K4J_REQUIRE_ALIGNED(out, 16, "out");
  const int64_t per_block = (int64_t)kCombineThreads * kCombineVec;
  const dim3 grid((unsigned)num_tokens, (unsigned)((hidden + per_block - 1) / per_block));
  k4j::launch("combine_kernel", combine_kernel, grid, kCombineThreads, 0, (cudaStream_t)stream,
      (const uint16_t *)y, y_rows, hidden, (const int *)row_map, (const float *)topk_weights, (int)top_k,
      (uint16_t *)out, (uint32_t *)err_flags);
  return k4j::check_launch("moe_combine");
}

}  // namespace

extern "C" {

K4J_API int k4j_moe_combine_contiguous(k4j_dptr y, int64_t capacity, int64_t hidden, k4j_dptr row_of,
                                       k4j_dptr topk_weights, int64_t num_tokens, int64_t top_k,
                                       k4j_dptr out, k4j_dptr err_flags, k4j_stream stream) {
  K4J_REQUIRE(capacity >= 0, "capacity: must be >= 0, got %lld", (long long)capacity);
  return combine(y, capacity, hidden, row_of, "rowOf", topk_weights, num_tokens, top_k, out, err_flags, stream);
}

K4J_API int k4j_moe_combine_masked(k4j_dptr y, int64_t num_experts, int64_t max_tokens_per_expert,
                                   int64_t hidden, k4j_dptr slot_of, k4j_dptr topk_weights,
                                   int64_t num_tokens, int64_t top_k, k4j_dptr out, k4j_dptr err_flags,
                                   k4j_stream stream) {
  K4J_REQUIRE(num_experts >= 1 && num_experts <= k4j::moe::kMaxExperts,
              "numExperts: must be in [1, 1024], got %lld", (long long)num_experts);
  K4J_REQUIRE(max_tokens_per_expert >= 1, "maxTokensPerExpert: must be >= 1, got %lld",
              (long long)max_tokens_per_expert);
  return combine(y, num_experts * max_tokens_per_expert, hidden, slot_of, "slotOf", topk_weights, num_tokens,
                 top_k, out, err_flags, stream);
}

}  // extern "C"
