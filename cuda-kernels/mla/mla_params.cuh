// MLA decode: constants, the kernel parameter block and the schedule's buffer layout
// (documented in native/include/k4j_mla.h).
#pragma once
#include <stdint.h>

#include "common/device_errors.cuh"
#include "kernels4j.h"

namespace k4j::kernels::mla {

constexpr int kHeadDim = 576;     // scores over [c_kv (512), k_rope (64)]
constexpr int kVDim = 512;        // V = the first 512 values of the same row
constexpr int kFp8RowBytes = 656; // 512 e4m3 + 4 FP32 scales + 64 BF16
constexpr int kTileKeys = 64;     // schedule granularity (keys)
constexpr int kMinChunkTiles = 2; // auto mode: never split finer than 128 keys

struct WorkItem {
  int request, tile_begin, tile_end, slot;
};

struct DecodeParams {
  const void *q;            // [b, sQ, hQ, 576] bf16
  const void *kv;           // [numBlocks, pageSize, hKV, 576] bf16 or 656-byte fp8 rows
  const int *block_table;   // [b, maxBlocksPerSeq]
  const int *seqlens;       // [b]
  const WorkItem *work;     // [maxWork]
  const int *num_splits;    // [b]
  float *o_accum;           // [maxWork, sQ*hQ, 512]
  float *lse_accum;         // [maxWork, sQ*hQ]
  void *out;                // [b, sQ, hQ, 512] bf16
  float *lse;               // [b, hQ, sQ]
  uint32_t *err;
  int batch, s_q, h_q, h_kv, h_per_kv, m_rows, m_tiles;
  long long num_blocks;
  int page_size, max_blocks;
  float scale_log2;         // softmaxScale * log2(e)
  int causal;
};

// The one check of a work item every decode kernel runs first: a schedule made for another batch,
// SM count or workspace must not read or write out of bounds. A work item outside [0, batch) x
// [0, maxWork) slots (maxWork = the grid's x extent), or with a bad tile range or split count, is
// skipped and flagged (once per work item: by thread 0 of the CTA of head/m-tile 0, `first`).
// Unused capacity (request < 0) is skipped silently. Returns whether the item is to be computed.
__device__ __forceinline__ bool work_item_valid(const DecodeParams &p, const WorkItem &w, int max_work, bool first) {
  if (w.request < 0) return false;
  if (w.request >= p.batch || w.slot < 0 || w.slot >= max_work || w.tile_begin < 0 || w.tile_end < w.tile_begin ||
      p.num_splits[w.request] < 1 || p.num_splits[w.request] > max_work) {
    if (threadIdx.x == 0 && first) raise_device_error(p.err, K4J_DEVERR_INDEX_OUT_OF_RANGE);
    return false;
  }
  return true;
}

// Keys of request r that any query may see: clamp to [0, maxBlocks * pageSize].
__device__ __forceinline__ int clamp_seqlen(int s, int max_blocks, int page_size, bool *bad) {
  long long cap = (long long)max_blocks * page_size;
  if (s < 0) { *bad = true; return 0; }
  if (s > cap) { *bad = true; return (int)cap; }
  return s;
}

}  // namespace k4j::kernels::mla
