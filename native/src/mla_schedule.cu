// k4j_mla_schedule_sizes / k4j_mla_schedule / k4j_mla_workspace_bytes: the split-KV plan and the
// sizes of its buffers (layouts in k4j_mla.h).
#include "k4j_internal.h"
#include "mla/mla_schedule.cuh"

namespace {

int resolve_sms(int num_sms, int *out) {
  if (num_sms > 0) { *out = num_sms; return K4J_OK; }
  k4j::DeviceInfo info;
  int rc = k4j::current_device(&info);
  if (rc != K4J_OK) return rc;
  *out = info.sm_count;
  return K4J_OK;
}

}  // namespace

namespace k4j::mla {
// Shared with mla_decode.cu.
int plan_capacity(int64_t batch, int num_sms, int fixed_splits, int64_t *max_work, int *sms_out) {
  K4J_REQUIRE(batch >= 1, "batch: must be >= 1, got %lld", (long long)batch);
  K4J_REQUIRE(fixed_splits >= 0 && fixed_splits <= 64, "fixed_splits: must be in [0, 64] (0 = auto), got %d",
              fixed_splits);
  int sms = 0;
  int rc = resolve_sms(num_sms, &sms);
  if (rc != K4J_OK) return rc;
  const int64_t mw = fixed_splits > 0 ? batch * fixed_splits : batch + sms;
  K4J_REQUIRE(mw <= (int64_t)INT32_MAX / 4, "batch: %lld work items do not fit the int32 schedule",
              (long long)mw);
  *max_work = mw;
  if (sms_out) *sms_out = sms;
  return K4J_OK;
}
}  // namespace k4j::mla

K4J_API int k4j_mla_schedule_sizes(int64_t batch, int num_sms, int fixed_splits, int64_t *max_work,
                                   int64_t *schedule_ints) {
  k4j::clear_error();
  int64_t mw = 0;
  int rc = k4j::mla::plan_capacity(batch, num_sms, fixed_splits, &mw, nullptr);
  if (rc != K4J_OK) return rc;
  if (max_work) *max_work = mw;
  if (schedule_ints) *schedule_ints = 4 * mw + 2 * batch;
  return K4J_OK;
}

K4J_API int k4j_mla_workspace_bytes(int64_t batch, int64_t s_q, int64_t h_q, int num_sms, int fixed_splits,
                                    int64_t *bytes) {
  k4j::clear_error();
  K4J_REQUIRE(s_q >= 1 && s_q <= (1 << 20), "s_q: must be in [1, 2^20], got %lld", (long long)s_q);
  K4J_REQUIRE(h_q >= 1 && h_q <= (1 << 20), "h_q: must be in [1, 2^20], got %lld", (long long)h_q);
  K4J_REQUIRE(s_q * h_q <= (1 << 20), "s_q: s_q * h_q must be <= 2^20, got %lld", (long long)(s_q * h_q));
  K4J_REQUIRE(bytes != nullptr, "bytes: null pointer");
  int64_t mw = 0;
  int rc = k4j::mla::plan_capacity(batch, num_sms, fixed_splits, &mw, nullptr);
  if (rc != K4J_OK) return rc;
  *bytes = mw * s_q * h_q * (K4J_MLA_V_DIM + 1) * 4;
  return K4J_OK;
}

K4J_API int k4j_mla_schedule(k4j_dptr cache_seqlens, int64_t batch, int page_size, int64_t max_blocks_per_seq,
                             int num_sms, int fixed_splits, k4j_dptr schedule, int64_t schedule_ints,
                             k4j_dptr err_flags, k4j_stream stream) {
  k4j::clear_error();
  K4J_REQUIRE_PTR(cache_seqlens, "cache_seqlens");
  K4J_REQUIRE_ALIGNED(cache_seqlens, 4, "cache_seqlens");
  K4J_REQUIRE_PTR(schedule, "schedule");
  K4J_REQUIRE_ALIGNED(schedule, 16, "schedule");
  K4J_REQUIRE(page_size >= 16 && page_size % 16 == 0, "page_size: must be a positive multiple of 16, got %d",
              page_size);
  // <= 2^30 keeps every key index of the kernels (a key < seqlen plus up to one 64-key tile) inside int32.
  K4J_REQUIRE(max_blocks_per_seq >= 1 && max_blocks_per_seq <= (1 << 30) &&
                  max_blocks_per_seq * page_size <= (1 << 30),
              "max_blocks_per_seq: must be >= 1 with max_blocks_per_seq * page_size <= 2^30, got %lld",
              (long long)max_blocks_per_seq);
  K4J_REQUIRE(batch <= INT32_MAX, "batch: must fit in int32, got %lld", (long long)batch);
  int64_t mw = 0;
  int sms = 0;
  int rc = k4j::mla::plan_capacity(batch, num_sms, fixed_splits, &mw, &sms);
  if (rc != K4J_OK) return rc;
  K4J_REQUIRE(schedule_ints >= 4 * mw + 2 * batch, "schedule: needs %lld int32 entries, got %lld",
              (long long)(4 * mw + 2 * batch), (long long)schedule_ints);
  using namespace k4j::kernels::mla;
  int *base = reinterpret_cast<int *>(schedule);
  k4j::launch("mla_schedule_kernel", mla_schedule_kernel, 1, kScheduleThreads, 0, (cudaStream_t)stream,
      reinterpret_cast<const int *>(cache_seqlens), (int)batch, page_size, (int)max_blocks_per_seq, sms,
      fixed_splits, (int)mw, reinterpret_cast<WorkItem *>(base), base + 4 * mw, base + 4 * mw + batch,
      reinterpret_cast<uint32_t *>(err_flags));
  return k4j::check_launch("mla_schedule_kernel");
}
