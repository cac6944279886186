// Epilogue of the Hopper FP8 GEMM (fp8_gemm_wgmma.cuh), per consumer warpgroup (64 rows x BN): D = C +
// acc, rounded once to BF16 (RNE) or kept FP32, staged in shared memory in the TMA store's layout
// (128-byte-wide column boxes, 128-byte swizzle) and written by TMA when every row of the warpgroup's
// 64 may be written by this pass (or lies past the end of D, where TMA clips), otherwise by 16-byte
// stores of exactly the rows this pass owns (grouped tiles shared by experts, tails of maskedM). The
// columns of a partial last 128-byte box (BN * element size not a multiple of 128) always take the
// 16-byte stores.
//
// wgmma m64nN accumulator map (PTX ISA "Register Fragments and Shared Memory Matrix Layouts: Matrix
// D" for wgmma .m64nNk32): warp w of the warpgroup, lane l, register i holds row 16w + l/4 + 8*((i/2)%2),
// column 8*(i/4) + 2*(l%4) + i%2.
#pragma once
#include <cuda_bf16.h>
#include <stdint.h>

#include "common/ptx.cuh"
#include "gemm/fp8_gemm_params.cuh"

namespace k4j::kernels::gemm {

// Byte offset of (row, byte column) in a staged D of 64 rows: box = 128 bytes of columns, 16-byte
// chunk c of row r at chunk c ^ (r % 8) (the TMA 128-byte swizzle on a 1024-byte aligned box).
__device__ __forceinline__ int d_stage_offset(int row, int byte_col) {
  const int box = byte_col >> 7, chunk = (byte_col >> 4) & 7;
  return box * (64 * 128) + row * 128 + ((chunk ^ (row & 7)) << 4) + (byte_col & 15);
}

// What the epilogue of one pass needs besides the accumulators.
struct WgmmaEpilogueArgs {
  const float *c;      // optional FP32 C, row-major [*, n], or null
  void *d;             // D base (BF16 or FP32)
  int d_fp32;
  int n;
  int64_t d_row0;      // row of D (and C) holding the problem's row 0 (masked: g * maxM)
  int64_t d_map_rows;  // rows of the D tensor map: a TMA store clips rows at or past this
  int row0;            // first problem row of this warpgroup's 64 (tile m0 + 64 * wg)
  int n0;              // first column of the tile
  int tma_row0;        // row coordinate of row0 in the D tensor map
};

// `store_row(local_row)`: may this pass write D's row row0 + local_row (0..63)? Called by the threads
// that own the row's accumulators. `wtid` = thread index in the warpgroup, `bar_id` its named barrier,
// `s_d` its staging area, `s_row_ok` 64 bytes, `s_vote` 4 ints.
template <int BN, typename StoreRow>
__device__ __forceinline__ void wgmma_epilogue(const float (&acc)[BN / 2], const WgmmaEpilogueArgs &e,
                                               StoreRow store_row, const CUtensorMap *tm_d, uint8_t *s_d,
                                               uint8_t *s_row_ok, int *s_vote, int wtid, int bar_id,
                                               bool &tma_pending) {
  const int lane = wtid & 31, warp = wtid >> 5;
  const int esize = e.d_fp32 ? 4 : 2;

  // The previous pass's TMA store must have finished reading the staging area before it is rewritten.
  if (wtid == 0 && tma_pending) {
    ptx::tma_store_wait<0>();
    tma_pending = false;
  }
  ptx::named_barrier_sync(bar_id, 128);

  bool rows_ok = true;  // every row of this thread may be written (or is clipped by TMA)
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = warp * 16 + (lane >> 2) + 8 * h;
    const bool ok = store_row(r);
    if ((lane & 3) == 0) s_row_ok[r] = ok ? 1 : 0;
    rows_ok = rows_ok && (ok || e.tma_row0 + (int64_t)r >= e.d_map_rows);
    const int64_t grow = e.d_row0 + e.row0 + r;
#pragma unroll
    for (int j = 0; j < BN / 8; ++j) {
      const int col = j * 8 + 2 * (lane & 3);
      float v0 = acc[4 * j + 2 * h], v1 = acc[4 * j + 2 * h + 1];
      if (e.c != nullptr && ok && e.n0 + col < e.n) {
        const float2 cv = __ldg(reinterpret_cast<const float2 *>(e.c + grow * e.n + e.n0 + col));
        v0 = cv.x + v0;
        v1 = cv.y + v1;
      }
      if (e.d_fp32) {
        *reinterpret_cast<float2 *>(s_d + d_stage_offset(r, col * 4)) = make_float2(v0, v1);
      } else {
        *reinterpret_cast<__nv_bfloat162 *>(s_d + d_stage_offset(r, col * 2)) = __floats2bfloat162_rn(v0, v1);
      }
    }
  }
  rows_ok = __all_sync(0xffffffffu, rows_ok);
  if (lane == 0) s_vote[warp] = rows_ok ? 1 : 0;
  // The TMA engine (async proxy) reads what these generic stores wrote.
  ptx::fence_proxy_async_shared();
  ptx::named_barrier_sync(bar_id, 128);

  const bool use_tma = s_vote[0] && s_vote[1] && s_vote[2] && s_vote[3];
  const int row_bytes = BN * esize;
  // 16-byte chunks of a row the TMA store covers: whole 128-byte boxes only (a BN * esize that is not
  // a multiple of 128 leaves a partial box, whose full-box store would overwrite the next tile's
  // columns).
  const int tma_chunks = use_tma ? row_bytes / 128 * 8 : 0;
  if (use_tma && wtid == 0) {
    for (int b = 0; b < row_bytes / 128; ++b) {
      const int col = e.n0 + b * (128 / esize);
      if (col < e.n) ptx::tma_store_2d(tm_d, s_d + b * (64 * 128), col, e.tma_row0);
    }
    ptx::tma_store_commit();
    tma_pending = true;
  }
  // The rest (all of it without TMA) by 16-byte stores of the rows this pass owns: consecutive
  // threads along a row, coalesced, and the swizzle spreads the 8 rows a warp touches at once over
  // different banks.
  const int rest = row_bytes / 16 - tma_chunks;
  for (int idx = wtid; idx < 64 * rest; idx += 128) {
    const int r = idx / rest, ch = tma_chunks + idx % rest;
    const int col = e.n0 + ch * (16 / esize);
    if (!s_row_ok[r] || col >= e.n) continue;
    const uint4 v = *reinterpret_cast<const uint4 *>(s_d + d_stage_offset(r, ch * 16));
    uint8_t *dst = static_cast<uint8_t *>(e.d) + ((e.d_row0 + e.row0 + r) * (int64_t)e.n + col) * esize;
    *reinterpret_cast<uint4 *>(dst) = v;
  }
}

}  // namespace k4j::kernels::gemm
