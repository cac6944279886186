// Scatters new latent rows into the paged cache by slot mapping (slot = page * pageSize + offset).
// BF16: plain copy. FP8: per 128-value group, amax clamped below at 1e-4, power-of-two scale
// 2^ceil(log2(amax / 448)), q = e4m3_satfinite(x / scale); RoPE values copied as BF16.
// One warp per (token, KV head). Slot -1 is skipped; other out-of-range slots are skipped + flagged.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include "common/device_errors.cuh"
#include "mla/mla_params.cuh"

namespace k4j::kernels::mla {

// 2^ceil(log2(x)) for a positive normal float, exactly (no log2f rounding near powers of two).
// +inf (an infinite input value) stays +inf like the Java encoder; frexpf leaves e unspecified there.
__device__ __forceinline__ float pow2_ceil(float x) {
  if (isinf(x)) return x;
  int e;
  const float m = frexpf(x, &e);  // x = m * 2^e, m in [0.5, 1)
  return ldexpf(1.f, m == 0.5f ? e - 1 : e);
}

__device__ __forceinline__ long long slot_at(const void *slots, int slot_bytes, long long t) {
  return slot_bytes == 8 ? static_cast<const long long *>(slots)[t] : (long long)static_cast<const int *>(slots)[t];
}

template <bool FP8>
__global__ void __launch_bounds__(256) mla_kv_cache_write_kernel(const __nv_bfloat16 *__restrict__ src,
                                                                 long long num_tokens, int h_kv,
                                                                 const void *__restrict__ slots, int slot_bytes,
                                                                 unsigned char *__restrict__ cache,
                                                                 long long num_slots, uint32_t *err) {
  const long long item = (long long)blockIdx.x * 8 + (threadIdx.x >> 5);  // (token, head)
  const int lane = threadIdx.x & 31;
  if (item >= num_tokens * h_kv) return;
  const long long t = item / h_kv;
  const int h = (int)(item % h_kv);
  const long long slot = slot_at(slots, slot_bytes, t);
  if (slot == -1) return;
  if (slot < 0 || slot >= num_slots) {
    if (lane == 0 && h == 0) raise_device_error(err, K4J_DEVERR_INDEX_OUT_OF_RANGE);
    return;
  }
  const __nv_bfloat16 *x = src + item * kHeadDim;
  const long long row = slot * h_kv + h;
  if constexpr (!FP8) {
    uint4 *dst = reinterpret_cast<uint4 *>(cache + row * kHeadDim * 2);
    const uint4 *s = reinterpret_cast<const uint4 *>(x);
    for (int c = lane; c < kHeadDim / 8; c += 32) dst[c] = s[c];
  } else {
    unsigned char *dst = cache + row * kFp8RowBytes;
    // lane owns values [16*lane, 16*lane + 16): group lane / 8.
    float v[16];
    const uint4 raw[2] = {reinterpret_cast<const uint4 *>(x)[2 * lane], reinterpret_cast<const uint4 *>(x)[2 * lane + 1]};
    const __nv_bfloat16 *b = reinterpret_cast<const __nv_bfloat16 *>(raw);
    float amax = 0.f;
#pragma unroll
    for (int k = 0; k < 16; ++k) {
      v[k] = __bfloat162float(b[k]);
      amax = fmaxf(amax, fabsf(v[k]));
    }
#pragma unroll
    for (int o = 1; o < 8; o <<= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    const float scale = pow2_ceil(fmaxf(amax, 1e-4f) / 448.f);
    uint4 q;
    unsigned char *qb = reinterpret_cast<unsigned char *>(&q);
#pragma unroll
    for (int k = 0; k < 16; ++k) qb[k] = (unsigned char)__nv_cvt_float_to_fp8(v[k] / scale, __NV_SATFINITE, __NV_E4M3);
    reinterpret_cast<uint4 *>(dst)[lane] = q;
    if ((lane & 7) == 0) reinterpret_cast<float *>(dst + kVDim)[lane >> 3] = scale;
    // RoPE: 64 BF16 = 128 bytes, 4 bytes per lane.
    reinterpret_cast<uint32_t *>(dst + kVDim + 16)[lane] = reinterpret_cast<const uint32_t *>(x + kVDim)[lane];
  }
}

}  // namespace k4j::kernels::mla
