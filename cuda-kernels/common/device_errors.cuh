// The device error word: kernels that meet data they must skip or clamp (an expert id outside
// [0, E), a page id outside the cache, a length past its table) OR a K4J_DEVERR_* bit into it and
// carry on safely. The host reads it only when the user asks (Stream.checkDeviceErrors()).
#pragma once
#include <stdint.h>

namespace k4j::kernels {

__device__ __forceinline__ void raise_device_error(uint32_t *flags, uint32_t bit) {
  if (flags != nullptr) atomicOr(flags, bit);
}

}  // namespace k4j::kernels
