// FP8 e4m3 quantisers producing the GEMM's scale layouts (docs/CONTRACT.md section 1), bit for bit what the
// Java quantiser computes: amax clamped below at 1e-4, scale = amax / 448 (IEEE FP32 division),
// q = e4m3_satfinite(x / scale) (IEEE FP32 division). Divisions use __fdiv_rn so that no
// fast-math flag can turn them into reciprocal multiplies.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>

namespace k4j::kernels::gemm {

constexpr float kE4m3Max = 448.0f;
constexpr float kAmaxFloor = 1e-4f;

template <typename T>
__device__ __forceinline__ float load_as_float(const T *p);
template <>
__device__ __forceinline__ float load_as_float<float>(const float *p) { return __ldg(p); }
template <>
__device__ __forceinline__ float load_as_float<__nv_bfloat16>(const __nv_bfloat16 *p) {
  return __bfloat162float(__ldg(p));
}

// Scale of a group from its amax. pow2: the smallest power of two >= amax / 448 (the FP32
// quotient), found exactly from its bits: a power of two stays, anything else rounds up to the next
// exponent. amax >= 1e-4 keeps the quotient normal and far from overflow.
__device__ __forceinline__ float scale_from_amax(float amax, bool pow2) {
  const float s = __fdiv_rn(fmaxf(amax, kAmaxFloor), kE4m3Max);
  if (!pow2) return s;
  const uint32_t bits = __float_as_uint(s);
  const uint32_t exp_bits = bits & 0x7F800000u;
  if ((bits & 0x007FFFFFu) == 0) return s;
  return __uint_as_float(exp_bits + 0x00800000u);
}

__device__ __forceinline__ uint8_t quantize_one(float x, float scale) {
  return (uint8_t)__nv_cvt_float_to_fp8(__fdiv_rn(x, scale), __NV_SATFINITE, __NV_E4M3);
}

// 1x128 per-token groups. One warp per (row, k-group); rows in [m, alignUp(m, 4)) only write their
// zero padding scale. Scales: MN-major, element (row, kb) at kb * sa_ld + row.
template <typename T>
__global__ void __launch_bounds__(256) fp8_quant_1x128_kernel(const T *__restrict__ x, uint8_t *__restrict__ q,
                                                              float *__restrict__ scales, int m, int k, int sa_ld,
                                                              bool pow2) {
  const int kb_count = (k + 127) / 128;
  const int64_t warp_id = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warp_id >= (int64_t)sa_ld * kb_count) return;
  const int row = (int)(warp_id / kb_count);
  const int kb = (int)(warp_id % kb_count);
  if (row >= m) {
    if (lane == 0) scales[(int64_t)kb * sa_ld + row] = 0.f;
    return;
  }
  const T *xr = x + (int64_t)row * k;
  float v[4];
  float amax = 0.f;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const int kk = kb * 128 + lane * 4 + j;
    v[j] = kk < k ? load_as_float(xr + kk) : 0.f;
    amax = fmaxf(amax, fabsf(v[j]));
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
  const float scale = scale_from_amax(amax, pow2);
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const int kk = kb * 128 + lane * 4 + j;
    if (kk < k) q[(int64_t)row * k + kk] = quantize_one(v[j], scale);
  }
  if (lane == 0) scales[(int64_t)kb * sa_ld + row] = scale;
}

// 128x128 blocks. One 256-thread CTA per block (nb, kb): amax over the block, then quantise.
// Scales: [ceil(n/128)][ceil(k/128)] row-major.
template <typename T>
__global__ void __launch_bounds__(256) fp8_quant_128x128_kernel(const T *__restrict__ w, uint8_t *__restrict__ q,
                                                                float *__restrict__ scales, int n, int k, bool pow2) {
  __shared__ float s_warp_max[8];
  const int kb = blockIdx.x, nb = blockIdx.y;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int col = kb * 128 + (tid & 127);      // each thread owns one column ...
  const int row_start = nb * 128 + (tid >> 7);  // ... and every other row of the block
  const int row_end = min(nb * 128 + 128, n);
  float amax = 0.f;
  if (col < k)
    for (int r = row_start; r < row_end; r += 2) amax = fmaxf(amax, fabsf(load_as_float(w + (int64_t)r * k + col)));
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
  if (lane == 0) s_warp_max[warp] = amax;
  __syncthreads();
  amax = s_warp_max[0];
#pragma unroll
  for (int i = 1; i < 8; ++i) amax = fmaxf(amax, s_warp_max[i]);
  const float scale = scale_from_amax(amax, pow2);
  if (col < k)
    for (int r = row_start; r < row_end; r += 2)
      q[(int64_t)r * k + col] = quantize_one(load_as_float(w + (int64_t)r * k + col), scale);
  if (tid == 0) scales[(int64_t)nb * gridDim.x + kb] = scale;
}

}  // namespace k4j::kernels::gemm
