// Block-wide sum and exclusive prefix sum of one integer per thread (warp shuffles, then one
// value per warp through shared memory). Exact and order-independent for integers.
#pragma once

namespace k4j::kernels {

// Every thread of the block (THREADS, a multiple of 32) must call these; `scratch` is shared
// memory of THREADS / 32 elements, free to reuse when the call returns (it ends with a barrier).
template <typename T, int THREADS>
__device__ __forceinline__ T block_sum(T v, T *scratch) {
  static_assert(THREADS % 32 == 0 && THREADS <= 1024, "THREADS: a multiple of 32, at most 1024");
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  T total = 0;
#pragma unroll
  for (int w = 0; w < THREADS / 32; ++w) total += scratch[w];
  __syncthreads();
  return total;
}

template <typename T, int THREADS>
__device__ __forceinline__ T block_exclusive_sum(T v, T *scratch, T &total) {
  static_assert(THREADS % 32 == 0 && THREADS <= 1024, "THREADS: a multiple of 32, at most 1024");
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  T x = v;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const T y = __shfl_up_sync(0xffffffffu, x, o);
    if (lane >= o) x += y;
  }
  if (lane == 31) scratch[warp] = x;
  __syncthreads();
  T before = 0;
  total = 0;
#pragma unroll
  for (int w = 0; w < THREADS / 32; ++w) {
    if (w < warp) before += scratch[w];
    total += scratch[w];
  }
  __syncthreads();
  return before + x - v;
}

}  // namespace k4j::kernels
