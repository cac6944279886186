// Warp-level tensor-core primitives for the sm_80+ MLA path: ldmatrix, BF16 mma.sync m16n8k16,
// cp.async 16-byte copies with zero fill.
#pragma once
#include <cuda_bf16.h>
#include <stdint.h>

#include "common/ptx.cuh"

namespace k4j::kernels::mla {

using ptx::cp_async_16;
using ptx::cp_async_commit;
using ptx::cp_async_wait;
using ptx::ldmatrix_x4;
using ptx::ldmatrix_x4_trans;
using ptx::mma_bf16_16816;

}  // namespace k4j::kernels::mla
