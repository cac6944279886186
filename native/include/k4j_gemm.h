/* kernels4j C ABI: FP8 quantisation and FP8 block-scaled GEMM (docs/CONTRACT.md sections 1 and 2).
 * Included from kernels4j.h; same conventions (k4j_dptr device addresses, int64_t sizes, int status).
 *
 * Layouts (all row-major, "kb" = k-block of 128 along K, KB = ceil(K/128), NB = ceil(N/128)):
 *  - A (activations): e4m3 [M, K]. Its 1x128 scales are FP32 and MN-major:
 *      sa[kb * alignUp(M, 4) + m], an array of KB * alignUp(M, 4) floats (padding entries unused by
 *      the GEMM; the quantiser writes them as 0).
 *  - B (weights): e4m3 [N, K] (grouped: [G, N, K]). Its 128x128 scales are FP32
 *      sb[(g * NB + n / 128) * KB + kb], i.e. [G][NB][KB].
 *  - C (optional, 0 = absent): FP32 with the shape of D. D: BF16 (K4J_DTYPE_BF16, rounded to nearest
 *      even once) or FP32 (K4J_DTYPE_FP32).
 *  - D[m, n] = C[m, n] + sum_kb (sa[m, kb] * sb[n/128, kb]) * (sum_{k in kb} A[m, k] * B[n, k]),
 *      each 128-wide partial sum accumulated in FP32 and promoted into the FP32 result once per kb.
 * Requirements checked on the host: M >= 1 (grouped: sum_m >= 1 / max_m >= 1), N >= 8 and
 * N % 8 == 0, K >= 16 and K % 16 == 0, M (sum_m, max_m) <= 2^31 - 4, N, K <= 2^31 - 128, with M*K, G*N*K,
 * G*M*N < 2^62, and at most 65535 row tiles of the chosen tile height (64 or 128 rows); every tensor
 * pointer (A, B, scales, C, D) 16-byte aligned; index arrays 4-byte aligned; d_dtype BF16 or FP32.
 * Pointers and array sizes themselves cannot be checked: the caller provides the sizes above.
 * Kernels: on sm_90 (with the sm_90a image in the library) a Hopper family (TMA loads into a multi-
 * stage shared-memory ring, warp-specialised producer/consumers, wgmma, persistent grid); elsewhere,
 * and as its fallback, a portable tensor-core family (mma.sync; FP8 MMAs on sm_89/sm_90, e4m3
 * converted exactly to f16 for 16-bit MMAs on sm_80, where an e4m3 NaN code in A or B reads as +-480
 * instead of propagating; the quantisers never produce NaN codes from finite inputs). Both have the
 * same numerics (per-128-K promotion in FP32). Deterministic: no atomics in the result. The family
 * and tile shape are chosen per call from the device and problem size (k4j_fp8_gemm_plan shows it).
 */
#ifndef K4J_GEMM_H
#define K4J_GEMM_H
#ifdef __cplusplus
extern "C" {
#endif

/* ---- quantisation (bitwise equal to the Java quantiser of docs/CONTRACT.md section 1) ----
 * x_dtype: K4J_DTYPE_BF16 or K4J_DTYPE_FP32. pow2_scales != 0: scale = smallest power of two
 * >= amax/448 (UE8M0 style). amax is clamped below at 1e-4. Divisions are IEEE FP32 (RNE); q is
 * e4m3 with saturation to +-448 (NaN inputs are not supported: they are skipped by amax). */

/* 1x128 per-token groups: x[m, k] -> q[m, k] e4m3 + scales[ceil(k/128)][alignUp(m, 4)] FP32
 * (MN-major, padding entries written 0). 1 <= k <= 2^31 - 128, m >= 1; x, q, scales 16-byte aligned. */
K4J_API int k4j_fp8_quant_1x128(k4j_dptr x, int x_dtype, k4j_dptr q, k4j_dptr scales, int64_t m, int64_t k,
                                int pow2_scales, k4j_stream stream);

/* 128x128 blocks: w[n, k] -> q[n, k] e4m3 + scales[ceil(n/128)][ceil(k/128)] FP32. */
K4J_API int k4j_fp8_quant_128x128(k4j_dptr w, int w_dtype, k4j_dptr q, k4j_dptr scales, int64_t n, int64_t k,
                                  int pow2_scales, k4j_stream stream);

/* ---- GEMM ---- */

/* Dense NT: A[m, k], sa [KB][alignUp(m,4)], B[n, k], sb [NB][KB], C/D [m, n]. */
K4J_API int k4j_fp8_gemm_dense(k4j_dptr a, k4j_dptr sa, k4j_dptr b, k4j_dptr sb, k4j_dptr c, k4j_dptr d,
                               int d_dtype, int64_t m, int64_t n, int64_t k, k4j_stream stream);

/* Grouped contiguous (MoE prefill): A[sum_m, k], sa [KB][alignUp(sum_m,4)], B[groups, n, k],
 * sb [groups][NB][KB], C/D [sum_m, n], m_indices[sum_m] INT32 (device): expert of each row, -1 for
 * padding rows (not computed, D rows left as they are). Any other id outside [0, groups) is treated
 * like padding and raises K4J_DEVERR_INDEX_OUT_OF_RANGE. Rows of one expert are best contiguous and
 * aligned to 128 (one pass per tile); rows of several experts in one 64/128-row tile are still
 * correct (one pass per expert present). */
K4J_API int k4j_fp8_gemm_grouped_contiguous(k4j_dptr a, k4j_dptr sa, k4j_dptr b, k4j_dptr sb, k4j_dptr c,
                                            k4j_dptr d, int d_dtype, k4j_dptr m_indices, int64_t sum_m,
                                            int64_t n, int64_t k, int64_t groups, k4j_dptr err_flags,
                                            k4j_stream stream);

/* Grouped contiguous, unpadded: as above but group_ends[groups] INT32 (device) are inclusive prefix
 * sums of the group sizes (group g owns rows [group_ends[g-1], group_ends[g]), no alignment). Rows
 * at or past group_ends[groups-1] are not computed. Ends outside [0, sum_m] or decreasing raise
 * K4J_DEVERR_LENGTH_OUT_OF_RANGE and are clamped (to [0, sum_m], then to their running maximum).
 * The row->group lookup scans the ends (cost O(groups) per row, fine for groups <= a few hundred). */
K4J_API int k4j_fp8_gemm_grouped_ends(k4j_dptr a, k4j_dptr sa, k4j_dptr b, k4j_dptr sb, k4j_dptr c, k4j_dptr d,
                                      int d_dtype, k4j_dptr group_ends, int64_t sum_m, int64_t n, int64_t k,
                                      int64_t groups, k4j_dptr err_flags, k4j_stream stream);

/* Grouped masked (MoE decode, graph friendly): A[groups, max_m, k], sa [groups][KB][alignUp(max_m,4)],
 * B[groups, n, k], sb [groups][NB][KB], C/D [groups, max_m, n], masked_m[groups] INT32 (device): only
 * rows < masked_m[g] of group g are computed; the other rows of D are left untouched. masked_m
 * outside [0, max_m] is clamped and raises K4J_DEVERR_LENGTH_OUT_OF_RANGE. expected_m (host, >= 0,
 * 0 = unknown) is a hint for the tile shape only. */
K4J_API int k4j_fp8_gemm_grouped_masked(k4j_dptr a, k4j_dptr sa, k4j_dptr b, k4j_dptr sb, k4j_dptr c, k4j_dptr d,
                                        int d_dtype, k4j_dptr masked_m, int64_t groups, int64_t max_m, int64_t n,
                                        int64_t k, int64_t expected_m, k4j_dptr err_flags, k4j_stream stream);

/* ---- plan ----
 * The kernel configuration a GEMM call of these sizes launches on the current device, as one line of
 * text written NUL-terminated into buf (at most size bytes, truncated to fit), e.g.
 *   "family=wgmma form=dense tile=128x128x128 stages=4 cluster=1 threads=384 smem=199712 grid=132x1x1 persistent (sm_90 TMA + wgmma)"
 * family: "wgmma" (sm_90: TMA + wgmma, warp-specialised, persistent) or "mma.sync" (the portable family
 * of sm_80/sm_89 and the fallback; the phrase in parentheses says why it was chosen). form: one of
 * K4J_GEMM_FORM_*; rows = m (dense), sum_m (contiguous, ends) or max_m (masked); groups = 1 for dense;
 * expected_m as for k4j_fp8_gemm_grouped_masked (ignored by the other forms). The sizes are checked as
 * the GEMM call checks them. Launches nothing. */
#define K4J_GEMM_FORM_DENSE 0
#define K4J_GEMM_FORM_CONTIGUOUS 1
#define K4J_GEMM_FORM_ENDS 2
#define K4J_GEMM_FORM_MASKED 3
K4J_API int k4j_fp8_gemm_plan(int form, int64_t rows, int64_t n, int64_t k, int64_t groups, int64_t expected_m,
                              int d_dtype, char *buf, int64_t size);

#ifdef __cplusplus
}
#endif
#endif
