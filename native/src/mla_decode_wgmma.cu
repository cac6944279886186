// Host side of the Hopper MLA decode family: the BF16 cache's tensor map and the launch of
// cuda-kernels/mla/mla_decode_wgmma.cuh. k4j_mla_decode (mla_decode.cu) decides when it runs.
#include <string.h>

#include "k4j_tensor_map.h"
#include "mla/mla_decode_wgmma.cuh"
#include "mla_decode_wgmma.h"

namespace k4j::mla {

using kernels::mla::DecodeParams;
using kernels::mla::WgmmaDecodeCfg;
static_assert(kWgmmaRowsPerCta == WgmmaDecodeCfg::M && kWgmmaKeysPerTile == WgmmaDecodeCfg::BN &&
                  kWgmmaThreads == WgmmaDecodeCfg::THREADS,
              "mla_decode_wgmma.h must describe the kernel that is launched");

bool wgmma_decode_available(const DeviceInfo &info) {
  return info.cc_major == 9 && info.cc_minor == 0 && info.max_smem_optin >= WgmmaDecodeCfg::SMEM &&
         hopper_kernels_available();
}

int wgmma_decode_smem_bytes() { return WgmmaDecodeCfg::SMEM; }

namespace {

template <bool FP8>
int launch(const DecodeParams &p, int max_work, const CUtensorMap &tm, cudaStream_t stream) {
  constexpr auto kernel = kernels::mla::mla_decode_wgmma_kernel<FP8>;
  int dev = 0;
  K4J_CUDA_TRY(cudaGetDevice(&dev));
  K4J_CUDA_TRY((raise_dynamic_smem_once<kernel>(dev, WgmmaDecodeCfg::SMEM)));
  k4j::launch("mla_decode_wgmma_kernel", kernel, dim3((unsigned)max_work, (unsigned)(p.h_kv * p.m_tiles)),
              dim3(WgmmaDecodeCfg::THREADS), WgmmaDecodeCfg::SMEM, stream, p, tm);
  return check_launch("mla_decode_wgmma_kernel");
}

}  // namespace

int launch_wgmma_decode(const DecodeParams &p, bool fp8, int max_work, cudaStream_t stream) {
  CUtensorMap tm;
  memset(&tm, 0, sizeof(tm));
  if (fp8) return launch<true>(p, max_work, tm, stream);  // the FP8 rows are read by the dequant warpgroup
  // The cache as (576 dims, hKV heads, numBlocks * pageSize rows); a box = 64 dims x 1 head x 16 keys
  // (one page never splits a 16-key chunk: page sizes are multiples of 16).
  const uint64_t row_bytes = (uint64_t)kernels::mla::kHeadDim * 2;
  const int rc = make_tensor_map_3d(&tm, TmaType::kBf16, p.kv, kernels::mla::kHeadDim, (uint64_t)p.h_kv,
                                    (uint64_t)p.num_blocks * (uint64_t)p.page_size, row_bytes,
                                    row_bytes * (uint64_t)p.h_kv, 64, 1, WgmmaDecodeCfg::CHUNK, TmaSwizzle::k128B);
  if (rc != K4J_OK) return rc;
  return launch<false>(p, max_work, tm, stream);
}

}  // namespace k4j::mla
