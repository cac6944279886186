// Portable FP8 block-scaled GEMM on mma.sync tensor cores (sm_80, sm_89, sm_90): D = C + A * B^T
// with DeepGEMM's per-128-K promotion (docs/CONTRACT.md section 2). One CTA computes a BM x BN tile of D:
// A and B tiles of one 128-wide k-block are staged in shared memory by 16-byte cp.async (double
// buffered, zero-filled past every M/N/K edge), each warp multiplies a 32 x 32 sub-tile into a
// fresh FP32 partial accumulator, and the partial is promoted into the FP32 result with the
// k-block's scales: acc += partial * (sa[m, kb] * sb[n / 128, kb]).
#pragma once
#include <cuda_bf16.h>
#include <limits.h>
#include <stdint.h>

#include "common/device_errors.cuh"
#include "common/shared_memory.cuh"
#include "gemm/fp8_gemm_params.cuh"
#include "gemm/mma_primitives.cuh"
#include "kernels4j.h"

namespace k4j::kernels::gemm {

constexpr int kBlockK = 128;  // one scale block of K = one pipeline stage

template <int BM, int BN>
struct MmaTile {
  static_assert(BM == 64 || BM == 128, "BM");
  static_assert(BN == 64 || BN == 128, "BN: a tile must not straddle two 128-wide scale blocks of N");
  static constexpr int kWarpsM = BM / 32;
  static constexpr int kWarpsN = BN / 32;
  static constexpr int kThreads = kWarpsM * kWarpsN * 32;  // 128, 256 or 512
  // Warp tile 32 x 32: the result and the k-block partial (2 x 32 FP32 registers) fit under the
  // 128-register budget of a 512-thread CTA without spilling.
  static constexpr int kWarpN = 32;
  static constexpr int kNTiles = kWarpN / 8;  // n8 MMA tiles per warp
  static constexpr int kStageBytes = (BM + BN) * kBlockK;
  static constexpr int kSmemBytes = 2 * kStageBytes;
  static_assert(BM % (kThreads / 8) == 0 && BN % (kThreads / 8) == 0 && (kThreads / 8) % 8 == 0, "load map");
};

// Byte offset of 16-byte chunk `chunk` of row `row` in a tile of 128-byte rows. Chunks are XOR-
// swizzled by row so that the 8 rows one ldmatrix phase reads fall in 8 different bank groups.
__device__ __forceinline__ int swz(int row, int chunk) { return row * kBlockK + ((chunk ^ (row & 7)) << 4); }

// Expert of `row` in the groupEnds form: the first g whose end (clamped to [0, m]) exceeds row,
// or -1 when the row lies past every end. Equal to a binary search when ends are sorted and still
// well defined (the prefix maximum of the clamped ends) when they are not.
__device__ __forceinline__ int group_of_row_ends(const int *ends, int groups, int m, int row) {
  for (int g = 0; g < groups; ++g) {
    const int e = min(max(__ldg(ends + g), 0), m);
    if (e > row) return g;
  }
  return -1;
}

// One pass over K for the rows of tile (m0, n0) that belong to expert g (every row when not
// grouped), then the epilogue: D = C + acc for those rows.
template <int BM, int BN, GemmMode MODE>
__device__ __forceinline__ void mma_tile_pass(const uint8_t *a, const uint8_t *b_all, const float *sa,
                                              const float *sb_all, const float *c, void *d, int d_fp32, int n,
                                              int k, int sa_ld, int rows, int64_t d_row0, int m0, int n0, int g,
                                              const int *s_group, uint8_t *smem) {
  using T = MmaTile<BM, BN>;
  constexpr int NT = T::kNTiles;
  constexpr bool kGroupedRows = MODE == GemmMode::kContiguous || MODE == GemmMode::kEnds;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int warp_m = warp / T::kWarpsN, warp_n = warp % T::kWarpsN;
  const int kb_count = (k + kBlockK - 1) / kBlockK;
  const int nb_count = (n + 127) / 128;
  const uint8_t *b = b_all + (int64_t)g * n * k;
  const float *sb = sb_all + ((int64_t)g * nb_count + n0 / 128) * kb_count;

  float acc[2][NT][4];
#pragma unroll
  for (int mi = 0; mi < 2; ++mi)
#pragma unroll
    for (int ni = 0; ni < NT; ++ni)
#pragma unroll
      for (int j = 0; j < 4; ++j) acc[mi][ni][j] = 0.f;

  // Stage kb of A and B into buffer `stage`; chunks past M, N or K are zero-filled. Thread tid
  // copies 16-byte chunk (tid % 8) of rows tid / 8 + j * kRowStep: the chunk column and its swizzle
  // are the same for all its rows (kRowStep is a multiple of 8), so one pointer per operand suffices.
  constexpr int kRowStep = T::kThreads / 8;
  const int ld_ch = tid & 7, ld_r = tid >> 3;
  const int ld_smem = swz(ld_r, ld_ch);
  const uint8_t *a_src = a + (int64_t)(m0 + ld_r) * k + ld_ch * 16;  // dereferenced only when in range
  const uint8_t *b_src = b + (int64_t)(n0 + ld_r) * k + ld_ch * 16;
  auto load_stage = [&](int stage, int kb) {
    uint8_t *s_a = smem + stage * T::kStageBytes;
    uint8_t *s_b = s_a + BM * kBlockK;
    const bool k_ok = kb * kBlockK + ld_ch * 16 < k;
#pragma unroll
    for (int j = 0; j < BM / kRowStep; ++j) {
      const bool ok = k_ok && m0 + ld_r + j * kRowStep < rows;
      cp_async_16(s_a + ld_smem + j * kRowStep * kBlockK,
                  ok ? a_src + (int64_t)j * kRowStep * k + kb * kBlockK : a, ok ? 16 : 0);
    }
#pragma unroll
    for (int j = 0; j < BN / kRowStep; ++j) {
      const bool ok = k_ok && n0 + ld_r + j * kRowStep < n;
      cp_async_16(s_b + ld_smem + j * kRowStep * kBlockK,
                  ok ? b_src + (int64_t)j * kRowStep * k + kb * kBlockK : b, ok ? 16 : 0);
    }
  };

  load_stage(0, 0);
  cp_async_commit();
  for (int kb = 0; kb < kb_count; ++kb) {
    if (kb + 1 < kb_count) load_stage((kb + 1) & 1, kb + 1);
    cp_async_commit();

    // This k-block's scales, loaded before the MMAs so that their latency hides behind them.
    float scale_a[2][2];
#pragma unroll
    for (int mi = 0; mi < 2; ++mi)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int row = m0 + warp_m * 32 + mi * 16 + h * 8 + (lane >> 2);
        scale_a[mi][h] = row < rows ? __ldg(sa + (int64_t)kb * sa_ld + row) : 0.f;
      }
    const float scale_b = __ldg(sb + kb);

    cp_async_wait<1>();
    __syncthreads();
    const uint8_t *s_a = smem + (kb & 1) * T::kStageBytes;
    const uint8_t *s_b = s_a + BM * kBlockK;

    float part[2][NT][4];
#pragma unroll
    for (int mi = 0; mi < 2; ++mi)
#pragma unroll
      for (int ni = 0; ni < NT; ++ni)
#pragma unroll
        for (int j = 0; j < 4; ++j) part[mi][ni][j] = 0.f;

    const int k_left = k - kb * kBlockK;  // < 128 only in the last k-block
#pragma unroll
    for (int ks = 0; ks < kBlockK / 32; ++ks) {
      if (ks * 32 >= k_left) break;  // the rest is zero-fill
      FragA fa[2];
#pragma unroll
      for (int mi = 0; mi < 2; ++mi) {
        uint32_t raw[4];
        const int r = warp_m * 32 + mi * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
        ldmatrix_x4(raw, s_a + swz(r, ks * 2 + (lane >> 4)));
        fa[mi].set(raw);
      }
#pragma unroll
      for (int np = 0; np < NT / 2; ++np) {
        uint32_t raw[4];
        const int r = warp_n * T::kWarpN + np * 16 + (lane & 7) + (lane >> 4) * 8;
        ldmatrix_x4(raw, s_b + swz(r, ks * 2 + ((lane >> 3) & 1)));
        FragB fb0, fb1;
        fb0.set(raw[0], raw[1]);
        fb1.set(raw[2], raw[3]);
#pragma unroll
        for (int mi = 0; mi < 2; ++mi) {
          mma_fp8_16832(part[mi][2 * np], fa[mi], fb0);
          mma_fp8_16832(part[mi][2 * np + 1], fa[mi], fb1);
        }
      }
    }

    // Promotion of this k-block into the FP32 result (docs/CONTRACT.md section 2: once per 128 of K).
#pragma unroll
    for (int mi = 0; mi < 2; ++mi)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const float s = scale_a[mi][h] * scale_b;
#pragma unroll
        for (int ni = 0; ni < NT; ++ni)
#pragma unroll
          for (int j = 0; j < 2; ++j)
            acc[mi][ni][h * 2 + j] += (part[mi][ni][h * 2 + j] * kPartialScale) * s;
      }
    __syncthreads();  // the next iteration's load overwrites this buffer
  }

  // Epilogue: D = C + acc, rounded once (BF16 RNE) or stored as FP32. Each thread owns pairs of
  // adjacent columns, so N % 8 == 0 keeps every pair whole.
#pragma unroll
  for (int mh = 0; mh < 4; ++mh) {
    const int mi = mh >> 1, h = mh & 1;
    const int rl = warp_m * 32 + mi * 16 + h * 8 + (lane >> 2);
    const int row = m0 + rl;
    bool write_row = row < rows;
    if constexpr (kGroupedRows) write_row = write_row && s_group[rl] == g;
    const int64_t off_row = (d_row0 + row) * (int64_t)n;
#pragma unroll
    for (int ni = 0; ni < NT; ++ni) {
      const int col = n0 + warp_n * T::kWarpN + ni * 8 + (lane & 3) * 2;
      if (!write_row || col >= n) continue;
      float v0 = acc[mi][ni][h * 2], v1 = acc[mi][ni][h * 2 + 1];
      if (c != nullptr) {
        const float2 cv = __ldg(reinterpret_cast<const float2 *>(c + off_row + col));
        v0 = cv.x + v0;
        v1 = cv.y + v1;
      }
      if (d_fp32) {
        *reinterpret_cast<float2 *>(static_cast<float *>(d) + off_row + col) = make_float2(v0, v1);
      } else {
        *reinterpret_cast<__nv_bfloat162 *>(static_cast<__nv_bfloat16 *>(d) + off_row + col) =
            __floats2bfloat162_rn(v0, v1);
      }
    }
  }
}

// Out-of-line copy for the grouped kernels, where the pass runs in a loop over the experts of a
// tile: inlined there, ptxas kept loop-invariant addresses live across passes and spilled.
template <int BM, int BN, GemmMode MODE>
__device__ __noinline__ void mma_tile_pass_call(const uint8_t *a, const uint8_t *b_all, const float *sa,
                                                   const float *sb_all, const float *c, void *d, int d_fp32, int n,
                                                   int k, int sa_ld, int rows, int64_t d_row0, int m0, int n0, int g,
                                                   const int *s_group, uint8_t *smem) {
  mma_tile_pass<BM, BN, MODE>(a, b_all, sa, sb_all, c, d, d_fp32, n, k, sa_ld, rows, d_row0, m0, n0, g, s_group, smem);
}

template <int BM, int BN, GemmMode MODE>
__global__ void __launch_bounds__(MmaTile<BM, BN>::kThreads)
    fp8_gemm_mma_kernel(const GemmParams p) {
  using T = MmaTile<BM, BN>;
  constexpr bool kGroupedRows = MODE == GemmMode::kContiguous || MODE == GemmMode::kEnds;
  K4J_DYNAMIC_SMEM(uint8_t, smem, 128);
  __shared__ int s_group[BM];

  const int tid = threadIdx.x;
  const int n0 = blockIdx.x * BN;
  const int m0 = blockIdx.y * BM;
  const int kb_count = (p.k + kBlockK - 1) / kBlockK;
  const bool first_cta = blockIdx.x == 0 && blockIdx.y == 0;

  const uint8_t *a = p.a;
  const float *sa = p.sa;
  int64_t d_row0 = 0;  // first row of this problem in C/D
  int rows = p.m;      // rows of this problem that are computed
  int fixed_group = 0;

  if constexpr (MODE == GemmMode::kMasked) {
    const int g = blockIdx.z;
    int mm = __ldg(p.masked_m + g);
    if (mm < 0 || mm > p.m) {
      if (first_cta && tid == 0) raise_device_error(p.err_flags, K4J_DEVERR_LENGTH_OUT_OF_RANGE);
      mm = min(max(mm, 0), p.m);
    }
    if (m0 >= mm) return;  // whole tile past maskedM[g]: untouched
    rows = mm;
    fixed_group = g;
    a += (int64_t)g * p.m * p.k;
    sa += (int64_t)g * kb_count * p.sa_ld;
    d_row0 = (int64_t)g * p.m;
  }

  if constexpr (kGroupedRows) {
    for (int r = tid; r < BM; r += T::kThreads) {
      const int row = m0 + r;
      int g = -1;
      if (row < p.m) {
        if constexpr (MODE == GemmMode::kContiguous) {
          const int e = __ldg(p.m_indices + row);
          if (e >= 0 && e < p.groups) {
            g = e;
          } else if (e != -1 && blockIdx.x == 0) {
            raise_device_error(p.err_flags, K4J_DEVERR_INDEX_OUT_OF_RANGE);
          }
        } else {
          g = group_of_row_ends(p.group_ends, p.groups, p.m, row);
        }
      }
      s_group[r] = g;
    }
    if constexpr (MODE == GemmMode::kEnds) {
      if (first_cta) {
        for (int g = tid; g < p.groups; g += T::kThreads) {
          const int e = __ldg(p.group_ends + g);
          const bool bad = e < 0 || e > p.m || (g > 0 && e < __ldg(p.group_ends + g - 1));
          if (bad) raise_device_error(p.err_flags, K4J_DEVERR_LENGTH_OUT_OF_RANGE);
        }
      }
    }
    __syncthreads();
  }

  int prev_group = -1;
  for (;;) {
    // The expert this pass computes. Grouped rows: the next expert id present in the tile (one pass
    // when segments are aligned to BM; a tile straddling k experts takes k passes).
    int g = fixed_group;
    if constexpr (kGroupedRows) {
      g = INT_MAX;
#pragma unroll 1
      for (int r = 0; r < BM; ++r) {
        const int v = s_group[r];
        if (v > prev_group && v < g) g = v;
      }
      if (g == INT_MAX) break;
      prev_group = g;
    }

    if constexpr (kGroupedRows)
      mma_tile_pass_call<BM, BN, MODE>(a, p.b, sa, p.sb, p.c, p.d, p.d_fp32, p.n, p.k, p.sa_ld, rows, d_row0, m0,
                                       n0, g, s_group, smem);
    else
      mma_tile_pass<BM, BN, MODE>(a, p.b, sa, p.sb, p.c, p.d, p.d_fp32, p.n, p.k, p.sa_ld, rows, d_row0, m0, n0,
                                  g, s_group, smem);
    if constexpr (!kGroupedRows) break;
  }
}

}  // namespace k4j::kernels::gemm
