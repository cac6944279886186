// MoE layout: from topkIdx[T, K] to per-expert counts, aligned segment offsets and rowOf[T, K].
//
// Deterministic without order-dependent atomics: the (token, k) pairs, in row-major order, are cut
// into chunks of `chunk` pairs. (1) Each chunk counts its pairs per expert (shared-memory
// histogram: counts do not depend on order). (2) One block turns the chunk counts into exclusive
// per-expert prefixes over chunks, the totals, and the aligned offsets (a block scan over experts).
// (3) Each chunk walks its pairs 256 at a time; a pair's rank among the earlier pairs of its expert
// is the chunk's prefix + the counts of earlier steps + of earlier warps in this step + of earlier
// lanes of its warp (__match_any_sync). So rows within an expert follow ascending (token, k).
#pragma once
#include "common/block_scan.cuh"
#include "moe/moe_common.cuh"

namespace k4j::kernels::moe {

constexpr int kLayoutThreads = 256;
constexpr int kLayoutWarps = kLayoutThreads / 32;
constexpr int kLayoutMaxChunks = 64;
constexpr int kMaxExperts = 1024;

// INT64 top-k ids (PyTorch's dtype) narrowed to the INT32 ids the layout reads. An id outside
// [-1, 2^31 - 1] becomes INT32_MIN rather than a wrapped, plausible expert id, so the layout then
// treats it as not routed and raises K4J_DEVERR_INDEX_OUT_OF_RANGE, as for any other bad id.
__global__ void __launch_bounds__(kLayoutThreads)
    topk_ids_to_int32_kernel(const long long *__restrict__ src, int64_t n, int *__restrict__ dst) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const long long v = src[i];
    dst[i] = (v >= -1 && v <= 2147483647LL) ? (int)v : (-2147483647 - 1);
  }
}

// (1) chunk_counts[c][e] = pairs of chunk c routed to expert e. Dynamic smem: E ints.
__global__ void __launch_bounds__(kLayoutThreads)
    layout_count_kernel(const int *__restrict__ topk_idx, int64_t pairs, int num_experts, int64_t chunk,
                        int *__restrict__ chunk_counts, uint32_t *err) {
  K4J_DYNAMIC_SMEM(int, hist, 16);
  __shared__ int bad;
  if (threadIdx.x == 0) bad = 0;
  for (int e = threadIdx.x; e < num_experts; e += blockDim.x) hist[e] = 0;
  __syncthreads();
  const int64_t begin = blockIdx.x * chunk;
  const int64_t end = min(begin + chunk, pairs);
  for (int64_t p = begin + threadIdx.x; p < end; p += blockDim.x) {
    const int e = topk_idx[p];
    if (e >= 0 && e < num_experts) atomicAdd(&hist[e], 1);
    else if (e != -1) bad = 1;  // benign race: every writer stores 1
  }
  __syncthreads();
  for (int e = threadIdx.x; e < num_experts; e += blockDim.x)
    chunk_counts[(int64_t)blockIdx.x * num_experts + e] = hist[e];
  if (threadIdx.x == 0 && bad) raise_device_error(err, K4J_DEVERR_INDEX_OUT_OF_RANGE);
}

// (2) One block of 1024 threads, thread e owns expert e. Replaces chunk_counts[c][e] by the
// exclusive prefix over chunks, writes counts, offsets[E + 1] (segments aligned) and the total.
__global__ void __launch_bounds__(1024)
    layout_scan_kernel(int *__restrict__ chunk_counts, int num_chunks, int num_experts, int alignment,
                       int *__restrict__ num_tokens_per_expert, int *__restrict__ expert_offsets,
                       int *__restrict__ total_rows) {
  __shared__ int warp_sums[32];
  const int e = threadIdx.x;
  int n = 0;
  if (e < num_experts) {
    int c = 0;
    for (; c + 8 <= num_chunks; c += 8) {  // independent loads first, then the running sum
      int v[8];
#pragma unroll
      for (int i = 0; i < 8; ++i) v[i] = chunk_counts[(int64_t)(c + i) * num_experts + e];
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        chunk_counts[(int64_t)(c + i) * num_experts + e] = n;
        n += v[i];
      }
    }
    for (; c < num_chunks; ++c) {
      const int v = chunk_counts[(int64_t)c * num_experts + e];
      chunk_counts[(int64_t)c * num_experts + e] = n;
      n += v;
    }
    num_tokens_per_expert[e] = n;
  }
  const int padded = e < num_experts ? (n + alignment - 1) / alignment * alignment : 0;
  int total;
  const int offset = ::k4j::kernels::block_exclusive_sum<int, 1024>(padded, warp_sums, total);
  if (e < num_experts) expert_offsets[e] = offset;
  if (e == 0) {
    expert_offsets[num_experts] = total;
    if (total_rows != nullptr) *total_rows = total;
  }
}

// (3) rowOf for the pairs of chunk c. Dynamic smem: running[E] then warp_cnt[kLayoutWarps][E].
__global__ void __launch_bounds__(kLayoutThreads)
    layout_assign_kernel(const int *__restrict__ topk_idx, int64_t pairs, int num_experts, int64_t chunk,
                         const int *__restrict__ chunk_base, const int *__restrict__ expert_offsets,
                         int *__restrict__ row_of) {
  K4J_DYNAMIC_SMEM(int, sm, 16);
  int *running = sm;                  // next row of each expert for this step
  int *warp_cnt = sm + num_experts;   // [warp][expert] pairs of this step
  for (int e = threadIdx.x; e < num_experts; e += blockDim.x) {
    running[e] = expert_offsets[e] + chunk_base[(int64_t)blockIdx.x * num_experts + e];
#pragma unroll
    for (int w = 0; w < kLayoutWarps; ++w) warp_cnt[w * num_experts + e] = 0;
  }
  __syncthreads();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t begin = blockIdx.x * chunk;
  const int64_t end = min(begin + chunk, pairs);
  for (int64_t base = begin; base < end; base += kLayoutThreads) {  // uniform over the block
    const int64_t p = base + threadIdx.x;
    const bool in = p < end;
    int e = -1;
    if (in) {
      const int v = topk_idx[p];
      if (v >= 0 && v < num_experts) e = v;
    }
    const unsigned peers = __match_any_sync(0xffffffffu, e);
    const int rank_in_warp = __popc(peers & ((1u << lane) - 1u));
    if (e >= 0 && rank_in_warp == 0) warp_cnt[warp * num_experts + e] = __popc(peers);
    __syncthreads();
    if (e >= 0) {
      int r = running[e] + rank_in_warp;
      for (int w = 0; w < warp; ++w) r += warp_cnt[w * num_experts + e];
      row_of[p] = r;
    } else if (in) {
      row_of[p] = -1;
    }
    __syncthreads();
    for (int x = threadIdx.x; x < num_experts; x += blockDim.x) {
      int s = 0;
#pragma unroll
      for (int w = 0; w < kLayoutWarps; ++w) {
        s += warp_cnt[w * num_experts + x];
        warp_cnt[w * num_experts + x] = 0;
      }
      running[x] += s;
    }
    __syncthreads();
  }
}

}  // namespace k4j::kernels::moe
