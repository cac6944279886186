// Merges the split-KV partial results of requests with more than one split: one warp per query
// row, splits in ascending order (deterministic). out = sum_s w_s * o_s with w_s = exp(lse_s - lse),
// lse = log(sum_s exp(lse_s)); no visible key in any split -> out = 0, lse = +inf.
#pragma once
#include <cuda_bf16.h>
#include <math_constants.h>

#include "common/device_errors.cuh"

#include "mla/mla_params.cuh"

namespace k4j::kernels::mla {

constexpr int kCombineRowsPerCta = 8;

__global__ void __launch_bounds__(256) mla_combine_kernel(const int *__restrict__ num_splits,
                                                          const int *__restrict__ first_slot,
                                                          const float *__restrict__ o_accum,
                                                          const float *__restrict__ lse_accum,
                                                          __nv_bfloat16 *__restrict__ out, float *__restrict__ lse,
                                                          int s_q, int h_q, int max_work, uint32_t *err) {
  const int rows = s_q * h_q;
  const int row = blockIdx.x * kCombineRowsPerCta + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  const int r = blockIdx.y;
  if (row >= rows) return;
  const int n = num_splits[r];
  if (n <= 1) return;  // written by the decode kernel
  const int slot0 = first_slot[r];
  // A stale schedule (another batch or workspace): never read partial results out of bounds.
  if (n > max_work || slot0 < 0 || slot0 > max_work - n) {
    if (row == 0 && lane == 0) raise_device_error(err, K4J_DEVERR_INDEX_OUT_OF_RANGE);
    return;
  }
  const int i = row / h_q, h = row % h_q;

  float mx = -CUDART_INF_F;
  for (int s = 0; s < n; ++s) mx = fmaxf(mx, lse_accum[(long long)(slot0 + s) * rows + row]);
  __nv_bfloat16 *o = out + ((long long)r * rows + row) * kVDim;  // out[b, sQ, hQ, 512]: row = i*hQ + h
  float *lse_out = lse + ((long long)r * h_q + h) * s_q + i;
  if (mx == -CUDART_INF_F) {
    for (int c = lane * 2; c < kVDim; c += 64)
      *reinterpret_cast<__nv_bfloat162 *>(o + c) = __floats2bfloat162_rn(0.f, 0.f);
    if (lane == 0) *lse_out = CUDART_INF_F;
    return;
  }
  float sum = 0.f;
  for (int s = 0; s < n; ++s) sum += expf(lse_accum[(long long)(slot0 + s) * rows + row] - mx);
  const float inv = 1.f / sum;

  float acc[4][4] = {};
  for (int s = 0; s < n; ++s) {
    const float wgt = expf(lse_accum[(long long)(slot0 + s) * rows + row] - mx) * inv;
    if (wgt == 0.f) continue;  // a split with no visible key (its o is 0) or a negligible one
    const float *src = o_accum + ((long long)(slot0 + s) * rows + row) * kVDim;
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      const float4 v = *reinterpret_cast<const float4 *>(src + c * 128 + lane * 4);
      acc[c][0] += wgt * v.x; acc[c][1] += wgt * v.y; acc[c][2] += wgt * v.z; acc[c][3] += wgt * v.w;
    }
  }
#pragma unroll
  for (int c = 0; c < 4; ++c) {
    __nv_bfloat162 *d = reinterpret_cast<__nv_bfloat162 *>(o + c * 128 + lane * 4);
    d[0] = __floats2bfloat162_rn(acc[c][0], acc[c][1]);
    d[1] = __floats2bfloat162_rn(acc[c][2], acc[c][3]);
  }
  if (lane == 0) *lse_out = mx + logf(sum);
}

}  // namespace k4j::kernels::mla
