// Loads one tile of BN cache rows (keys [k0, k0 + BN) of a request, one KV head) into shared memory
// as BF16 [BN][LD]. Only keys < key_end are read: the block-table entry of a later key is never
// touched (it may be garbage) and its row is zero-filled, so NaN in unused slots cannot leak.
// A page id outside [0, numBlocks) zero-fills the row, marks the key unusable and raises a flag.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include "common/device_errors.cuh"
#include "mla/mla_mma.cuh"
#include "mla/mla_params.cuh"

namespace k4j::kernels::mla {

// Cache row of key j, or -1 when the key is past key_end or its page id is bad.
__device__ __forceinline__ long long cache_row(const DecodeParams &p, int r, int kvh, int j, int key_end) {
  if (j >= key_end) return -1;
  const int page = p.block_table[(long long)r * p.max_blocks + j / p.page_size];
  if (page < 0 || page >= p.num_blocks) {
    raise_device_error(p.err, K4J_DEVERR_INDEX_OUT_OF_RANGE);
    return -1;
  }
  return ((long long)page * p.page_size + j % p.page_size) * p.h_kv + kvh;
}

// BF16 cache: 72 cp.async chunks of 16 bytes per row (issued, not waited for).
template <int BN, int LD, int THREADS>
__device__ __forceinline__ void load_kv_tile_bf16(const DecodeParams &p, int r, int kvh, int k0, int key_end,
                                                  __nv_bfloat16 *s_kv, int *s_key_ok) {
  constexpr int kChunks = kHeadDim / 8;
  const __nv_bfloat16 *kv = static_cast<const __nv_bfloat16 *>(p.kv);
  for (int c = threadIdx.x; c < BN * kChunks; c += THREADS) {
    const int row = c / kChunks, ch = c % kChunks;
    const long long cr = cache_row(p, r, kvh, k0 + row, key_end);
    const __nv_bfloat16 *src = cr >= 0 ? kv + cr * kHeadDim + ch * 8 : kv;
    cp_async_16(s_kv + row * LD + ch * 8, src, cr >= 0 ? 16 : 0);
    if (ch == 0) s_key_ok[row] = cr >= 0;
  }
}

// 16 e4m3 values times a power-of-two scale, as 16 BF16 (exact).
__device__ __forceinline__ void dequant16(const uint4 &v, float scale, uint4 (&o)[2]) {
  const __nv_fp8x2_storage_t *in = reinterpret_cast<const __nv_fp8x2_storage_t *>(&v);
  __nv_bfloat162 *out = reinterpret_cast<__nv_bfloat162 *>(o);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const __half2 h = __half2(__nv_cvt_fp8x2_to_halfraw2(in[i], __NV_E4M3));
    const float2 f = __half22float2(h);
    out[i] = __floats2bfloat162_rn(f.x * scale, f.y * scale);
  }
}

// FP8 cache (656-byte rows): 32 units of 16 e4m3 values (-> 32 bytes of BF16 each) and 8 units of
// 16 bytes of RoPE BF16 per row. Plain loads and stores (the conversion needs the data in registers).
template <int BN, int LD, int THREADS>
__device__ __forceinline__ void load_kv_tile_fp8(const DecodeParams &p, int r, int kvh, int k0, int key_end,
                                                 __nv_bfloat16 *s_kv, int *s_key_ok) {
  constexpr int kUnits = 40;
  const unsigned char *kv = static_cast<const unsigned char *>(p.kv);
  for (int c = threadIdx.x; c < BN * kUnits; c += THREADS) {
    const int row = c / kUnits, u = c % kUnits;
    const long long cr = cache_row(p, r, kvh, k0 + row, key_end);
    __nv_bfloat16 *dst = s_kv + row * LD;
    if (u == 0) s_key_ok[row] = cr >= 0;
    if (cr < 0) {
      const uint4 z = make_uint4(0, 0, 0, 0);
      if (u < 32) {
        *reinterpret_cast<uint4 *>(dst + u * 16) = z;
        *reinterpret_cast<uint4 *>(dst + u * 16 + 8) = z;
      } else {
        *reinterpret_cast<uint4 *>(dst + kVDim + (u - 32) * 8) = z;
      }
      continue;
    }
    const unsigned char *src = kv + cr * kFp8RowBytes;
    if (u < 32) {
      const uint4 v = __ldg(reinterpret_cast<const uint4 *>(src + u * 16));
      const float scale = __ldg(reinterpret_cast<const float *>(src + kVDim) + u / 8);
      uint4 o[2];
      dequant16(v, scale, o);
      *reinterpret_cast<uint4 *>(dst + u * 16) = o[0];
      *reinterpret_cast<uint4 *>(dst + u * 16 + 8) = o[1];
    } else {
      *reinterpret_cast<uint4 *>(dst + kVDim + (u - 32) * 8) =
          __ldg(reinterpret_cast<const uint4 *>(src + kVDim + 16 + (u - 32) * 16));
    }
  }
}

}  // namespace k4j::kernels::mla
