// k4j_mla_kv_cache_write: quantise (FP8) or copy (BF16) new latent rows into the paged cache.
#include "k4j_internal.h"
#include "mla/mla_kv_cache_write.cuh"

K4J_API int k4j_mla_kv_cache_write(k4j_dptr kv_new, int64_t num_tokens, int64_t h_kv, k4j_dptr slot_mapping,
                                   int slot_bytes, k4j_dptr kv_cache, int kv_dtype, int64_t num_blocks,
                                   int page_size, k4j_dptr err_flags, k4j_stream stream) {
  k4j::clear_error();
  K4J_REQUIRE(kv_dtype == K4J_DTYPE_BF16 || kv_dtype == K4J_DTYPE_FP8_E4M3,
              "kv_dtype: must be BF16 (%d) or FP8_E4M3 (%d), got %d", K4J_DTYPE_BF16, K4J_DTYPE_FP8_E4M3, kv_dtype);
  K4J_REQUIRE(num_tokens >= 0, "num_tokens: must be >= 0, got %lld", (long long)num_tokens);
  K4J_REQUIRE(h_kv >= 1, "h_kv: must be >= 1, got %lld", (long long)h_kv);
  K4J_REQUIRE(slot_bytes == 4 || slot_bytes == 8, "slot_bytes: must be 4 (INT32) or 8 (INT64), got %d",
              slot_bytes);
  K4J_REQUIRE(num_blocks >= 1, "num_blocks: must be >= 1, got %lld", (long long)num_blocks);
  K4J_REQUIRE(page_size >= 16 && page_size % 16 == 0, "page_size: must be a positive multiple of 16, got %d",
              page_size);
  if (num_tokens == 0) return K4J_OK;
  K4J_REQUIRE_PTR(kv_new, "kv_new");
  K4J_REQUIRE_ALIGNED(kv_new, 16, "kv_new");
  K4J_REQUIRE_PTR(slot_mapping, "slot_mapping");
  K4J_REQUIRE_ALIGNED(slot_mapping, (unsigned)slot_bytes, "slot_mapping");
  K4J_REQUIRE_PTR(kv_cache, "kv_cache");
  K4J_REQUIRE_ALIGNED(kv_cache, 16, "kv_cache");
  const int64_t items = num_tokens * h_kv;
  K4J_REQUIRE((items + 7) / 8 <= INT32_MAX, "num_tokens: too many rows (%lld)", (long long)items);
  using namespace k4j::kernels::mla;
  dim3 grid((unsigned)((items + 7) / 8));
  const auto *src = reinterpret_cast<const __nv_bfloat16 *>(kv_new);
  auto *dst = reinterpret_cast<unsigned char *>(kv_cache);
  auto *err = reinterpret_cast<uint32_t *>(err_flags);
  const void *slots = reinterpret_cast<const void *>(slot_mapping);
  if (kv_dtype == K4J_DTYPE_FP8_E4M3)
    k4j::launch("mla_kv_cache_write_kernel<true>", mla_kv_cache_write_kernel<true>, grid, 256, 0, (cudaStream_t)stream,
        src, num_tokens, (int)h_kv, slots, slot_bytes, dst, num_blocks * page_size, err);
  else
    k4j::launch("mla_kv_cache_write_kernel<false>", mla_kv_cache_write_kernel<false>, grid, 256, 0, (cudaStream_t)stream,
        src, num_tokens, (int)h_kv, slots, slot_bytes, dst, num_blocks * page_size, err);
  return k4j::check_launch("mla_kv_cache_write_kernel");
}
