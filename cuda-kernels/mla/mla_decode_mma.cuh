// MLA decode on the tensor cores (mma.sync BF16, sm_80+): one CTA = one work item (request, range
// of 64-key tiles) x one KV head x 32 query rows (rows = the sQ x hQ/hKV queries of that KV head).
// Per BN-key tile: S = Q.K^T over 576 dims (8 warps split the 32 x BN tile, and K when BN = 16),
// online softmax in FP32 (log2 domain), O += P.V with V the first 512 columns of the same rows
// (each warp owns 16 rows x 128 columns). K/V tiles are double-buffered with cp.async.
#pragma once
#include <cuda_bf16.h>
#include <math_constants.h>

#include "common/device_errors.cuh"
#include "common/shared_memory.cuh"
#include "mla/mla_kv_load.cuh"
#include "mla/mla_mma.cuh"
#include "mla/mla_params.cuh"

namespace k4j::kernels::mla {

template <int BN_>
struct DecodeCfg {
  static constexpr int BN = BN_;                  // keys per tile (16 or 32)
  static constexpr int M = 32;                    // query rows per CTA
  static constexpr int WARPS = 8, THREADS = 256;
  static constexpr int LD = kHeadDim + 8;         // smem row stride: +16 bytes keeps ldmatrix conflict-free
  static constexpr int NT = BN / 8;               // n-tiles of S per row group
  static constexpr int KSPLIT = WARPS / ((M / 16) * NT);  // warps sharing one S tile along K
  static constexpr int KSTEPS = kHeadDim / 16 / KSPLIT;   // k16 steps per warp (even)
  static constexpr int PLD = BN + 8;              // P row stride (bf16), conflict-free ldmatrix
  static_assert(KSPLIT >= 1 && (M / 16) * NT * KSPLIT == WARPS, "warp split");
  static_assert(KSTEPS % 2 == 0, "k steps come in pairs");
  // shared memory carve-up (bytes, each 16-byte aligned)
  static constexpr int Q_OFF = 0;
  static constexpr int KV_OFF = Q_OFF + M * LD * 2;
  static constexpr int S_OFF = KV_OFF + 2 * BN * LD * 2;
  static constexpr int P_OFF = S_OFF + KSPLIT * M * BN * 4;
  static constexpr int ROW_OFF = P_OFF + M * PLD * 2;   // alpha, lim, l, m: 4 x M
  static constexpr int OK_OFF = ROW_OFF + 4 * M * 4;    // key usable flags, 2 x BN
  static constexpr int SMEM = OK_OFF + 2 * BN * 4;
};

template <int BN, bool FP8>
__global__ void __launch_bounds__(256, 1) mla_decode_kernel(const DecodeParams p) {
  using C = DecodeCfg<BN>;
  constexpr int M = C::M, LD = C::LD;
  K4J_DYNAMIC_SMEM(unsigned char, smem, 16);
  __nv_bfloat16 *s_q = reinterpret_cast<__nv_bfloat16 *>(smem + C::Q_OFF);
  __nv_bfloat16 *s_kv = reinterpret_cast<__nv_bfloat16 *>(smem + C::KV_OFF);
  float *s_s = reinterpret_cast<float *>(smem + C::S_OFF);
  __nv_bfloat16 *s_p = reinterpret_cast<__nv_bfloat16 *>(smem + C::P_OFF);
  float *s_alpha = reinterpret_cast<float *>(smem + C::ROW_OFF);
  int *s_lim = reinterpret_cast<int *>(smem + C::ROW_OFF + M * 4);
  float *s_l = reinterpret_cast<float *>(smem + C::ROW_OFF + 2 * M * 4);
  float *s_m = reinterpret_cast<float *>(smem + C::ROW_OFF + 3 * M * 4);
  int *s_ok = reinterpret_cast<int *>(smem + C::OK_OFF);

  const WorkItem w = p.work[blockIdx.x];
  if (!work_item_valid(p, w, (int)gridDim.x, blockIdx.y == 0)) return;  // unused capacity, or a bad item (flagged)
  const int r = w.request;
  const int kvh = blockIdx.y / p.m_tiles, mt = blockIdx.y % p.m_tiles;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, t4 = lane & 3;

  bool bad_len = false;
  const int seqlen = clamp_seqlen(p.seqlens[r], p.max_blocks, p.page_size, &bad_len);
  if (bad_len && tid == 0 && blockIdx.y == 0) raise_device_error(p.err, K4J_DEVERR_LENGTH_OUT_OF_RANGE);
  const int key_begin = min(w.tile_begin * kTileKeys, seqlen);
  const int key_end = min(w.tile_end * kTileKeys, seqlen);
  const int n_tiles = key_end > key_begin ? (key_end - key_begin + BN - 1) / BN : 0;
  const int n_splits = p.num_splits[r];

  // Visible keys of each row: end-aligned causal for sQ > 1; padding rows see nothing.
  if (tid < M) {
    const int m = mt * M + tid;
    int lim = 0;
    if (m < p.m_rows) {
      const int i = m / p.h_per_kv;
      lim = (p.causal && p.s_q > 1) ? max(0, seqlen - (p.s_q - 1 - i)) : seqlen;
    }
    s_lim[tid] = min(lim, key_end);
  }

  // Q rows (zero for padding rows) join the first K/V tile's cp.async group.
  {
    const __nv_bfloat16 *q = static_cast<const __nv_bfloat16 *>(p.q);
    for (int c = tid; c < M * (kHeadDim / 8); c += C::THREADS) {
      const int row = c / (kHeadDim / 8), ch = c % (kHeadDim / 8);
      const int m = mt * M + row;
      const __nv_bfloat16 *src = q;
      if (m < p.m_rows) {
        const int i = m / p.h_per_kv, h = kvh * p.h_per_kv + m % p.h_per_kv;
        src = q + (((long long)r * p.s_q + i) * p.h_q + h) * kHeadDim + ch * 8;
      }
      cp_async_16(s_q + row * LD + ch * 8, src, m < p.m_rows ? 16 : 0);
    }
  }
  auto load_tile = [&](int t) {
    const int st = t & 1;
    if constexpr (FP8)
      load_kv_tile_fp8<BN, LD, C::THREADS>(p, r, kvh, key_begin + t * BN, key_end, s_kv + st * BN * LD,
                                           s_ok + st * BN);
    else
      load_kv_tile_bf16<BN, LD, C::THREADS>(p, r, kvh, key_begin + t * BN, key_end, s_kv + st * BN * LD,
                                            s_ok + st * BN);
  };
  if (n_tiles > 0) load_tile(0);
  cp_async_commit();

  // Softmax state of row (tid >> 3), replicated in its 8 threads; log2 domain.
  const int srow = tid >> 3, ssub = tid & 7;
  float m_run = -CUDART_INF_F, l_run = 0.f;
  // O accumulators: rows 16*mi + g (+8), columns cbase + 8*j + 2*t4 (+1).
  const int mi = warp % (M / 16), ng = warp / (M / 16);
  const int cbase = ng * (kVDim / 4);
  float o[16][4];
#pragma unroll
  for (int j = 0; j < 16; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;

  for (int t = 0; t < n_tiles; ++t) {
    if (t + 1 < n_tiles) {
      load_tile(t + 1);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const __nv_bfloat16 *s_k = s_kv + (t & 1) * BN * LD;
    const int *ok = s_ok + (t & 1) * BN;
    const int k0 = key_begin + t * BN;

    // S = Q.K^T: warp -> (row group mi, n-tile nt, K slice ks).
    {
      const int u = warp / (M / 16);
      const int nt = u % C::NT, ks = u / C::NT;
      float acc[4] = {0.f, 0.f, 0.f, 0.f};
      const __nv_bfloat16 *qa = s_q + (16 * mi + (lane & 7) + 8 * ((lane >> 3) & 1)) * LD + 8 * (lane >> 4);
      const __nv_bfloat16 *kb = s_k + (8 * nt + (lane & 7)) * LD + 8 * (lane >> 3);
#pragma unroll 6
      for (int kk = 0; kk < C::KSTEPS; kk += 2) {
        const int kofs = (ks * C::KSTEPS + kk) * 16;
        uint32_t a0[4], a1[4], b[4];
        ldmatrix_x4(a0, qa + kofs);
        ldmatrix_x4(a1, qa + kofs + 16);
        ldmatrix_x4(b, kb + kofs);
        mma_bf16_16816(acc, a0, b[0], b[1]);
        mma_bf16_16816(acc, a1, b[2], b[3]);
      }
      float *ss = s_s + ks * M * BN;
      *reinterpret_cast<float2 *>(ss + (16 * mi + g) * BN + 8 * nt + 2 * t4) = make_float2(acc[0], acc[1]);
      *reinterpret_cast<float2 *>(ss + (16 * mi + g + 8) * BN + 8 * nt + 2 * t4) = make_float2(acc[2], acc[3]);
    }
    __syncthreads();

    // Online softmax: 8 threads per row, BN/8 keys each. Masked keys get P = 0 exactly.
    {
      constexpr int CPT = BN / 8;
      const int lim = s_lim[srow];
      float sv[CPT];
      float tmax = -CUDART_INF_F;
#pragma unroll
      for (int c = 0; c < CPT; ++c) {
        const int col = ssub + 8 * c;
        float v = 0.f;
#pragma unroll
        for (int ks = 0; ks < C::KSPLIT; ++ks) v += s_s[ks * M * BN + srow * BN + col];
        const bool vis = (k0 + col) < lim && ok[col];
        sv[c] = vis ? v * p.scale_log2 : -CUDART_INF_F;
        tmax = fmaxf(tmax, sv[c]);
      }
#pragma unroll
      for (int o2 = 1; o2 < 8; o2 <<= 1) tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, o2));
      const float m_new = fmaxf(m_run, tmax);
      const float alpha = m_new == -CUDART_INF_F ? 1.f : exp2f(m_run - m_new);
      float psum = 0.f;
#pragma unroll
      for (int c = 0; c < CPT; ++c) {
        const float pv = sv[c] == -CUDART_INF_F ? 0.f : exp2f(sv[c] - m_new);
        s_p[srow * C::PLD + ssub + 8 * c] = __float2bfloat16_rn(pv);
        psum += pv;
      }
#pragma unroll
      for (int o2 = 1; o2 < 8; o2 <<= 1) psum += __shfl_xor_sync(0xffffffffu, psum, o2);
      l_run = l_run * alpha + psum;
      m_run = m_new;
      if (ssub == 0) s_alpha[srow] = alpha;
    }
    __syncthreads();

    // O = alpha * O + P.V (V = columns [0, 512) of the same K rows, B operand via ldmatrix.trans).
    {
      const float a_lo = s_alpha[16 * mi + g], a_hi = s_alpha[16 * mi + g + 8];
#pragma unroll
      for (int j = 0; j < 16; ++j) {
        o[j][0] *= a_lo; o[j][1] *= a_lo;
        o[j][2] *= a_hi; o[j][3] *= a_hi;
      }
#pragma unroll
      for (int kk = 0; kk < BN / 16; ++kk) {
        uint32_t a[4];
        ldmatrix_x4(a, s_p + (16 * mi + (lane & 7) + 8 * ((lane >> 3) & 1)) * C::PLD + kk * 16 + 8 * (lane >> 4));
        const __nv_bfloat16 *vb = s_k + (kk * 16 + (lane & 7) + 8 * ((lane >> 3) & 1)) * LD + cbase + 8 * (lane >> 4);
#pragma unroll
        for (int jj = 0; jj < 8; ++jj) {
          uint32_t b[4];
          ldmatrix_x4_trans(b, vb + jj * 16);
          mma_bf16_16816(o[2 * jj], a, b[0], b[1]);
          mma_bf16_16816(o[2 * jj + 1], a, b[2], b[3]);
        }
      }
    }
    __syncthreads();  // the next iteration overwrites this stage, S and P
  }

  cp_async_wait<0>();  // nothing may stay in flight (n_tiles == 0 still loaded Q)
  if (ssub == 0) {
    s_l[srow] = l_run;
    s_m[srow] = m_run;
  }
  __syncthreads();

  // Epilogue: requests with one split write out/lse directly, the others their partial slot.
  const bool direct = n_splits == 1;
  const int rows_q = p.s_q * p.h_q;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int rl = 16 * mi + g + 8 * half;
    const int m = mt * M + rl;
    if (m >= p.m_rows) continue;
    const int i = m / p.h_per_kv, h = kvh * p.h_per_kv + m % p.h_per_kv;
    const float l = s_l[rl];
    const float inv = l > 0.f ? 1.f / l : 0.f;
    if (direct) {
      __nv_bfloat16 *out = static_cast<__nv_bfloat16 *>(p.out) + (((long long)r * p.s_q + i) * p.h_q + h) * kVDim;
#pragma unroll
      for (int j = 0; j < 16; ++j)
        *reinterpret_cast<__nv_bfloat162 *>(out + cbase + 8 * j + 2 * t4) =
            __floats2bfloat162_rn(o[j][2 * half] * inv, o[j][2 * half + 1] * inv);
    } else {
      float *oa = p.o_accum + ((long long)w.slot * rows_q + (long long)i * p.h_q + h) * kVDim;
#pragma unroll
      for (int j = 0; j < 16; ++j)
        *reinterpret_cast<float2 *>(oa + cbase + 8 * j + 2 * t4) =
            make_float2(o[j][2 * half] * inv, o[j][2 * half + 1] * inv);
    }
  }
  if (tid < M) {
    const int m = mt * M + tid;
    if (m < p.m_rows) {
      const int i = m / p.h_per_kv, h = kvh * p.h_per_kv + m % p.h_per_kv;
      const float l = s_l[tid];
      const float lse = l > 0.f ? (s_m[tid] + log2f(l)) * 0.69314718055994531f : 0.f;
      if (direct)
        p.lse[((long long)r * p.h_q + h) * p.s_q + i] = l > 0.f ? lse : CUDART_INF_F;
      else
        p.lse_accum[(long long)w.slot * rows_q + (long long)i * p.h_q + h] = l > 0.f ? lse : -CUDART_INF_F;
    }
  }
}

}  // namespace k4j::kernels::mla
