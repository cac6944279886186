// k4j_moe_silu_mul_quant: launcher of moe/moe_silu_mul.cuh.
#include "moe/moe_silu_mul.cuh"
#include "moe_internal.h"

extern "C" {

K4J_API int k4j_moe_silu_mul_quant(k4j_dptr gate_up, int64_t num_groups, int64_t rows_per_group,
                                   int64_t inter, k4j_dptr m_indices, k4j_dptr counts, int out_dtype,
                                   k4j_dptr out, k4j_dptr out_scales, int pow2_scales,
                                   k4j_dptr err_flags, k4j_stream stream) {
  using namespace k4j::kernels::moe;
  K4J_REQUIRE(num_groups >= 1, "numGroups: must be >= 1, got %lld", (long long)num_groups);
  K4J_REQUIRE(rows_per_group >= 0, "rowsPerGroup: must be >= 0, got %lld", (long long)rows_per_group);
  K4J_REQUIRE(num_groups * rows_per_group <= k4j::moe::kInt32Max,
              "rowsPerGroup: numGroups * rowsPerGroup must be < 2^31, got %lld * %lld", (long long)num_groups,
              (long long)rows_per_group);
  K4J_MOE_REQUIRE_HIDDEN(inter, "inter");
  K4J_REQUIRE(out_dtype == K4J_DTYPE_BF16 || out_dtype == K4J_DTYPE_FP8_E4M3,
              "outDtype: must be BF16 (%d) or FP8_E4M3 (%d), got %d", K4J_DTYPE_BF16, K4J_DTYPE_FP8_E4M3,
              out_dtype);
  K4J_REQUIRE(m_indices == 0 || counts == 0, "mIndices: give mIndices (contiguous) or counts (masked), not both");
  K4J_REQUIRE(m_indices == 0 || num_groups == 1, "mIndices: needs numGroups == 1 (contiguous layout), got %lld",
              (long long)num_groups);
  const int64_t rows = num_groups * rows_per_group;
  if (rows == 0) return K4J_OK;
  const bool fp8 = out_dtype == K4J_DTYPE_FP8_E4M3;
  K4J_REQUIRE_PTR(gate_up, "gateUp");
  K4J_REQUIRE_ALIGNED(gate_up, 16, "gateUp");
  K4J_REQUIRE_PTR(out, "out");
  K4J_REQUIRE_ALIGNED(out, 16, "out");
  if (fp8) {
    K4J_REQUIRE_PTR(out_scales, "outScales");
    K4J_REQUIRE_ALIGNED(out_scales, 4, "outScales");
  }
  K4J_REQUIRE_ALIGNED(m_indices, 4, "mIndices");
  K4J_REQUIRE_ALIGNED(counts, 4, "counts");
  SiluParams p{};
  p.gate_up = (const uint16_t *)gate_up;
  p.rows_per_group = rows_per_group;
  p.inter = inter;
  p.m_indices = (const int *)m_indices;
  p.counts = (const int *)counts;
  p.out = (void *)out;
  p.scales = (float *)out_scales;
  p.pow2 = pow2_scales != 0;
  p.err = (uint32_t *)err_flags;
  const int64_t per_block = (int64_t)kSiluThreads * kVec;
  const dim3 grid((unsigned)rows, (unsigned)((inter + per_block - 1) / per_block));
  cudaStream_t s = (cudaStream_t)stream;
  if (fp8) k4j::launch("silu_mul_kernel<true>", silu_mul_kernel<true>, grid, kSiluThreads, 0, s, p);
  else k4j::launch("silu_mul_kernel<false>", silu_mul_kernel<false>, grid, kSiluThreads, 0, s, p);
  return k4j::check_launch("moe_silu_mul_quant");
}

}  // extern "C"
