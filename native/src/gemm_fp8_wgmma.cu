// Host side of the Hopper FP8 GEMM family: tensor maps and the launch of the persistent kernel
// (cuda-kernels/gemm/fp8_gemm_wgmma.cuh). The plan (gemm_fp8.cu) decides when it runs.
#include "gemm/fp8_gemm_wgmma.cuh"
#include "gemm_fp8_wgmma.h"
#include "k4j_tensor_map.h"

namespace k4j::gemm {

using kernels::gemm::GemmMode;
using kernels::gemm::GemmParams;
using kernels::gemm::WgmmaTile;

namespace {

template <class T>
constexpr WgmmaConfig config_of() {
  return WgmmaConfig{T::BM, T::BN, T::BK, T::kStages, T::kThreads, T::kSmemBytes};
}

// The tile widths the plan chooses from, for both tile heights. N tiles that do not divide 128 let
// the plan fill the SMs more evenly (DeepGEMM's idea): the finer the steps, the closer some tile
// count comes to a multiple of the SM count. Up to 160: the consumer holds two FP32 arrays of BN / 2
// registers, and at 160 that is 160 of its 232 (BM 128) or 248 (BM 64) registers (ptxas numbers in
// bench/NOTES.md). 64 is the floor for BM 128: narrower tiles reload A too often.
#define K4J_WGMMA_BNS(X, WGS) X(WGS, 64) X(WGS, 96) X(WGS, 112) X(WGS, 128) X(WGS, 144) X(WGS, 160)
// BM 64 (decode-sized M) also has narrow tiles (DeepGEMM's block_n goes down to 16): at M <= 64 the
// call streams B (the weights) and is memory-bound, and a moderate N in tiles of 64 or more leaves
// most SMs idle (M = 64, N = 2112: 33 tiles of 64 on 132 SMs; 132 of 16). No split of K: the
// reduction stays deterministic.
#define K4J_WGMMA_NARROW_BNS(X) X(1, 16) X(1, 32) X(1, 48)
#define K4J_WGMMA_CONFIG(WGS, BN) config_of<WgmmaTile<WGS, BN>>(),
constexpr WgmmaConfig kConfigs[] = {K4J_WGMMA_NARROW_BNS(K4J_WGMMA_CONFIG) K4J_WGMMA_BNS(K4J_WGMMA_CONFIG, 1)
                                        K4J_WGMMA_BNS(K4J_WGMMA_CONFIG, 2)};
#undef K4J_WGMMA_CONFIG

// The four tensor maps of one call (layouts in fp8_gemm_wgmma.cuh).
// cluster 2: B's box is half the tile (each CTA of the pair loads and multicasts one half).
template <class T>
int make_maps(GemmMode mode, const GemmParams &p, int cluster, CUtensorMap *a, CUtensorMap *b, CUtensorMap *sa,
              CUtensorMap *d) {
  const bool masked = mode == GemmMode::kMasked;
  const uint64_t problems = masked ? (uint64_t)p.groups : 1;
  const uint64_t k = (uint64_t)p.k, m = (uint64_t)p.m, n = (uint64_t)p.n, kb = (k + 127) / 128;
  const uint64_t sa_ld = (uint64_t)p.sa_ld;
  int rc = make_tensor_map_3d(a, TmaType::kFp8, p.a, k, m, problems, k, m * k, T::BK, T::BM, 1, TmaSwizzle::k128B);
  if (rc != K4J_OK) return rc;
  rc = make_tensor_map_3d(b, TmaType::kFp8, p.b, k, n, (uint64_t)p.groups, k, n * k, T::BK, T::BN / cluster, 1,
                          TmaSwizzle::k128B);
  if (rc != K4J_OK) return rc;
  rc = make_tensor_map_3d(sa, TmaType::kFp32, p.sa, sa_ld, kb, problems, sa_ld * 4, kb * sa_ld * 4, T::BM, 1, 1,
                          TmaSwizzle::kNone);
  if (rc != K4J_OK) return rc;
  const uint32_t esize = p.d_fp32 ? 4 : 2;
  return make_tensor_map_2d(d, p.d_fp32 ? TmaType::kFp32 : TmaType::kBf16, p.d, n, problems * m, n * esize,
                            128 / esize, 64, TmaSwizzle::k128B);
}

template <class T, GemmMode MODE, int CLUSTER = 1>
int launch_tile(const DeviceInfo &info, const GemmParams &p, int grid, cudaStream_t stream) {
  constexpr auto kernel = kernels::gemm::fp8_gemm_wgmma_kernel<T, MODE, CLUSTER>;
  if (T::kSmemBytes > info.max_smem_optin)
    return set_error(K4J_ERR_UNSUPPORTED,
                     "device: the FP8 GEMM wgmma tile needs %d bytes of shared memory, cuda:%d allows %d",
                     T::kSmemBytes, info.ordinal, info.max_smem_optin);
  CUtensorMap tm_a, tm_b, tm_sa, tm_d;
  int rc = make_maps<T>(MODE, p, CLUSTER, &tm_a, &tm_b, &tm_sa, &tm_d);
  if (rc != K4J_OK) return rc;
  K4J_CUDA_TRY((raise_dynamic_smem_once<kernel>(info.ordinal, T::kSmemBytes)));
  // grid: a multiple of CLUSTER (the plan's).
  launch_cluster("fp8_gemm_wgmma_kernel", kernel, dim3((unsigned)grid), dim3(T::kThreads), dim3(CLUSTER),
                 T::kSmemBytes, stream, p, tm_a, tm_b, tm_sa, tm_d);
  return check_launch("fp8_gemm_wgmma");
}

// Cluster 2 (dense form, BM 128 tiles): the two CTAs of a cluster share the B tile (multicast).
int launch_dense_cluster2(int bm, int bn, const DeviceInfo &info, const GemmParams &p, int grid,
                          cudaStream_t stream) {
#define K4J_WGMMA_LAUNCH(WGS, BN) \
  if (bm == 64 * WGS && bn == BN) return launch_tile<WgmmaTile<WGS, BN>, GemmMode::kDense, 2>(info, p, grid, stream);
  K4J_WGMMA_BNS(K4J_WGMMA_LAUNCH, 2)
#undef K4J_WGMMA_LAUNCH
  return set_error(K4J_ERR_INTERNAL, "plan: no clustered wgmma tile %dx%d", bm, bn);
}

template <GemmMode MODE>
int launch_mode(int bm, int bn, const DeviceInfo &info, const GemmParams &p, int grid, cudaStream_t stream) {
#define K4J_WGMMA_LAUNCH(WGS, BN) \
  if (bm == 64 * WGS && bn == BN) return launch_tile<WgmmaTile<WGS, BN>, MODE>(info, p, grid, stream);
  K4J_WGMMA_NARROW_BNS(K4J_WGMMA_LAUNCH)
  K4J_WGMMA_BNS(K4J_WGMMA_LAUNCH, 1)
  K4J_WGMMA_BNS(K4J_WGMMA_LAUNCH, 2)
#undef K4J_WGMMA_LAUNCH
  return set_error(K4J_ERR_INTERNAL, "plan: no wgmma tile %dx%d", bm, bn);
}

}  // namespace

const WgmmaConfig *wgmma_configs(int *count) {
  *count = (int)(sizeof kConfigs / sizeof kConfigs[0]);
  return kConfigs;
}

int launch_wgmma(GemmMode mode, int bm, int bn, int cluster, const DeviceInfo &info, const GemmParams &p, int grid,
                 cudaStream_t stream) {
  if (cluster == 2 && mode == GemmMode::kDense) return launch_dense_cluster2(bm, bn, info, p, grid, stream);
  if (cluster != 1) return set_error(K4J_ERR_INTERNAL, "plan: cluster %d for this form", cluster);
  switch (mode) {
    case GemmMode::kDense: return launch_mode<GemmMode::kDense>(bm, bn, info, p, grid, stream);
    case GemmMode::kContiguous: return launch_mode<GemmMode::kContiguous>(bm, bn, info, p, grid, stream);
    case GemmMode::kEnds: return launch_mode<GemmMode::kEnds>(bm, bn, info, p, grid, stream);
    case GemmMode::kMasked: return launch_mode<GemmMode::kMasked>(bm, bn, info, p, grid, stream);
  }
  return set_error(K4J_ERR_INTERNAL, "plan: unknown GEMM mode");
}

}  // namespace k4j::gemm
