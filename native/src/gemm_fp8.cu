// Host launchers of the FP8 GEMM family: argument checks, the per-call plan (kernel family and tile
// shape, chosen by architecture and problem size) and the launch. No sync, no allocation.
#include <limits.h>


#include <stdio.h>

#include "gemm/fp8_gemm_mma.cuh"
#include "gemm_fp8_wgmma.h"
#include "k4j_internal.h"

namespace {

using k4j::kernels::gemm::GemmMode;
using k4j::kernels::gemm::GemmParams;
using k4j::kernels::gemm::MmaTile;

// Which kernel runs a call: the Hopper TMA + wgmma family (gemm_fp8_wgmma.cu) on sm_90 where this
// build and driver can run it, else the portable mma.sync family (sm_80, sm_89, and the fallback).
enum class Family { kMmaSync, kWgmma };

struct GemmPlan {
  Family family;
  int bm, bn, bk, stages, cluster, threads, smem_bytes;
  int64_t grid_x, grid_y, grid_z;  // wgmma: persistent, grid_x CTAs
  const char *why;                 // why this family (one phrase)
};

// What the plan needs to know about a call. rows = m, sumM or maxM; rows_hint the expected rows per
// problem (masked: expectedM when given); problems = G for masked, else 1.
struct GemmShape {
  GemmMode mode;
  int64_t rows, rows_hint, n, k, groups, problems;
  int d_fp32;
};

const char *mode_name(GemmMode m) {
  switch (m) {
    case GemmMode::kDense: return "dense";
    case GemmMode::kContiguous: return "contiguous";
    case GemmMode::kEnds: return "ends";
    default: return "masked";
  }
}

// The portable family's tile: the largest tile that still gives every SM a CTA; small problems drop
// to smaller tiles (more CTAs to stream B with), which matters most for decode-sized M.
GemmPlan mma_plan(const k4j::DeviceInfo &info, const GemmShape &s, const char *why) {
  GemmPlan plan{Family::kMmaSync, 128, 128, 128, 2, 1, 0, 0, 0, 0, 0, why};
  auto ctas = [&](int bm, int bn) { return ((s.rows_hint + bm - 1) / bm) * ((s.n + bn - 1) / bn) * s.problems; };
  if (s.rows_hint <= 64 || ctas(128, 128) < info.sm_count) {
    plan.bm = 64;
    plan.bn = ctas(64, 128) >= info.sm_count ? 128 : 64;
  }
  plan.threads = (plan.bm / 32) * (plan.bn / 32) * 32;
  plan.smem_bytes = 2 * (plan.bm + plan.bn) * 128;
  plan.grid_x = (s.n + plan.bn - 1) / plan.bn;
  plan.grid_y = (s.rows + plan.bm - 1) / plan.bm;
  plan.grid_z = s.problems;
  return plan;
}

GemmPlan make_plan(const k4j::DeviceInfo &info, const GemmShape &s) {
  if (!(info.cc_major == 9 && info.cc_minor == 0)) return mma_plan(info, s, "not sm_90");
  if (!k4j::hopper_kernels_available()) return mma_plan(info, s, "no sm_90a code or no TMA driver entry point");
  // TMA: every global address and row stride 16-byte aligned (the pointers are checked by
  // check_common; A/B rows are K bytes, D rows N * 2 or 4 bytes, scale rows alignUp(rows, 4) floats).
  const int64_t esize = s.d_fp32 ? 4 : 2;
  if (s.k % 16 != 0 || (s.n * esize) % 16 != 0) return mma_plan(info, s, "row strides not 16-byte aligned for TMA");
  // Tile height: decode-sized M (per problem) gets 64 rows, so that no consumer warpgroup idles.
  const int bm = s.rows_hint <= 64 ? 64 : 128;
  // Tile width, BM 128: the fewest waves of tiles over the SMs, then the fullest last wave, then the
  // narrower tile (equal tile counts: less zero-filled padding past N); the wider tiles need fewer
  // waves. The waves count the expected rows (masked: expectedM).
  // BM 64 (decode-sized M, memory-bound: each tile streams its BN x K slice of B, the weights, and
  // reloads its 64 x K of A): the fewest bytes through the busiest SM, ceil(tiles / SMs) x (64 + BN)
  // x K, then the wider tile (fewer A reloads, fewer tiles). This fills the SMs with narrow tiles when
  // N is moderate (M = 64, N = 2112: BN 16, 132 tiles, one per SM, instead of 33 tiles of 64) and
  // keeps the wide ones when there are tiles enough (counting A keeps a narrow tile from winning on
  // B alone with several tiles per SM, each reloading A).
  int count = 0;
  const k4j::gemm::WgmmaConfig *configs = k4j::gemm::wgmma_configs(&count), *c = nullptr;
  int64_t best_waves = 0, best_last = 0, best_bytes = 0;
  const int64_t sms = info.sm_count > 0 ? info.sm_count : 1;
  for (int i = 0; i < count; ++i) {
    const k4j::gemm::WgmmaConfig &t = configs[i];
    if (t.bm != bm || t.smem_bytes > info.max_smem_optin) continue;
    const int64_t tiles = (s.rows_hint + bm - 1) / bm * ((s.n + t.bn - 1) / t.bn) * s.problems;
    const int64_t waves = (tiles + sms - 1) / sms, last = tiles - (waves - 1) * sms;
    const int64_t bytes = waves * (bm + t.bn);  // per unit of K
    const bool better = c == nullptr ||
                        (bm == 64 ? bytes < best_bytes || (bytes == best_bytes && t.bn > c->bn)
                                  : waves < best_waves || (waves == best_waves && last > best_last) ||
                                        (waves == best_waves && last == best_last && t.bn < c->bn));
    if (better) {
      c = &t;
      best_waves = waves;
      best_last = last;
      best_bytes = bytes;
    }
  }
  if (c == nullptr) return mma_plan(info, s, "shared memory too small for the wgmma tile");
  // Tile indices and TMA coordinates are 32-bit in the kernel.
  const int64_t tiles = (s.rows + bm - 1) / bm * ((s.n + c->bn - 1) / c->bn) * s.problems;
  if (tiles >= (1ll << 30) || s.problems * s.rows >= (1ll << 31))
    return mma_plan(info, s, "too many tiles for the persistent scheduler");
  GemmPlan plan{Family::kWgmma, c->bm, c->bn, c->bk, c->stages, 1, c->threads, c->smem_bytes, 0, 1, 1,
                "sm_90 TMA + wgmma"};
  // Persistent: one CTA per SM (at most one per tile). Masked: the tile count depends on maskedM
  // (device data), so the grid covers the maxM bound.
  plan.grid_x = tiles < info.sm_count ? tiles : info.sm_count;
  // Clusters of 2 (DeepGEMM's rule for TMA multicast: M of at least 512): large dense problems with
  // BM 128 tiles run as pairs of vertically adjacent tiles sharing their B tile, loaded once per pair
  // (each CTA loads half and multicasts it); the persistent grid is then a whole number of pairs.
  const int64_t m_blocks = (s.rows + bm - 1) / bm;
  if (s.mode == GemmMode::kDense && bm == 128 && s.rows >= 512 && m_blocks >= 2 && info.sm_count >= 2) {
    const int64_t pairs = (m_blocks + 1) / 2 * ((s.n + c->bn - 1) / c->bn);
    plan.cluster = 2;
    plan.grid_x = 2 * (pairs < info.sm_count / 2 ? pairs : info.sm_count / 2);
  }
  return plan;
}

// The plan as one line of text (k4j_fp8_gemm_plan, bench rows, debugging).
int describe(const GemmPlan &p, const GemmShape &s, char *buf, size_t size) {
  return snprintf(buf, size,
                  "family=%s form=%s tile=%dx%dx%d stages=%d cluster=%d threads=%d smem=%d grid=%lldx%lldx%lld%s (%s)",
                  p.family == Family::kWgmma ? "wgmma" : "mma.sync", mode_name(s.mode), p.bm, p.bn, p.bk, p.stages,
                  p.cluster, p.threads, p.smem_bytes, (long long)p.grid_x, (long long)p.grid_y, (long long)p.grid_z,
                  p.family == Family::kWgmma ? " persistent" : "", p.why);
}

template <int BM, int BN, GemmMode MODE>
int launch_mma(const k4j::DeviceInfo &info, const GemmParams &p, int64_t grid_m, int64_t groups_z,
               cudaStream_t stream) {
  using T = MmaTile<BM, BN>;
  constexpr auto kernel = k4j::kernels::gemm::fp8_gemm_mma_kernel<BM, BN, MODE>;
  if (T::kSmemBytes > info.max_smem_optin)
    return k4j::set_error(K4J_ERR_UNSUPPORTED, "device: the FP8 GEMM tile needs %d bytes of shared memory, cuda:%d allows %d",
                          T::kSmemBytes, info.ordinal, info.max_smem_optin);
  K4J_CUDA_TRY((k4j::raise_dynamic_smem_once<kernel>(info.ordinal, T::kSmemBytes)));
  const dim3 grid((unsigned)((p.n + BN - 1) / BN), (unsigned)grid_m, (unsigned)groups_z);
  k4j::launch("fp8_gemm_mma_kernel", kernel, grid, T::kThreads, T::kSmemBytes, stream, p);
  return k4j::check_launch("fp8_gemm_mma");
}

template <GemmMode MODE>
int launch(const k4j::DeviceInfo &info, const GemmPlan &plan, const GemmParams &p, int64_t groups_z,
           cudaStream_t stream) {
  if (plan.family == Family::kWgmma)
    return k4j::gemm::launch_wgmma(MODE, plan.bm, plan.bn, plan.cluster, info, p, (int)plan.grid_x, stream);
  const int64_t grid_m = (p.m + plan.bm - 1) / plan.bm;
  // The message names the caller's argument (K4J_REQUIRE convention).
  const char *rows_name = MODE == GemmMode::kDense ? "m" : MODE == GemmMode::kMasked ? "maxM" : "sumM";
  K4J_REQUIRE(grid_m <= 65535, "%s: %d rows need %lld row tiles of %d, more than the grid allows (65535)", rows_name,
              p.m, (long long)grid_m, plan.bm);
  K4J_REQUIRE(groups_z <= 65535, "groups: must be <= 65535, got %lld", (long long)groups_z);
  if (plan.bm == 128) return launch_mma<128, 128, MODE>(info, p, grid_m, groups_z, stream);
  if (plan.bn == 128) return launch_mma<64, 128, MODE>(info, p, grid_m, groups_z, stream);
  return launch_mma<64, 64, MODE>(info, p, grid_m, groups_z, stream);
}

int64_t align_up(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

constexpr int64_t kMaxDim = (1ll << 31) - 128;  // largest N and K (a multiple of 128)

// Checks shared by every form. `rows` is M (dense), sum_m or max_m.
int check_common(k4j_dptr a, k4j_dptr sa, k4j_dptr b, k4j_dptr sb, k4j_dptr c, k4j_dptr d, int d_dtype,
                 int64_t rows, const char *rows_name, int64_t n, int64_t k, int64_t groups) {
  // alignUp(rows, 4) (the scale stride) must fit an int too.
  K4J_REQUIRE(rows >= 1 && rows <= INT_MAX - 3, "%s: must be in [1, 2^31 - 4], got %lld", rows_name, (long long)rows);
  // n, k <= 2^31 - 128: the kernels' int tile arithmetic (ceil(k / 128) as (k + 127) / 128, n0 + 127,
  // kb * 128 + 112) must not overflow.
  K4J_REQUIRE(n >= 8 && n <= kMaxDim && n % 8 == 0, "n: must be a positive multiple of 8, at most 2^31 - 128, got %lld",
              (long long)n);
  K4J_REQUIRE(k >= 16 && k <= kMaxDim && k % 16 == 0,
              "k: must be a positive multiple of 16, at most 2^31 - 128, got %lld", (long long)k);
  K4J_REQUIRE(groups >= 1 && groups <= 65535, "groups: must be in [1, 65535], got %lld", (long long)groups);
  // Element counts of the largest tensors must fit the kernel's int64 offsets with room to spare. Each
  // product of two sizes < 2^31 fits; the third factor is divided out so that nothing overflows here.
  K4J_REQUIRE(rows * k < (1ll << 62) / groups && n * k < (1ll << 62) / groups && rows * n < (1ll << 62) / groups,
              "m/n/k: tensor sizes overflow (m=%lld, n=%lld, k=%lld, groups=%lld)", (long long)rows, (long long)n,
              (long long)k, (long long)groups);
  K4J_REQUIRE(d_dtype == K4J_DTYPE_BF16 || d_dtype == K4J_DTYPE_FP32,
              "d: dtype must be BF16 (%d) or FP32 (%d), got code %d", K4J_DTYPE_BF16, K4J_DTYPE_FP32, d_dtype);
  K4J_REQUIRE_PTR(a, "a");
  K4J_REQUIRE_PTR(sa, "aScales");
  K4J_REQUIRE_PTR(b, "b");
  K4J_REQUIRE_PTR(sb, "bScales");
  K4J_REQUIRE_PTR(d, "d");
  K4J_REQUIRE_ALIGNED(a, 16, "a");
  K4J_REQUIRE_ALIGNED(sa, 16, "aScales");
  K4J_REQUIRE_ALIGNED(b, 16, "b");
  K4J_REQUIRE_ALIGNED(sb, 16, "bScales");
  K4J_REQUIRE_ALIGNED(d, 16, "d");
  if (c != 0) K4J_REQUIRE_ALIGNED(c, 16, "c");
  return K4J_OK;
}

GemmParams make_params(k4j_dptr a, k4j_dptr sa, k4j_dptr b, k4j_dptr sb, k4j_dptr c, k4j_dptr d, int d_dtype,
                       int64_t rows, int64_t n, int64_t k, int64_t groups, k4j_dptr err_flags) {
  GemmParams p{};
  p.a = reinterpret_cast<const uint8_t *>(a);
  p.b = reinterpret_cast<const uint8_t *>(b);
  p.sa = reinterpret_cast<const float *>(sa);
  p.sb = reinterpret_cast<const float *>(sb);
  p.c = reinterpret_cast<const float *>(c);
  p.d = reinterpret_cast<void *>(d);
  p.err_flags = reinterpret_cast<uint32_t *>(err_flags);
  p.m = (int)rows;
  p.n = (int)n;
  p.k = (int)k;
  p.groups = (int)groups;
  p.sa_ld = (int)align_up(rows, 4);
  p.d_fp32 = d_dtype == K4J_DTYPE_FP32;
  return p;
}

}  // namespace

extern "C" {

K4J_API int k4j_fp8_gemm_dense(k4j_dptr a, k4j_dptr sa, k4j_dptr b, k4j_dptr sb, k4j_dptr c, k4j_dptr d,
                               int d_dtype, int64_t m, int64_t n, int64_t k, k4j_stream stream) {
  int rc = check_common(a, sa, b, sb, c, d, d_dtype, m, "m", n, k, 1);
  if (rc != K4J_OK) return rc;
  k4j::DeviceInfo info;
  if ((rc = k4j::current_device(&info)) != K4J_OK) return rc;
  const GemmParams p = make_params(a, sa, b, sb, c, d, d_dtype, m, n, k, 1, 0);
  return launch<GemmMode::kDense>(info, make_plan(info, {GemmMode::kDense, m, m, n, k, 1, 1, p.d_fp32}), p, 1,
                                  (cudaStream_t)stream);
}

K4J_API int k4j_fp8_gemm_grouped_contiguous(k4j_dptr a, k4j_dptr sa, k4j_dptr b, k4j_dptr sb, k4j_dptr c,
                                            k4j_dptr d, int d_dtype, k4j_dptr m_indices, int64_t sum_m,
                                            int64_t n, int64_t k, int64_t groups, k4j_dptr err_flags,
                                            k4j_stream stream) {
  int rc = check_common(a, sa, b, sb, c, d, d_dtype, sum_m, "sumM", n, k, groups);
  if (rc != K4J_OK) return rc;
  K4J_REQUIRE_PTR(m_indices, "mIndices");
  K4J_REQUIRE_ALIGNED(m_indices, 4, "mIndices");
  if (err_flags != 0) K4J_REQUIRE_ALIGNED(err_flags, 4, "errFlags");
  k4j::DeviceInfo info;
  if ((rc = k4j::current_device(&info)) != K4J_OK) return rc;
  GemmParams p = make_params(a, sa, b, sb, c, d, d_dtype, sum_m, n, k, groups, err_flags);
  p.m_indices = reinterpret_cast<const int *>(m_indices);
  return launch<GemmMode::kContiguous>(info, make_plan(info, {GemmMode::kContiguous, sum_m, sum_m, n, k, groups, 1, p.d_fp32}),
                                       p, 1, (cudaStream_t)stream);
}

K4J_API int k4j_fp8_gemm_grouped_ends(k4j_dptr a, k4j_dptr sa, k4j_dptr b, k4j_dptr sb, k4j_dptr c, k4j_dptr d,
                                      int d_dtype, k4j_dptr group_ends, int64_t sum_m, int64_t n, int64_t k,
                                      int64_t groups, k4j_dptr err_flags, k4j_stream stream) {
  int rc = check_common(a, sa, b, sb, c, d, d_dtype, sum_m, "sumM", n, k, groups);
  if (rc != K4J_OK) return rc;
  K4J_REQUIRE_PTR(group_ends, "groupEnds");
  K4J_REQUIRE_ALIGNED(group_ends, 4, "groupEnds");
  if (err_flags != 0) K4J_REQUIRE_ALIGNED(err_flags, 4, "errFlags");
  k4j::DeviceInfo info;
  if ((rc = k4j::current_device(&info)) != K4J_OK) return rc;
  GemmParams p = make_params(a, sa, b, sb, c, d, d_dtype, sum_m, n, k, groups, err_flags);
  p.group_ends = reinterpret_cast<const int *>(group_ends);
  return launch<GemmMode::kEnds>(info, make_plan(info, {GemmMode::kEnds, sum_m, sum_m, n, k, groups, 1, p.d_fp32}), p, 1,
                                 (cudaStream_t)stream);
}

K4J_API int k4j_fp8_gemm_grouped_masked(k4j_dptr a, k4j_dptr sa, k4j_dptr b, k4j_dptr sb, k4j_dptr c, k4j_dptr d,
                                        int d_dtype, k4j_dptr masked_m, int64_t groups, int64_t max_m, int64_t n,
                                        int64_t k, int64_t expected_m, k4j_dptr err_flags, k4j_stream stream) {
  int rc = check_common(a, sa, b, sb, c, d, d_dtype, max_m, "maxM", n, k, groups);
  if (rc != K4J_OK) return rc;
  K4J_REQUIRE_PTR(masked_m, "maskedM");
  K4J_REQUIRE_ALIGNED(masked_m, 4, "maskedM");
  K4J_REQUIRE(expected_m >= 0, "expectedM: must be >= 0, got %lld", (long long)expected_m);
  if (err_flags != 0) K4J_REQUIRE_ALIGNED(err_flags, 4, "errFlags");
  k4j::DeviceInfo info;
  if ((rc = k4j::current_device(&info)) != K4J_OK) return rc;
  GemmParams p = make_params(a, sa, b, sb, c, d, d_dtype, max_m, n, k, groups, err_flags);
  p.masked_m = reinterpret_cast<const int *>(masked_m);
  const int64_t hint = expected_m > 0 ? (expected_m < max_m ? expected_m : max_m) : max_m;
  return launch<GemmMode::kMasked>(info, make_plan(info, {GemmMode::kMasked, max_m, hint, n, k, groups, groups, p.d_fp32}),
                                   p, groups, (cudaStream_t)stream);
}

K4J_API int k4j_fp8_gemm_plan(int form, int64_t rows, int64_t n, int64_t k, int64_t groups, int64_t expected_m,
                              int d_dtype, char *buf, int64_t size) {
  K4J_REQUIRE(form >= K4J_GEMM_FORM_DENSE && form <= K4J_GEMM_FORM_MASKED, "form: must be 0..3, got %d", form);
  K4J_REQUIRE(buf != nullptr && size >= 1, "buf: need a buffer of at least 1 byte");
  const GemmMode mode = (GemmMode)form;
  const char *rows_name = mode == GemmMode::kDense ? "m" : mode == GemmMode::kMasked ? "maxM" : "sumM";
  // The sizes a call would be checked with (the pointers aside).
  const k4j_dptr fake = 16;
  if (mode == GemmMode::kDense) K4J_REQUIRE(groups == 1, "groups: must be 1 for the dense form, got %lld", (long long)groups);
  int rc = check_common(fake, fake, fake, fake, 0, fake, d_dtype, rows, rows_name, n, k, groups);
  if (rc != K4J_OK) return rc;
  K4J_REQUIRE(expected_m >= 0, "expectedM: must be >= 0, got %lld", (long long)expected_m);
  k4j::DeviceInfo info;
  if ((rc = k4j::current_device(&info)) != K4J_OK) return rc;
  const bool masked = mode == GemmMode::kMasked;
  const int64_t hint = masked && expected_m > 0 ? (expected_m < rows ? expected_m : rows) : rows;
  const GemmShape shape{mode, rows, hint, n, k, groups, masked ? groups : 1, d_dtype == K4J_DTYPE_FP32};
  describe(make_plan(info, shape), shape, buf, (size_t)size);
  return K4J_OK;
}

}  // extern "C"
