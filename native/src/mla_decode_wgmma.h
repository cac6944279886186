/* The Hopper MLA decode family (cuda-kernels/mla/mla_decode_wgmma.cuh) as k4j_mla_decode sees it
 * (native/src/mla_decode_wgmma.cu). Not part of the public ABI. */
#pragma once

#include <cuda_runtime.h>

#include "k4j_internal.h"
#include "mla/mla_params.cuh"

namespace k4j::mla {

/* Query rows per CTA of the family (its m-tile height), keys per tile and threads per CTA: what the
 * launcher uses (static_asserts against WgmmaDecodeCfg in mla_decode_wgmma.cu). */
constexpr int kWgmmaRowsPerCta = 64;
constexpr int kWgmmaKeysPerTile = 64;
constexpr int kWgmmaThreads = 384;

/* Whether this build and driver can run the family: sm_90a code in the library (or the emulator),
 * the driver's cuTensorMapEncodeTiled reachable, and the device's shared memory large enough. */
bool wgmma_decode_available(const DeviceInfo &info);

/* Dynamic shared memory of one CTA of the family (bytes). */
int wgmma_decode_smem_bytes();

/* Builds the BF16 cache's tensor map (BF16 only) and launches the decode kernel: grid (max_work,
 * h_kv * m_tiles) with p.m_tiles = ceil(m_rows / 64). */
int launch_wgmma_decode(const kernels::mla::DecodeParams &p, bool fp8, int max_work, cudaStream_t stream);

}  // namespace k4j::mla
