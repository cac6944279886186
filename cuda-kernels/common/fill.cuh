// Fills a buffer with one bit pattern: used to poison outputs before checks and to clear buffers.
#pragma once
#include <stdint.h>

namespace k4j::kernels {

template <typename T>
__global__ void fill_kernel(T *__restrict__ dst, int64_t n, T value) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    dst[i] = value;
}

}  // namespace k4j::kernels
