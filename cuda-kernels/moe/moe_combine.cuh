// MoE combine ("unpermute"): out[t] = sum over k (ascending, fixed) with row >= 0 of
// w[t, k] * y[row(t, k)], FP32 fused multiply-adds, one BF16 rounding at the end. The row map is
// rowOf (contiguous layout) or slotOf (masked layout, flat [E * maxTokens] rows): one kernel.
// Grid (T, ceil(H / (threads * 8))): each thread owns 8 columns (16-byte loads and stores).
#pragma once
#include "moe/moe_common.cuh"

namespace k4j::kernels::moe {

constexpr int kCombineThreads = 128;
constexpr int kCombineVec = 8;
constexpr int kCombineBatch = 4;

__global__ void __launch_bounds__(kCombineThreads)
    combine_kernel(const uint16_t *__restrict__ y, int64_t y_rows, int64_t hidden, const int *__restrict__ row_map,
                   const float *__restrict__ weights, int top_k, uint16_t *__restrict__ out, uint32_t *err) {
  __shared__ int64_t rows[kMaxTopK];
  __shared__ float ws[kMaxTopK];
  const int64_t t = blockIdx.x;
  if (threadIdx.x < top_k) {
    const int64_t pair = t * top_k + threadIdx.x;
    int64_t r = row_map[pair];
    if (r < -1 || r >= y_rows) {
      if (blockIdx.y == 0) raise_device_error(err, K4J_DEVERR_INDEX_OUT_OF_RANGE);
      r = -1;
    }
    rows[threadIdx.x] = r;
    ws[threadIdx.x] = r >= 0 ? weights[pair] : 0.0f;
  }
  __syncthreads();
  const int64_t h0 = ((int64_t)blockIdx.y * blockDim.x + threadIdx.x) * kCombineVec;
  if (h0 >= hidden) return;
  float acc[kCombineVec];
#pragma unroll
  for (int i = 0; i < kCombineVec; ++i) acc[i] = 0.0f;
  // Slots in groups of 4: the 4 row loads are issued together, the sums stay in ascending k.
  for (int k0 = 0; k0 < top_k; k0 += kCombineBatch) {
    uint4 v[kCombineBatch];
#pragma unroll
    for (int j = 0; j < kCombineBatch; ++j) {
      const int64_t r = k0 + j < top_k ? rows[k0 + j] : -1;
      v[j] = r >= 0 ? ldg16(y + r * hidden + h0) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int j = 0; j < kCombineBatch; ++j) {
      if (k0 + j >= top_k || rows[k0 + j] < 0) continue;
      float f[kCombineVec];
      bf16x8_to_float(v[j], f);
      const float w = ws[k0 + j];
#pragma unroll
      for (int i = 0; i < kCombineVec; ++i) acc[i] = __fmaf_rn(w, f[i], acc[i]);
    }
  }
  stg16(out + t * hidden + h0, float8_to_bf16x8(acc));
}

}  // namespace k4j::kernels::moe
