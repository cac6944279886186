// Warp-level building blocks of the portable FP8 GEMM: cp.async with zero-fill, ldmatrix, and the
// 16x8x32 FP8 tensor-core step (native e4m3 mma.sync on sm_89+, two f16 mma.sync on sm_80).
#pragma once
#include <stdint.h>

#include "common/ptx.cuh"

namespace k4j::kernels::gemm {

using ptx::cp_async_16;
using ptx::cp_async_commit;
using ptx::cp_async_wait;
using ptx::ldmatrix_x4;

#if K4J_ARCH >= 890
// Native FP8 tensor cores (Ada, Hopper through mma.sync).
constexpr bool kNativeFp8Mma = true;
// After the k-block, the partial sum is multiplied by this (exact power of two).
constexpr float kPartialScale = 1.0f;
#else
constexpr bool kNativeFp8Mma = false;
// The sm_80 path feeds f16 values equal to e4m3 * 2^-8, so products carry 2^-16.
constexpr float kPartialScale = 65536.0f;
#endif

// Two e4m3 bytes -> two f16 equal to value * 2^-8, exactly, by moving bits: the e4m3 exponent and
// mantissa fields (bias 7) placed at the bottom of the f16 fields (bias 15) give value * 2^-8 for
// normals and subnormals alike. Signs are kept. (The e4m3fn NaN code reads as +-480 * 2^-8.)
__device__ __forceinline__ uint32_t e4m3x2_to_f16x2_scaled(uint32_t w /* bytes at bits 8..15, 24..31 */) {
  return ((w >> 1) & 0x3F803F80u) | (w & 0x80008000u);
}
// lo: f16x2 of bytes 0,1 of x; hi: f16x2 of bytes 2,3 of x (byte 0 in the low half).
__device__ __forceinline__ void e4m3x4_to_f16x4_scaled(uint32_t x, uint32_t &lo, uint32_t &hi) {
  lo = e4m3x2_to_f16x2_scaled(__byte_perm(x, 0u, 0x1404));
  hi = e4m3x2_to_f16x2_scaled(__byte_perm(x, 0u, 0x3424));
}

__device__ __forceinline__ void mma_f16_16816(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                              uint32_t b0, uint32_t b1) {
  const uint32_t a[4] = {a0, a1, a2, a3};
  ptx::mma_f16_16816(d, a, b0, b1);
}

/*
 * A operand of one 16x32 FP8 step, in the register form the target's MMA wants. `raw` is what
 * ldmatrix_x4 returns for the 16x32-byte block: raw[0] = (row g, k 4t..4t+3), raw[1] = (row g+8,
 * same k), raw[2] = (row g, k 16+4t..), raw[3] = (row g+8, k 16+4t..) with g = lane/4, t = lane%4;
 * this is exactly the m16n8k32 e4m3 A fragment.
 */
struct FragA {
#if K4J_ARCH >= 890
  uint32_t r[4];
  __device__ __forceinline__ void set(const uint32_t (&raw)[4]) {
#pragma unroll
    for (int i = 0; i < 4; ++i) r[i] = raw[i];
  }
#else
  uint32_t lo[4], hi[4];  // f16x2 pairs: k (4t, 4t+1) and (4t+2, 4t+3) of each raw register
  __device__ __forceinline__ void set(const uint32_t (&raw)[4]) {
#pragma unroll
    for (int i = 0; i < 4; ++i) e4m3x4_to_f16x4_scaled(raw[i], lo[i], hi[i]);
  }
#endif
};

// B operand of one 32(k) x 8(n) FP8 step: raw0 = (col g, k 4t..4t+3), raw1 = (col g, k 16+4t..).
struct FragB {
#if K4J_ARCH >= 890
  uint32_t r[2];
  __device__ __forceinline__ void set(uint32_t raw0, uint32_t raw1) { r[0] = raw0; r[1] = raw1; }
#else
  uint32_t lo[2], hi[2];
  __device__ __forceinline__ void set(uint32_t raw0, uint32_t raw1) {
    e4m3x4_to_f16x4_scaled(raw0, lo[0], hi[0]);
    e4m3x4_to_f16x4_scaled(raw1, lo[1], hi[1]);
  }
#endif
};

// d += A(16x32) * B(32x8), FP32 accumulation.
__device__ __forceinline__ void mma_fp8_16832(float (&d)[4], const FragA &a, const FragB &b) {
#if K4J_ARCH >= 890
  ptx::mma_e4m3_16832(d, a.r, b.r);
#else
  // Two k16 steps over the same bytes. Within each, the f16 k index 2t+j stands for FP8 k 4t+j and
  // 8+2t+j for 4t+2+j, identically for A and B, so the dot product covers every k exactly once.
  mma_f16_16816(d, a.lo[0], a.lo[1], a.hi[0], a.hi[1], b.lo[0], b.hi[0]);
  mma_f16_16816(d, a.lo[2], a.lo[3], a.hi[2], a.hi[3], b.lo[1], b.hi[1]);
#endif
}

}  // namespace k4j::kernels::gemm
