/* The Hopper FP8 GEMM family (cuda-kernels/gemm/fp8_gemm_wgmma.cuh) as the GEMM plan sees it: the
 * tile configurations it can launch and the launch itself (native/src/gemm_fp8_wgmma.cu). The choice
 * between it and the portable family is gemm_fp8.cu's make_plan. Not part of the public ABI. */
#pragma once

#include <cuda_runtime.h>
#include <stdint.h>

#include "gemm/fp8_gemm_params.cuh"
#include "k4j_internal.h"

namespace k4j::gemm {

/* One tile configuration of the family. */
struct WgmmaConfig {
  int bm, bn, bk, stages, threads, smem_bytes;
};

/* Every configuration the family can launch (the kernel is instantiated for exactly these), BM 64
 * ones first, each BM's by increasing BN. */
const WgmmaConfig *wgmma_configs(int *count);

/* Builds the tensor maps and launches the persistent kernel of tile bm x bn (one of wgmma_configs)
 * with `grid` CTAs, in clusters of `cluster` CTAs: 1, or 2 for the dense form with bm 128 (the pair
 * shares the B tile by TMA multicast; grid even). */
int launch_wgmma(kernels::gemm::GemmMode mode, int bm, int bn, int cluster, const DeviceInfo &info,
                 const kernels::gemm::GemmParams &p, int grid, cudaStream_t stream);

}  // namespace k4j::gemm
