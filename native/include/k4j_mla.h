/* kernels4j C ABI: mla ops. Included from kernels4j.h; same conventions.
 *
 * MLA decoding over a paged latent KV cache (FlashMLA semantics, docs/CONTRACT.md section 3).
 *
 * Layouts (row-major, outermost first):
 *   q            [b, sQ, hQ, 576]                 BF16
 *   kv cache     [numBlocks, pageSize, hKV, 576]  BF16 (K = all 576 values, V = the first 512)
 *             or [numBlocks, pageSize, hKV, 656]  bytes, FP8 row format below
 *   blockTable   [b, maxBlocksPerSeq]             INT32 page ids; only the entries covering a
 *                                                 request's first cacheSeqlens[b] keys are read
 *                                                 (maxBlocksPerSeq * pageSize <= 2^30)
 *   cacheSeqlens [b]                              INT32, 0 allowed
 *   out          [b, sQ, hQ, 512]                 BF16
 *   lse          [b, hQ, sQ]                      FP32, natural log; +inf when no key is visible
 * Key j of request r lives at page blockTable[r, j / pageSize], row j % pageSize.
 * Causal with sQ > 1 is end-aligned: query token i sees keys [0, seqlen - (sQ - 1 - i)).
 * Inside the kernel the query rows of one KV head are the (sQ x hQ/hKV) matrix, row m = token
 * (m / (hQ/hKV)), head kvh*(hQ/hKV) + m % (hQ/hKV); they share every K/V tile.
 *
 * FP8 cache row (656 bytes): bytes [0, 512) e4m3 values 0..511; bytes [512, 528) four FP32 scales,
 * scale g for values [128g, 128g+128), each a power of two; bytes [528, 656) 64 BF16 RoPE values
 * (values 512..575). Dequantised value = float(e4m3) * scale (exact in BF16).
 *
 * Schedule ("split-KV plan", int32 buffer of k4j_mla_schedule_sizes()->schedule_ints entries):
 *   [0, 4*maxWork)             work items {request, tileBegin, tileEnd, slot}; request = -1: unused.
 *                              Tiles are K4J_MLA_TILE_KEYS keys; slot indexes the partial results.
 *   [4*maxWork, +b)            numSplits[r] (>= 1 for every request, also seqlen 0)
 *   [4*maxWork + b, +b)        slot of request r's first split (its splits use consecutive slots)
 * maxWork = b + numSms (auto mode) or b * fixedSplits (fixed mode).
 * Auto mode: chunk = max(2, ceil(totalTiles / numSms)) tiles, numSplits[r] = max(1, ceil(tiles_r / chunk)).
 * Fixed mode (fixedSplits > 0): numSplits[r] = min(fixedSplits, max(1, tiles_r)), independent of the
 * other requests, so a request's results do not depend on the batch it is in.
 * Split s of n covers tiles [s*tiles/n, (s+1)*tiles/n).
 *
 * Workspace (k4j_mla_workspace_bytes): partial results per slot, FP32:
 *   oAccum [maxWork, sQ*hQ, 512] then lseAccum [maxWork, sQ*hQ] (row = i*hQ + h).
 * Requests with one split are written directly by the decode kernel; the combine kernel merges the
 * others in split order (deterministic).
 */
#ifndef K4J_MLA_H
#define K4J_MLA_H
#ifdef __cplusplus
extern "C" {
#endif

#define K4J_MLA_HEAD_DIM 576
#define K4J_MLA_V_DIM 512
#define K4J_MLA_ROPE_DIM 64
#define K4J_MLA_FP8_ROW_BYTES 656
#define K4J_MLA_TILE_KEYS 64

/* Sizes of the schedule (int32 entries) and the work-item capacity for this batch. num_sms <= 0
 * takes the current device's SM count; fixed_splits > 0 selects fixed mode (<= 64). */
K4J_API int k4j_mla_schedule_sizes(int64_t batch, int num_sms, int fixed_splits, int64_t *max_work,
                                   int64_t *schedule_ints);

/* Computes the split-KV plan on the GPU from cache_seqlens (one small kernel, no host sync).
 * Negative seqlens count as 0, seqlens past max_blocks_per_seq * page_size are clamped; both raise
 * K4J_DEVERR_LENGTH_OUT_OF_RANGE. Reuse the result for every layer of the decode step. */
K4J_API int k4j_mla_schedule(k4j_dptr cache_seqlens, int64_t batch, int page_size, int64_t max_blocks_per_seq,
                             int num_sms, int fixed_splits, k4j_dptr schedule, int64_t schedule_ints,
                             k4j_dptr err_flags, k4j_stream stream);

/* Bytes of workspace the decode needs (same batch, num_sms, fixed_splits as the schedule; s_q * h_q <= 2^20). */
K4J_API int k4j_mla_workspace_bytes(int64_t batch, int64_t s_q, int64_t h_q, int num_sms, int fixed_splits,
                                    int64_t *bytes);

/* Decode: out/lse from q over the paged cache. kv_dtype is K4J_DTYPE_BF16 or K4J_DTYPE_FP8_E4M3
 * (656-byte rows). schedule must come from k4j_mla_schedule on the same cache_seqlens, batch,
 * page_size, max_blocks_per_seq, num_sms and fixed_splits. Page ids outside [0, num_blocks) are
 * skipped (K4J_DEVERR_INDEX_OUT_OF_RANGE); lengths are clamped as in the schedule.
 * Requires: page_size % 16 == 0, h_q % h_kv == 0, 16-byte aligned q, kv_cache, out; 4-byte
 * aligned lse, block_table, cache_seqlens, schedule; 16-byte aligned workspace.
 * Kernel family: on sm_90 with the sm_90a image the Hopper (TMA + wgmma) kernel, else the mma.sync
 * one; the environment variable KERNELS4J_MLA_FAMILY = auto (default) | wgmma | mma overrides it
 * (wgmma where it cannot run: K4J_ERR_UNSUPPORTED; another value: K4J_ERR_INVALID_ARGUMENT); it is
 * read once per process, at the first decode or plan call. When the variable is set, the first decode
 * of each family prints "kernels4j: mla_decode family=..." to stderr (always on the emulated device);
 * k4j_mla_decode_plan names the choice without launching anything. */
K4J_API int k4j_mla_decode(k4j_dptr q, k4j_dptr kv_cache, int kv_dtype, k4j_dptr block_table,
                           k4j_dptr cache_seqlens, k4j_dptr schedule, k4j_dptr workspace, int64_t workspace_bytes,
                           k4j_dptr out, k4j_dptr lse, int64_t batch, int64_t s_q, int64_t h_q, int64_t h_kv,
                           int64_t num_blocks, int page_size, int64_t max_blocks_per_seq, int num_sms,
                           int fixed_splits, float softmax_scale, int causal, k4j_dptr err_flags,
                           k4j_stream stream);

/* The kernel configuration a k4j_mla_decode call with these sizes launches on the current device, as
 * one line written NUL-terminated into buf (at most size bytes, truncated to fit), e.g.
 *   "family=wgmma kv=bf16 rows_per_cta=64 keys_per_tile=64 ctas_per_work_item=2 threads=384 smem=... (sm_90 TMA + wgmma)"
 * family: "wgmma" (sm_90: TMA + wgmma) or "mma.sync" (sm_80/sm_89, the fallback, or
 * KERNELS4J_MLA_FAMILY=mma; the phrase in parentheses says why). ctas_per_work_item = h_kv x the
 * query-row tiles of one work item. The sizes are checked as the decode call checks them, and
 * KERNELS4J_MLA_FAMILY applies as there (a bad value: K4J_ERR_INVALID_ARGUMENT). Launches nothing. */
K4J_API int k4j_mla_decode_plan(int kv_dtype, int64_t s_q, int64_t h_q, int64_t h_kv, int64_t num_blocks, int page_size,
                                char *buf, int64_t size);

/* Writes new rows kv_new [num_tokens, h_kv, 576] BF16 into the cache by slot_mapping[num_tokens]
 * (slot = page * page_size + offset; slot_bytes 4 for INT32 or 8 for INT64). kv_dtype BF16 copies;
 * FP8_E4M3 quantises each 128-value group with a power-of-two scale
 * (amax clamped below at 1e-4, scale = 2^ceil(log2(amax / 448)), q = e4m3_satfinite(x / scale))
 * and copies the 64 RoPE values. Slot -1 is skipped; other slots outside [0, num_blocks*page_size)
 * are skipped and raise K4J_DEVERR_INDEX_OUT_OF_RANGE. */
K4J_API int k4j_mla_kv_cache_write(k4j_dptr kv_new, int64_t num_tokens, int64_t h_kv, k4j_dptr slot_mapping,
                                   int slot_bytes, k4j_dptr kv_cache, int kv_dtype, int64_t num_blocks,
                                   int page_size, k4j_dptr err_flags, k4j_stream stream);

#ifdef __cplusplus
}
#endif
#endif
