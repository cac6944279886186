// Work order of the persistent Hopper FP8 GEMM (fp8_gemm_wgmma.cuh): which output tiles a CTA computes,
// in which order, and the passes of a tile (one per expert whose rows it holds). The producer warp and
// every consumer warp walk the same sequence independently (no shared state, so the producer can run
// ahead into the next tile while the consumers finish the current one); all functions here are
// warp-collective or per-thread, never block-wide.
//
// Layouts (docs/CONTRACT.md section 2), with the same device-side handling of bad data as the portable
// family (fp8_gemm_mma.cuh):
//  - dense: tiles of rows [0, m), one pass.
//  - contiguous (mIndices): tiles of rows [0, m); a pass per distinct valid id present in the tile, in
//    increasing order; a row is stored by the pass of its id. -1 is padding; any other id outside
//    [0, G) is skipped like padding and raises K4J_DEVERR_INDEX_OUT_OF_RANGE (wgmma_check_tables).
//  - ends (groupEnds): group g owns rows [P(g-1), P(g)) with P the running maximum of the ends clamped
//    to [0, m] (the portable family's "first g whose clamped end exceeds the row"); a pass per group
//    whose range meets the tile. Bad ends raise K4J_DEVERR_LENGTH_OUT_OF_RANGE (CTA 0).
//  - masked: per group g, rows [0, clamp(maskedM[g], 0, maxM)) only: the tile list itself is read on the
//    device (tiles past maskedM do not exist). Out-of-range maskedM raise K4J_DEVERR_LENGTH_OUT_OF_RANGE
//    (CTA 0).
#pragma once
#include <limits.h>
#include <stdint.h>

#include "common/device_errors.cuh"
#include "common/ptx.cuh"
#include "gemm/fp8_gemm_params.cuh"
#include "kernels4j.h"

namespace k4j::kernels::gemm {

constexpr unsigned kFullMask = 0xffffffffu;

// Every warp walks the schedule with all 32 lanes. Values read from memory pass through a shuffle
// from lane 0 so that ptxas knows them warp-uniform: a branch it must treat as divergent around the
// wgmma sequence makes it serialise the wgmmas and spill the accumulators.
__device__ __forceinline__ int warp_uniform(int v) { return __shfl_sync(kFullMask, v, 0); }

__device__ __forceinline__ int warp_min(int v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = min(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

// A tile of D: rows [m0, m0 + BM) of problem `group` (masked: of group `group`'s rows; other forms:
// rows of the whole [m, n] problem), columns [n0, n0 + BN). `rows`: the problem's row count (masked:
// clamped maskedM[group]; other forms: m).
struct WgmmaTileCoord {
  int m0, n0, group, rows, n_block;
};

// One pass over K for the rows of a tile that belong to expert `group`: rows [lo, hi) (absolute), and
// for the contiguous form additionally mIndices[row] == group.
struct WgmmaPass {
  int group, lo, hi;
};

// CLUSTER = 2 (dense form only): the tiles come in pairs of vertically adjacent row tiles with the
// same columns, one per CTA of a cluster (rank 0: the upper, rank 1: the lower); the pairs are walked
// by cluster as single tiles are by CTA. Rank 1's tile of a pair whose lower half lies past M still
// has a pass with no rows (it must keep loading its half of the shared B tile for rank 0).
template <int BM, int BN, GemmMode MODE, int CLUSTER = 1>
struct WgmmaScheduler {
  // Tiles of one problem are visited in bands of kBandN column blocks, row-major within a band: the
  // CTAs running at the same time share a few A row panels and B column panels in L2.
  static constexpr int kBandN = 16;

  const GemmParams &p;
  int m_blocks, n_blocks;
  int tile;  // next tile index of this CTA (masked: across the groups walked so far); CLUSTER 2: pair index
  int rank = 0;  // CLUSTER 2: %cluster_ctarank
  // masked: the group being walked and the first tile index of it
  int group = 0, group_first = 0, group_rows = 0;
  // next_work: the current tile and the expert of its last pass (-1: none yet, -2: no tile yet)
  WgmmaTileCoord cur;
  int prev = -2;

  __device__ explicit WgmmaScheduler(const GemmParams &params) : p(params) {
    m_blocks = (p.m + BM - 1) / BM;
    n_blocks = (p.n + BN - 1) / BN;
    tile = blockIdx.x;
    if constexpr (CLUSTER > 1) {
      static_assert(CLUSTER == 2 && MODE == GemmMode::kDense, "clusters: pairs of dense tiles");
      m_blocks = (m_blocks + 1) / 2;  // pairs of row tiles
      tile = blockIdx.x / 2;          // the cluster's index (%clusterid.x: clusters are 2 x 1 x 1)
      rank = (int)ptx::cluster_ctarank();
    }
    if constexpr (MODE == GemmMode::kMasked) group_rows = masked_rows(0);
  }

  __device__ int masked_rows(int g) const { return warp_uniform(min(max(__ldg(p.masked_m + g), 0), p.m)); }

  __device__ void coords(int t, int rows_blocks, int &mb, int &nb) const {
    const int band = t / (kBandN * rows_blocks);
    const int first_n = band * kBandN;
    const int width = min(kBandN, n_blocks - first_n);
    const int in_band = t - band * kBandN * rows_blocks;
    mb = in_band / width;
    nb = first_n + in_band % width;
  }

  // The next tile of this CTA, or false when it has none left.
  __device__ bool next(WgmmaTileCoord &c) {
    int mb, nb;
    if constexpr (MODE == GemmMode::kMasked) {
      // Walk the groups forward: tile indices only grow, so each CTA reads each maskedM once.
      for (;;) {
        const int tiles = (group_rows + BM - 1) / BM * n_blocks;
        if (tile < group_first + tiles) break;
        if (++group >= p.groups) return false;
        group_first += tiles;
        group_rows = masked_rows(group);
      }
      coords(tile - group_first, (group_rows + BM - 1) / BM, mb, nb);
      c.group = group;
      c.rows = group_rows;
    } else {
      if (tile >= m_blocks * n_blocks) return false;
      coords(tile, m_blocks, mb, nb);
      c.group = 0;
      c.rows = p.m;
    }
    c.m0 = (mb * CLUSTER + rank) * BM;
    c.n0 = nb * BN;
    c.n_block = nb;
    tile += gridDim.x / CLUSTER;
    return true;
  }

  // Warp-collective: the pass after the one of expert `prev` (-1: the first), or false when the tile
  // has no further expert. Every lane returns the same result.
  __device__ bool next_pass(const WgmmaTileCoord &c, int prev, WgmmaPass &ps) const {
    const int lo = c.m0, hi = min(c.m0 + BM, c.rows);
    if constexpr (CLUSTER > 1) {  // dense: one pass, possibly without rows (rank 1 past M)
      ps = WgmmaPass{c.group, lo, hi > lo ? hi : lo};
      return prev < 0;
    } else if constexpr (MODE == GemmMode::kDense || MODE == GemmMode::kMasked) {
      ps = WgmmaPass{c.group, lo, hi};
      return prev < 0 && lo < hi;
    } else if constexpr (MODE == GemmMode::kContiguous) {
      const int lane = threadIdx.x & 31;
      int best = INT_MAX;
#pragma unroll
      for (int j = 0; j < BM / 32; ++j) {
        const int row = lo + lane + 32 * j;
        if (row < hi) {
          const int e = __ldg(p.m_indices + row);
          if (e >= 0 && e < p.groups && e > prev) best = min(best, e);
        }
      }
      best = warp_uniform(warp_min(best));
      ps = WgmmaPass{best, lo, hi};
      return best != INT_MAX;
    } else {
      // Running maximum P of the clamped ends, 32 groups at a time; group g meets the tile when
      // [P(g-1), P(g)) intersects [lo, hi).
      const int lane = threadIdx.x & 31;
      int carry = 0;  // P of the last group of the previous chunk
      for (int g0 = 0; g0 < p.groups && carry < hi; g0 += 32) {
        const int g = g0 + lane;
        const int e = g < p.groups ? min(max(__ldg(p.group_ends + g), 0), p.m) : 0;
        int pm = max(e, carry);
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
          const int v = __shfl_up_sync(kFullMask, pm, o);
          if (lane >= o) pm = max(pm, v);
        }
        int start = __shfl_up_sync(kFullMask, pm, 1);
        if (lane == 0) start = carry;
        const bool meets = g < p.groups && g > prev && start < pm && start < hi && pm > lo;
        const unsigned ballot = __ballot_sync(kFullMask, meets);
        if (ballot != 0) {
          const int src = warp_uniform(__ffs((int)ballot) - 1);
          const int s = warp_uniform(__shfl_sync(kFullMask, start, src));
          const int e2 = warp_uniform(__shfl_sync(kFullMask, pm, src));
          ps = WgmmaPass{g0 + src, max(s, lo), min(e2, hi)};
          return true;
        }
        carry = warp_uniform(__shfl_sync(kFullMask, pm, 31));
      }
      return false;
    }
  }

  // The next unit of work of this CTA: the next pass of the current tile, else the first pass of the
  // next tile that has one. One flat loop over (tile, pass) in the kernel: a pass loop nested in the
  // tile loop around the wgmma main loop made ptxas spill the accumulators.
  __device__ bool next_work(WgmmaTileCoord &c, WgmmaPass &ps) {
    for (;;) {
      if (prev != -2 && next_pass(cur, prev, ps)) {
        prev = ps.group;
        c = cur;
        return true;
      }
      if (!next(cur)) return false;
      prev = -1;
    }
  }
};

// Once per launch, by every thread of the block (`tid` of `count`): the device-side checks of the
// group tables, flagged as the portable family does. mIndices: every row once across the grid (a
// tile with no valid id has no pass to notice it); ends and maskedM: CTA 0.
template <GemmMode MODE>
__device__ __forceinline__ void wgmma_check_tables(const GemmParams &p, int tid, int count) {
  if constexpr (MODE == GemmMode::kContiguous) {
    for (int64_t row = (int64_t)blockIdx.x * count + tid; row < p.m; row += (int64_t)gridDim.x * count) {
      const int e = __ldg(p.m_indices + row);
      if (e != -1 && (e < 0 || e >= p.groups)) raise_device_error(p.err_flags, K4J_DEVERR_INDEX_OUT_OF_RANGE);
    }
  }
  if (blockIdx.x != 0) return;
  if constexpr (MODE == GemmMode::kEnds) {
    for (int g = tid; g < p.groups; g += count) {
      const int e = __ldg(p.group_ends + g);
      if (e < 0 || e > p.m || (g > 0 && e < __ldg(p.group_ends + g - 1)))
        raise_device_error(p.err_flags, K4J_DEVERR_LENGTH_OUT_OF_RANGE);
    }
  } else if constexpr (MODE == GemmMode::kMasked) {
    for (int g = tid; g < p.groups; g += count) {
      const int mm = __ldg(p.masked_m + g);
      if (mm < 0 || mm > p.m) raise_device_error(p.err_flags, K4J_DEVERR_LENGTH_OUT_OF_RANGE);
    }
  }
}

}  // namespace k4j::kernels::gemm
