// k4j_moe_layout and its size queries: launches the three layout kernels of moe/moe_layout.cuh.
#include "moe/moe_layout.cuh"
#include "moe_internal.h"

namespace {

struct LayoutPlan {
  int64_t pairs;
  int64_t chunk;       // pairs per chunk, a multiple of 256
  int64_t num_chunks;  // <= kLayoutMaxChunks
};

// At most 64 chunks keeps the serial per-expert scan over chunks short; longer inputs get more
// steps of 256 pairs per chunk.
LayoutPlan plan(int64_t T, int64_t K) {
  using namespace k4j::kernels::moe;
  LayoutPlan p{};
  p.pairs = T * K;
  const int64_t units = (p.pairs + kLayoutThreads - 1) / kLayoutThreads;
  const int64_t steps = units == 0 ? 1 : (units + kLayoutMaxChunks - 1) / kLayoutMaxChunks;
  p.chunk = steps * kLayoutThreads;
  p.num_chunks = (p.pairs + p.chunk - 1) / p.chunk;
  return p;
}

int64_t workspace_bytes(const LayoutPlan &p, int64_t E) { return (p.num_chunks * E * 4 + 255) / 256 * 256; }

}  // namespace

extern "C" {

K4J_API int64_t k4j_moe_layout_workspace_bytes(int64_t num_tokens, int64_t top_k, int64_t num_experts) {
  K4J_MOE_REQUIRE_ROUTING(num_tokens, top_k, num_experts);
  return workspace_bytes(plan(num_tokens, top_k), num_experts);
}

K4J_API int64_t k4j_moe_max_padded_rows(int64_t num_tokens, int64_t top_k, int64_t num_experts,
                                        int64_t alignment) {
  K4J_MOE_REQUIRE_ROUTING(num_tokens, top_k, num_experts);
  K4J_REQUIRE(alignment >= 1 && alignment <= k4j::moe::kMaxAlignment,
              "alignment: must be in [1, 1024], got %lld", (long long)alignment);
  const int64_t pairs = num_tokens * top_k;
  return pairs + (pairs < num_experts ? pairs : num_experts) * (alignment - 1);
}

K4J_API int k4j_moe_layout(k4j_dptr topk_idx, int64_t num_tokens, int64_t top_k, int64_t num_experts,
                           int64_t alignment, k4j_dptr num_tokens_per_expert, k4j_dptr expert_offsets,
                           k4j_dptr total_rows, k4j_dptr row_of, k4j_dptr workspace,
                           int64_t workspace_bytes_given, k4j_dptr err_flags, k4j_stream stream) {
  using namespace k4j::kernels::moe;
  K4J_MOE_REQUIRE_ROUTING(num_tokens, top_k, num_experts);
  K4J_REQUIRE(alignment >= 1 && alignment <= k4j::moe::kMaxAlignment,
              "alignment: must be in [1, 1024], got %lld", (long long)alignment);
  const int64_t max_rows = k4j_moe_max_padded_rows(num_tokens, top_k, num_experts, alignment);
  K4J_REQUIRE(max_rows <= k4j::moe::kInt32Max,
              "numTokens: the padded layout may need %lld rows, more than INT32 indexes", (long long)max_rows);
  const LayoutPlan p = plan(num_tokens, top_k);
  const int64_t need = workspace_bytes(p, num_experts);
  K4J_REQUIRE_PTR(num_tokens_per_expert, "numTokensPerExpert");
  K4J_REQUIRE_PTR(expert_offsets, "expertOffsets");
  K4J_REQUIRE_ALIGNED(num_tokens_per_expert, 4, "numTokensPerExpert");
  K4J_REQUIRE_ALIGNED(expert_offsets, 4, "expertOffsets");
  K4J_REQUIRE_ALIGNED(total_rows, 4, "totalRows");
  K4J_REQUIRE(workspace_bytes_given >= need, "workspace: needs %lld bytes, got %lld", (long long)need,
              (long long)workspace_bytes_given);
  if (p.pairs > 0) {
    K4J_REQUIRE_PTR(topk_idx, "topkIdx");
    K4J_REQUIRE_PTR(row_of, "rowOf");
    K4J_REQUIRE_PTR(workspace, "workspace");
    K4J_REQUIRE_ALIGNED(topk_idx, 4, "topkIdx");
    K4J_REQUIRE_ALIGNED(row_of, 4, "rowOf");
    K4J_REQUIRE_ALIGNED(workspace, 4, "workspace");
  }
  cudaStream_t s = (cudaStream_t)stream;
  uint32_t *err = (uint32_t *)err_flags;
  const int E = (int)num_experts;
  int *chunk_counts = (int *)workspace;
  if (p.num_chunks > 0) {
    k4j::launch("layout_count_kernel", layout_count_kernel, (unsigned)p.num_chunks, kLayoutThreads, E * sizeof(int), s,
        (const int *)topk_idx, p.pairs, E, p.chunk, chunk_counts, err);
    if (int rc = k4j::check_launch("moe_layout_count")) return rc;
  }
  k4j::launch("layout_scan_kernel", layout_scan_kernel, 1, 1024, 0, s, chunk_counts, (int)p.num_chunks, E, (int)alignment,
                                        (int *)num_tokens_per_expert, (int *)expert_offsets, (int *)total_rows);
  if (int rc = k4j::check_launch("moe_layout_scan")) return rc;
  if (p.num_chunks > 0) {
    const size_t smem = (size_t)E * (1 + kLayoutWarps) * sizeof(int);  // <= 36 KiB for E = 1024
    k4j::launch("layout_assign_kernel", layout_assign_kernel, (unsigned)p.num_chunks, kLayoutThreads, smem, s,
        (const int *)topk_idx, p.pairs, E, p.chunk, chunk_counts, (const int *)expert_offsets, (int *)row_of);
    if (int rc = k4j::check_launch("moe_layout_assign")) return rc;
  }
  return K4J_OK;
}

K4J_API int k4j_moe_topk_ids_to_int32(k4j_dptr src, int64_t n, k4j_dptr dst, k4j_stream stream) {
  using namespace k4j::kernels::moe;
  K4J_REQUIRE(n >= 0 && n <= k4j::moe::kInt32Max, "n: must be in [0, 2^31 - 1], got %lld", (long long)n);
  if (n == 0) return K4J_OK;
  K4J_REQUIRE_PTR(src, "src");
  K4J_REQUIRE_PTR(dst, "dst");
  K4J_REQUIRE_ALIGNED(src, 8, "src");
  K4J_REQUIRE_ALIGNED(dst, 4, "dst");
  const int64_t want = (n + kLayoutThreads - 1) / kLayoutThreads;
  const unsigned blocks = (unsigned)(want < 65535 ? want : 65535);
  k4j::launch("topk_ids_to_int32_kernel", topk_ids_to_int32_kernel, blocks, kLayoutThreads, 0, (cudaStream_t)stream,
              (const long long *)src, n, (int *)dst);
  return k4j::check_launch("moe_topk_ids_to_int32");
}

}  // extern "C"
