// MoE dispatch ("permute"): copies each token's row of x to the row of every expert it is routed to,
// BF16 as it is or cast to e4m3 with 1x128 scales on the fly (x is read once, 16 bytes per load).
// Grid (T, ceil(H / (threads * 16))): block (t, y) handles 16 values per thread of token t.
#pragma once
#include "moe/moe_common.cuh"

namespace k4j::kernels::moe {

constexpr int kDispatchThreads = 128;

struct DispatchParams {
  const uint16_t *x;     // [T, H] BF16
  int64_t hidden;        // H
  int top_k;             // K
  const int *row_of;     // [T, K] from the layout op
  // Contiguous: rows = capacity, rows_per_group = capacity (one scale group).
  // Masked: rows = E * max_tokens, rows_per_group = max_tokens.
  int64_t rows;
  int64_t rows_per_group;
  const int *topk_idx;   // masked only
  const int *expert_offsets;
  const int *num_tokens_per_expert;
  int num_experts;
  int *slot_of;          // masked only: [T, K] flat destination row or -1
  void *x_out;           // [rows, H] BF16 or e4m3
  float *scales;         // fp8 only: [G][H/128][alignUp(rows_per_group, 4)]
  int pow2;
  uint32_t *err;
};

// Destination row (flat in x_out) of pair (t, k), or -1; raises the device error bits.
template <bool kMasked>
__device__ __forceinline__ int64_t dispatch_dest(const DispatchParams &p, int64_t pair, bool report) {
  const int r = p.row_of[pair];
  if (r == -1) return -1;
  if (!kMasked) {
    if (r < 0) {
      if (report) raise_device_error(p.err, K4J_DEVERR_INDEX_OUT_OF_RANGE);
      return -1;
    }
    if (r >= p.rows) {
      if (report) raise_device_error(p.err, K4J_DEVERR_CAPACITY_OVERFLOW);
      return -1;
    }
    return r;
  } else {
    const int e = p.topk_idx[pair];
    if (r < 0 || e < 0 || e >= p.num_experts) {
      if (report) raise_device_error(p.err, K4J_DEVERR_INDEX_OUT_OF_RANGE);
      return -1;
    }
    const int rank = r - p.expert_offsets[e];
    if (rank < 0 || rank >= p.num_tokens_per_expert[e]) {  // rowOf not from this layout
      if (report) raise_device_error(p.err, K4J_DEVERR_INDEX_OUT_OF_RANGE);
      return -1;
    }
    if (rank >= p.rows_per_group) {
      if (report) raise_device_error(p.err, K4J_DEVERR_CAPACITY_OVERFLOW);
      return -1;
    }
    return (int64_t)e * p.rows_per_group + rank;
  }
}

template <bool kFp8, bool kMasked>
__global__ void __launch_bounds__(kDispatchThreads) dispatch_kernel(const DispatchParams p) {
  __shared__ int64_t dest[kMaxTopK];
  const int64_t t = blockIdx.x;
  if (threadIdx.x < p.top_k) {
    const int64_t pair = t * p.top_k + threadIdx.x;
    const int64_t d = dispatch_dest<kMasked>(p, pair, blockIdx.y == 0);
    dest[threadIdx.x] = d;
    if (kMasked && blockIdx.y == 0) p.slot_of[pair] = (int)d;
  }
  __syncthreads();

  const int64_t h0 = ((int64_t)blockIdx.y * blockDim.x + threadIdx.x) * kVec;
  const bool active = h0 < p.hidden;  // H % 128 == 0: whole 8-lane groups are active or not
  uint4 a = make_uint4(0, 0, 0, 0), b = a;
  if (active) {
    const uint16_t *src = p.x + t * p.hidden + h0;
    a = ldg16(src);
    b = ldg16(src + 8);
  }
  if constexpr (kFp8) {
    float v[kVec];
    bf16x8_to_float(a, v);
    bf16x8_to_float(b, v + 8);
    uint4 q;
    const float s = quantize16(v, p.pow2 != 0, q);  // every lane: it shuffles
    if (!active) return;
    const int num_kb = (int)(p.hidden / kGroup);
    const int kb = (int)(h0 / kGroup);
    const int64_t ld = align_up64(p.rows_per_group, 4);
    uint8_t *out = static_cast<uint8_t *>(p.x_out);
    for (int k = 0; k < p.top_k; ++k) {
      const int64_t d = dest[k];
      if (d < 0) continue;
      stg16(out + d * p.hidden + h0, q);
      if ((threadIdx.x & (kLanesPerGroup - 1)) == 0)
        p.scales[scale_offset(d, kb, p.rows_per_group, num_kb, ld)] = s;
    }
  } else {
    if (!active) return;
    uint16_t *out = static_cast<uint16_t *>(p.x_out);
    for (int k = 0; k < p.top_k; ++k) {
      const int64_t d = dest[k];
      if (d < 0) continue;
      uint16_t *dst = out + d * p.hidden + h0;
      stg16(dst, a);
      stg16(dst + 8, b);
    }
  }
}

// mIndices[r] for r < capacity: the expert whose segment holds row r if r is one of its real rows,
// else -1 (alignment padding and rows past the total). Dynamic smem: offsets[E + 1], counts[E].
__global__ void __launch_bounds__(256)
    m_indices_kernel(const int *__restrict__ expert_offsets, const int *__restrict__ num_tokens_per_expert,
                     int num_experts, int64_t capacity, int *__restrict__ m_indices) {
  K4J_DYNAMIC_SMEM(int, sm, 16);
  int *off = sm;
  int *cnt = sm + num_experts + 1;
  for (int e = threadIdx.x; e <= num_experts; e += blockDim.x) {
    off[e] = expert_offsets[e];
    if (e < num_experts) cnt[e] = num_tokens_per_expert[e];
  }
  __syncthreads();
  const int total = off[num_experts];
  for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < capacity;
       r += (int64_t)gridDim.x * blockDim.x) {
    int m = -1;
    if (r < total && r >= off[0]) {
      int lo = 0, hi = num_experts;  // off[lo] <= r < off[hi] for well-formed offsets
      while (hi - lo > 1) {
        const int mid = (lo + hi) >> 1;
        if (off[mid] <= r) lo = mid; else hi = mid;
      }
      if (r - off[lo] < cnt[lo]) m = lo;
    }
    m_indices[r] = m;
  }
}

// Masked layout: counts[e] = min(numTokensPerExpert[e], maxTokens); *overflow = pairs dropped.
// One block.
__global__ void __launch_bounds__(1024)
    masked_counts_kernel(const int *__restrict__ num_tokens_per_expert, int num_experts, int max_tokens,
                         int *__restrict__ counts, int *__restrict__ overflow, uint32_t *err) {
  __shared__ int dropped;
  if (threadIdx.x == 0) dropped = 0;
  __syncthreads();
  int mine = 0;
  bool bad = false;
  for (int e = threadIdx.x; e < num_experts; e += blockDim.x) {
    int n = num_tokens_per_expert[e];
    if (n < 0) { bad = true; n = 0; }
    counts[e] = min(n, max_tokens);
    mine += max(n - max_tokens, 0);
  }
  if (mine) atomicAdd(&dropped, mine);  // integer sum: the result does not depend on the order
  if (bad) raise_device_error(err, K4J_DEVERR_LENGTH_OUT_OF_RANGE);
  __syncthreads();
  if (threadIdx.x == 0) {
    if (overflow != nullptr) *overflow = dropped;
    if (dropped) raise_device_error(err, K4J_DEVERR_CAPACITY_OVERFLOW);
  }
}

}  // namespace k4j::kernels::moe
