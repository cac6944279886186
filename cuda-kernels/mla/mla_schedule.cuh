// Split-KV plan, computed on the GPU from cacheSeqlens by one CTA (no host sync): how many splits
// each request gets, which 64-key tiles each split covers and where its partial result lives.
#pragma once
#include "common/block_scan.cuh"
#include "common/device_errors.cuh"
#include "mla/mla_params.cuh"

namespace k4j::kernels::mla {

constexpr int kScheduleThreads = 512;

__device__ __forceinline__ int request_tiles(const int *seqlens, int r, int max_blocks, int page_size,
                                             uint32_t *err, bool report) {
  bool bad = false;
  int s = clamp_seqlen(seqlens[r], max_blocks, page_size, &bad);
  if (bad && report) raise_device_error(err, K4J_DEVERR_LENGTH_OUT_OF_RANGE);
  return (s + kTileKeys - 1) / kTileKeys;
}

__device__ __forceinline__ int request_splits(int tiles, long long chunk, int fixed_splits) {
  if (fixed_splits > 0) return min(fixed_splits, max(1, tiles));
  return (int)max(1LL, (tiles + chunk - 1) / chunk);
}

// One CTA of kScheduleThreads; each thread owns a contiguous run of requests.
__global__ void __launch_bounds__(kScheduleThreads) mla_schedule_kernel(
    const int *__restrict__ seqlens, int batch, int page_size, int max_blocks, int num_sms, int fixed_splits,
    int max_work, WorkItem *__restrict__ work, int *__restrict__ num_splits, int *__restrict__ first_slot,
    uint32_t *err) {
  __shared__ long long s_tiles[kScheduleThreads / 32];
  __shared__ int s_items[kScheduleThreads / 32];

  const int per = (batch + kScheduleThreads - 1) / kScheduleThreads;
  const int r0 = min(batch, (int)threadIdx.x * per), r1 = min(batch, r0 + per);

  long long chunk = 1;
  if (fixed_splits <= 0) {
    long long mine = 0;
    for (int r = r0; r < r1; ++r) mine += request_tiles(seqlens, r, max_blocks, page_size, err, true);
    const long long total = block_sum<long long, kScheduleThreads>(mine, s_tiles);
    chunk = max((long long)kMinChunkTiles, (total + num_sms - 1) / num_sms);
  }

  int mine = 0;
  for (int r = r0; r < r1; ++r)
    mine += request_splits(request_tiles(seqlens, r, max_blocks, page_size, err, fixed_splits > 0), chunk,
                           fixed_splits);
  int total_items = 0;
  int offset = block_exclusive_sum<int, kScheduleThreads>(mine, s_items, total_items);

  for (int r = r0; r < r1; ++r) {
    const int tiles = request_tiles(seqlens, r, max_blocks, page_size, err, false);
    const int n = request_splits(tiles, chunk, fixed_splits);
    num_splits[r] = n;
    first_slot[r] = offset;
    for (int s = 0; s < n; ++s) {
      // offset + s < total_items <= max_work by construction (see k4j_mla.h); guard anyway.
      if (offset + s >= max_work) break;
      work[offset + s] = WorkItem{r, (int)((long long)s * tiles / n), (int)((long long)(s + 1) * tiles / n),
                                  offset + s};
    }
    offset += n;
  }
  for (int i = total_items + threadIdx.x; i < max_work; i += kScheduleThreads) work[i] = WorkItem{-1, 0, 0, -1};
}

}  // namespace k4j::kernels::mla
