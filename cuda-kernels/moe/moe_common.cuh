// Shared pieces of the MoE kernels: BF16 vectors, the fused 1x128 FP8 quantiser, the scale layout.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>

#include "common/device_errors.cuh"
#include "common/shared_memory.cuh"
#include "kernels4j.h"

namespace k4j::kernels::moe {

constexpr int kGroup = 128;                   // quantisation group along the hidden dimension
constexpr int kVec = 16;                      // values one lane quantises (2 x 16-byte BF16 loads)
constexpr int kLanesPerGroup = kGroup / kVec; // 8 lanes share one scale
constexpr float kE4m3Max = 448.0f;
constexpr float kAmaxFloor = 1e-4f;
constexpr int kMaxTopK = 32;

__device__ __forceinline__ int64_t align_up64(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

// 8 BF16 values in a uint4 to FP32 (exact).
__device__ __forceinline__ void bf16x8_to_float(const uint4 v, float *f) {
  const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    f[2 * i] = __uint_as_float(w[i] << 16);
    f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
  }
}

// Two floats to BF16 (round to nearest even), lo in the low half (the lower address).
__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
  return reinterpret_cast<const uint32_t &>(h);
}

__device__ __forceinline__ uint4 float8_to_bf16x8(const float *f) {
  return make_uint4(pack_bf16x2(f[0], f[1]), pack_bf16x2(f[2], f[3]), pack_bf16x2(f[4], f[5]),
                    pack_bf16x2(f[6], f[7]));
}

// 2^ceil(log2(s)) computed on the bits (exact; s > 0 and normal here since amax >= 1e-4).
// Same as DeepGEMM's fast_log2_ceil and the Java quantiser, unlike log2f which can round.
__device__ __forceinline__ float ceil_pow2(float s) {
  const uint32_t b = __float_as_uint(s);
  uint32_t e = b >> 23;
  if (b & 0x7fffffu) e += 1;
  return __uint_as_float(e << 23);
}

// Quantises the 16 values this lane holds as part of a 128-wide group spread over 8 consecutive
// lanes (lane & ~7 .. lane | 7). All 32 lanes of the warp must call it (lanes with no data pass
// zeros). docs/CONTRACT.md section 1: amax clamped below at 1e-4, scale = amax / 448 (FP32 division, RN),
// q = e4m3(x / scale) with RN division and SATFINITE. Returns the scale; q receives 16 codes
// (value i in byte i, little endian).
__device__ __forceinline__ float quantize16(const float *v, bool pow2, uint4 &q) {
  float a = 0.0f;
#pragma unroll
  for (int i = 0; i < kVec; ++i) a = fmaxf(a, fabsf(v[i]));
  a = fmaxf(a, __shfl_xor_sync(0xffffffffu, a, 1));
  a = fmaxf(a, __shfl_xor_sync(0xffffffffu, a, 2));
  a = fmaxf(a, __shfl_xor_sync(0xffffffffu, a, 4));
  a = fmaxf(a, kAmaxFloor);
  float s = __fdiv_rn(a, kE4m3Max);
  if (pow2) s = ceil_pow2(s);
  uint32_t w[4] = {0u, 0u, 0u, 0u};
#pragma unroll
  for (int i = 0; i < kVec; ++i) {
    const uint32_t b = __nv_cvt_float_to_fp8(__fdiv_rn(v[i], s), __NV_SATFINITE, __NV_E4M3);
    w[i / 4] |= b << (8 * (i % 4));
  }
  q = make_uint4(w[0], w[1], w[2], w[3]);
  return s;
}

// Offset of the scale of (flat row d, group kb) in the GEMM's MN-major activation-scale layout,
// per group of `rows_per_group` rows: [G][numKb][alignUp(rows_per_group, 4)].
__device__ __forceinline__ int64_t scale_offset(int64_t d, int kb, int64_t rows_per_group, int num_kb,
                                                int64_t ld) {
  const int64_t g = d / rows_per_group;
  const int64_t m = d - g * rows_per_group;
  return (g * num_kb + kb) * ld + m;
}

__device__ __forceinline__ uint4 ldg16(const void *p) {
  return __ldg(reinterpret_cast<const uint4 *>(p));
}

__device__ __forceinline__ void stg16(void *p, const uint4 v) { *reinterpret_cast<uint4 *>(p) = v; }

}  // namespace k4j::kernels::moe
