// k4j_mla_decode: the decode kernel over a BF16 or FP8 paged cache (the Hopper wgmma family on
// sm_90, mla_decode_wgmma.cu; the mma.sync family on sm_80/sm_89 and as the fallback), then the
// combine kernel for requests with more than one split.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>

#include "k4j_internal.h"
#include "mla/mla_combine.cuh"
#include "mla/mla_decode_mma.cuh"
#include "mla_decode_wgmma.h"

namespace k4j::mla {
int plan_capacity(int64_t batch, int num_sms, int fixed_splits, int64_t *max_work, int *sms_out);
}

namespace {
using namespace k4j::kernels::mla;

template <int BN, bool FP8>
int launch_decode(const DecodeParams &p, int max_work, int device, cudaStream_t s) {
  using C = DecodeCfg<BN>;
  constexpr auto kernel = mla_decode_kernel<BN, FP8>;
  K4J_CUDA_TRY((k4j::raise_dynamic_smem_once<kernel>(device, C::SMEM)));
  dim3 grid(max_work, p.h_kv * p.m_tiles);
  k4j::launch("mla_decode_kernel", kernel, grid, C::THREADS, C::SMEM, s, p);
  return k4j::check_launch("mla_decode_kernel");
}

enum class Family { kMma, kWgmma };

// KERNELS4J_MLA_FAMILY = auto (default) | wgmma | mma, read once per process (at the first decode or
// plan call): auto takes the Hopper family where it can run (sm_90 with the sm_90a image), else the
// portable one; wgmma insists on it (an error elsewhere); mma forces the portable one.
struct FamilyRequest {
  enum Kind { kAuto, kWgmma, kMma, kBad } kind;
  bool set;       // the variable is set (non-empty): the family line is printed on a GPU too
  char text[64];  // its value, for the error message
};

const FamilyRequest &family_request() {
  static const FamilyRequest r = [] {
    FamilyRequest f{FamilyRequest::kAuto, false, {0}};
    const char *env = getenv("KERNELS4J_MLA_FAMILY");
    if (env == nullptr || *env == 0) return f;
    f.set = true;
    snprintf(f.text, sizeof f.text, "%s", env);
    f.kind = strcmp(env, "auto") == 0    ? FamilyRequest::kAuto
             : strcmp(env, "wgmma") == 0 ? FamilyRequest::kWgmma
             : strcmp(env, "mma") == 0   ? FamilyRequest::kMma
                                         : FamilyRequest::kBad;
    return f;
  }();
  return r;
}

// What a decode call of these sizes runs: the family, its query rows per CTA and keys per tile, the
// CTA size and shared memory, and why (k4j_mla_decode and k4j_mla_decode_plan: one home).
struct DecodeChoice {
  Family family;
  int rows_cta, keys_tile, threads, smem;
  int64_t m_tiles;
  const char *why;
};

int choose(const k4j::DeviceInfo &info, int64_t s_q, int64_t h_q, int64_t h_kv, int64_t num_blocks, int page_size,
           DecodeChoice *c) {
  const FamilyRequest &req = family_request();
  if (req.kind == FamilyRequest::kBad)
    return k4j::set_error(K4J_ERR_INVALID_ARGUMENT, "KERNELS4J_MLA_FAMILY: must be auto, wgmma or mma, got '%s'", req.text);
  // TMA row coordinates are int32: the BF16 cache's numBlocks * pageSize rows must fit.
  const bool hopper = k4j::mla::wgmma_decode_available(info) && num_blocks * page_size <= INT32_MAX;
  if (req.kind == FamilyRequest::kMma) {
    c->family = Family::kMma;
    c->why = "KERNELS4J_MLA_FAMILY=mma";
  } else if (hopper) {
    c->family = Family::kWgmma;
    c->why = req.kind == FamilyRequest::kWgmma ? "KERNELS4J_MLA_FAMILY=wgmma" : "sm_90 TMA + wgmma";
  } else if (req.kind == FamilyRequest::kWgmma) {
    return k4j::set_error(K4J_ERR_UNSUPPORTED,
                          "KERNELS4J_MLA_FAMILY=wgmma: the Hopper MLA decode family needs sm_90 with the sm_90a image "
                          "and %d bytes of shared memory, and num_blocks * page_size < 2^31 (device sm_%d%d, %d bytes; %lld rows)",
                          k4j::mla::wgmma_decode_smem_bytes(), info.cc_major, info.cc_minor, info.max_smem_optin,
                          (long long)(num_blocks * page_size));
  } else {
    c->family = Family::kMma;
    c->why = !(info.cc_major == 9 && info.cc_minor == 0) ? "not sm_90"
             : !k4j::mla::wgmma_decode_available(info)  ? "no sm_90a code, no TMA driver entry point or too little shared memory"
                                                         : "num_blocks * page_size >= 2^31 (TMA coordinates)";
  }
  if (c->family == Family::kWgmma) {
    c->rows_cta = k4j::mla::kWgmmaRowsPerCta;
    c->keys_tile = k4j::mla::kWgmmaKeysPerTile;
    c->threads = k4j::mla::kWgmmaThreads;
    c->smem = k4j::mla::wgmma_decode_smem_bytes();
  } else if (info.max_smem_optin >= DecodeCfg<32>::SMEM) {
    // BN = 32 keys per tile where the shared memory allows (~119 KB: sm_80, sm_90), else 16 (~80 KB).
    c->rows_cta = DecodeCfg<32>::M;
    c->keys_tile = 32;
    c->threads = DecodeCfg<32>::THREADS;
    c->smem = DecodeCfg<32>::SMEM;
  } else {
    c->rows_cta = DecodeCfg<16>::M;
    c->keys_tile = 16;
    c->threads = DecodeCfg<16>::THREADS;
    c->smem = DecodeCfg<16>::SMEM;
  }
  const int64_t m_rows = s_q * (h_q / h_kv);
  c->m_tiles = (m_rows + c->rows_cta - 1) / c->rows_cta;
  K4J_REQUIRE(h_kv * c->m_tiles <= 65535, "h_q: h_kv * ceil(s_q * h_q / h_kv / %d) must be <= 65535, got %lld",
              c->rows_cta, (long long)(h_kv * c->m_tiles));
  return K4J_OK;
}

// Which family ran, once per family and process, on stderr: always on the emulated device (test logs
// count it), on a GPU when KERNELS4J_MLA_FAMILY is set (e.g. to auto).
void say_family(const k4j::DeviceInfo &info, Family f) {
#ifdef K4J_EMULATOR
  const bool say = true;
#else
  const bool say = family_request().set;
#endif
  static std::atomic<bool> said[2];
  if (say && !said[(int)f].exchange(true))
    fprintf(stderr, "kernels4j: mla_decode family=%s (sm_%d%d)\n", f == Family::kWgmma ? "wgmma" : "mma.sync",
            info.cc_major, info.cc_minor);
}

// The size checks k4j_mla_decode and k4j_mla_decode_plan share.
int check_sizes(int kv_dtype, int64_t s_q, int64_t h_q, int64_t h_kv, int64_t num_blocks, int page_size) {
  K4J_REQUIRE(kv_dtype == K4J_DTYPE_BF16 || kv_dtype == K4J_DTYPE_FP8_E4M3,
              "kv_dtype: must be BF16 (%d) or FP8_E4M3 (%d), got %d", K4J_DTYPE_BF16, K4J_DTYPE_FP8_E4M3, kv_dtype);
  // Each factor <= 2^20 first, so that s_q * h_q below cannot overflow int64.
  K4J_REQUIRE(s_q >= 1 && s_q <= (1 << 20), "s_q: must be in [1, 2^20], got %lld", (long long)s_q);
  K4J_REQUIRE(h_kv >= 1, "h_kv: must be >= 1, got %lld", (long long)h_kv);
  K4J_REQUIRE(h_q >= 1 && h_q <= (1 << 20) && h_q % h_kv == 0, "h_q: must be a positive multiple of h_kv = %lld, at most 2^20, got %lld",
              (long long)h_kv, (long long)h_q);
  K4J_REQUIRE(s_q * h_q <= (1 << 20), "s_q: s_q * h_q must be <= 2^20, got %lld", (long long)(s_q * h_q));
  K4J_REQUIRE(num_blocks >= 1, "num_blocks: must be >= 1, got %lld", (long long)num_blocks);
  K4J_REQUIRE(page_size >= 16 && page_size % 16 == 0, "page_size: must be a positive multiple of 16, got %d",
              page_size);
  return K4J_OK;
}

// The device, if it can run MLA decoding at all.
int mla_device(k4j::DeviceInfo *info) {
  int rc = k4j::current_device(info);
  if (rc != K4J_OK) return rc;
  if (info->cc_major < 8)
    return k4j::set_error(K4J_ERR_UNSUPPORTED, "device: MLA decode needs sm_80 or newer, got sm_%d%d",
                          info->cc_major, info->cc_minor);
  return K4J_OK;
}
}  // namespace

K4J_API int k4j_mla_decode(k4j_dptr q, k4j_dptr kv_cache, int kv_dtype, k4j_dptr block_table,
                           k4j_dptr cache_seqlens, k4j_dptr schedule, k4j_dptr workspace, int64_t workspace_bytes,
                           k4j_dptr out, k4j_dptr lse, int64_t batch, int64_t s_q, int64_t h_q, int64_t h_kv,
                           int64_t num_blocks, int page_size, int64_t max_blocks_per_seq, int num_sms,
                           int fixed_splits, float softmax_scale, int causal, k4j_dptr err_flags,
                           k4j_stream stream) {
  k4j::clear_error();
  int rc = check_sizes(kv_dtype, s_q, h_q, h_kv, num_blocks, page_size);
  if (rc != K4J_OK) return rc;
  K4J_REQUIRE_PTR(q, "q");
  K4J_REQUIRE_ALIGNED(q, 16, "q");
  K4J_REQUIRE_PTR(kv_cache, "kv_cache");
  K4J_REQUIRE_ALIGNED(kv_cache, 16, "kv_cache");
  K4J_REQUIRE_PTR(block_table, "block_table");
  K4J_REQUIRE_ALIGNED(block_table, 4, "block_table");
  K4J_REQUIRE_PTR(cache_seqlens, "cache_seqlens");
  K4J_REQUIRE_ALIGNED(cache_seqlens, 4, "cache_seqlens");
  K4J_REQUIRE_PTR(schedule, "schedule");
  K4J_REQUIRE_ALIGNED(schedule, 16, "schedule");
  K4J_REQUIRE_PTR(out, "out");
  K4J_REQUIRE_ALIGNED(out, 16, "out");
  K4J_REQUIRE_PTR(lse, "lse");
  K4J_REQUIRE_ALIGNED(lse, 4, "lse");
  K4J_REQUIRE(batch >= 1 && batch <= 65535, "batch: must be in [1, 65535], got %lld", (long long)batch);
  // <= 2^30 keeps every key index of the kernels (a key < seqlen plus up to one 64-key tile) inside int32.
  K4J_REQUIRE(max_blocks_per_seq >= 1 && max_blocks_per_seq <= (1 << 30) &&
                  max_blocks_per_seq * page_size <= (1 << 30),
              "max_blocks_per_seq: must be >= 1 with max_blocks_per_seq * page_size <= 2^30, got %lld",
              (long long)max_blocks_per_seq);
  K4J_REQUIRE(softmax_scale > 0.f && softmax_scale < 1e30f, "softmax_scale: must be finite and > 0, got %g",
              (double)softmax_scale);
  k4j::DeviceInfo info;
  if ((rc = mla_device(&info)) != K4J_OK) return rc;
  int64_t mw = 0;
  int sms = 0;
  rc = k4j::mla::plan_capacity(batch, num_sms, fixed_splits, &mw, &sms);
  if (rc != K4J_OK) return rc;
  const int64_t rows_q = s_q * h_q;
  const int64_t need = mw * rows_q * (K4J_MLA_V_DIM + 1) * 4;
  K4J_REQUIRE(workspace_bytes >= need, "workspace: needs %lld bytes, got %lld", (long long)need,
              (long long)workspace_bytes);
  K4J_REQUIRE(need == 0 || workspace != 0, "workspace: null device pointer");
  K4J_REQUIRE(k4j::aligned(workspace, 16), "workspace: device pointer 0x%llx is not 16-byte aligned",
              (unsigned long long)workspace);
  DecodeChoice choice;
  if ((rc = choose(info, s_q, h_q, h_kv, num_blocks, page_size, &choice)) != K4J_OK) return rc;
  say_family(info, choice.family);
  const int64_t m_rows = s_q * (h_q / h_kv);
  const int64_t m_tiles = choice.m_tiles;
  K4J_REQUIRE(mw <= INT32_MAX, "batch: too many work items");

  const int *sched = reinterpret_cast<const int *>(schedule);
  DecodeParams p{};
  p.q = reinterpret_cast<const void *>(q);
  p.kv = reinterpret_cast<const void *>(kv_cache);
  p.block_table = reinterpret_cast<const int *>(block_table);
  p.seqlens = reinterpret_cast<const int *>(cache_seqlens);
  p.work = reinterpret_cast<const WorkItem *>(sched);
  p.num_splits = sched + 4 * mw;
  p.o_accum = reinterpret_cast<float *>(workspace);
  p.lse_accum = reinterpret_cast<float *>(workspace) + mw * rows_q * K4J_MLA_V_DIM;
  p.out = reinterpret_cast<void *>(out);
  p.lse = reinterpret_cast<float *>(lse);
  p.err = reinterpret_cast<uint32_t *>(err_flags);
  p.batch = (int)batch;
  p.s_q = (int)s_q;
  p.h_q = (int)h_q;
  p.h_kv = (int)h_kv;
  p.h_per_kv = (int)(h_q / h_kv);
  p.m_rows = (int)m_rows;
  p.m_tiles = (int)m_tiles;
  p.num_blocks = num_blocks;
  p.page_size = page_size;
  p.max_blocks = (int)max_blocks_per_seq;
  p.scale_log2 = softmax_scale * 1.4426950408889634f;
  p.causal = causal != 0;

  cudaStream_t s = (cudaStream_t)stream;
  const bool fp8 = kv_dtype == K4J_DTYPE_FP8_E4M3;
  if (choice.family == Family::kWgmma)
    rc = k4j::mla::launch_wgmma_decode(p, fp8, (int)mw, s);
  else if (choice.keys_tile == 32)
    rc = fp8 ? launch_decode<32, true>(p, (int)mw, info.ordinal, s)
             : launch_decode<32, false>(p, (int)mw, info.ordinal, s);
  else
    rc = fp8 ? launch_decode<16, true>(p, (int)mw, info.ordinal, s)
             : launch_decode<16, false>(p, (int)mw, info.ordinal, s);
  if (rc != K4J_OK) return rc;

  dim3 cgrid((unsigned)((rows_q + kCombineRowsPerCta - 1) / kCombineRowsPerCta), (unsigned)batch);
  k4j::launch("mla_combine_kernel", mla_combine_kernel, cgrid, 32 * kCombineRowsPerCta, 0, s,
      sched + 4 * mw, sched + 4 * mw + batch, p.o_accum, p.lse_accum, reinterpret_cast<__nv_bfloat16 *>(out),
      p.lse, (int)s_q, (int)h_q, (int)mw, p.err);
  return k4j::check_launch("mla_combine_kernel");
}

K4J_API int k4j_mla_decode_plan(int kv_dtype, int64_t s_q, int64_t h_q, int64_t h_kv, int64_t num_blocks, int page_size,
                                char *buf, int64_t size) {
  k4j::clear_error();
  K4J_REQUIRE(buf != nullptr && size >= 1, "buf: need a buffer of at least 1 byte");
  int rc = check_sizes(kv_dtype, s_q, h_q, h_kv, num_blocks, page_size);
  if (rc != K4J_OK) return rc;
  k4j::DeviceInfo info;
  if ((rc = mla_device(&info)) != K4J_OK) return rc;
  DecodeChoice c;
  if ((rc = choose(info, s_q, h_q, h_kv, num_blocks, page_size, &c)) != K4J_OK) return rc;
  snprintf(buf, (size_t)size, "family=%s kv=%s rows_per_cta=%d keys_per_tile=%d ctas_per_work_item=%lld threads=%d smem=%d (%s)",
           c.family == Family::kWgmma ? "wgmma" : "mma.sync", kv_dtype == K4J_DTYPE_FP8_E4M3 ? "fp8" : "bf16",
           c.rows_cta, c.keys_tile, (long long)(h_kv * c.m_tiles), c.threads, c.smem, c.why);
  return K4J_OK;
}
