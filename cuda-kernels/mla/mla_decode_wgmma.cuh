// MLA decode on Hopper (sm_90a): wgmma BF16 with FP32 accumulators in registers, pages streamed
// into a two-stage shared-memory ring, producer/consumer warp specialisation. Same op, same
// numerics conventions and same epilogue as the portable kernel (mla_decode_mma.cuh).
//
// CTA = one work item x one KV head x 64 query rows (m-tile of the sQ * hQ/hKV rows of that head),
// 3 warpgroups:
//  - WG 0 and 1 (consumers, setmaxnreg 232): ping-pong over 64-key tiles. WG w owns the tiles
//    t = w (mod 2): it computes their S over all 576 dims (36 wgmma m64n64k16, Q and K from shared
//    memory) and their online softmax, writes P (BF16) into the tile's RoPE block (dims 512..575,
//    which only that S reads) and publishes the new row maxima and alpha; both WGs then do
//    O[:, 256w, 256w + 256) = O * alpha + P.V (4 wgmma m64n256k16, V = the first 512 dims of the
//    same rows, an MN-major operand). Each WG issues its next S before taking the other's hand-off
//    and runs its softmax under P.V of the previous tile, so the softmax overlaps wgmma work. Each
//    WG sums P over its own tiles; the two sums are added (in a fixed order) in the epilogue.
//  - WG 2 (producer, setmaxnreg 40): BF16 cache: one warp reads the page table (only for chunks
//    below the work item's end) and TMA-loads each 16-key chunk (page sizes are multiples of 16, so
//    a chunk never straddles pages) as 9 boxes of 64 dims x 16 keys (128-byte swizzle). A tile with
//    keys that must not count (past the end: the NaN-poisoned unused slots of a page; bad page ids)
//    lands on a separate barrier first; the warp then zeroes those rows (P = 0 times NaN is NaN),
//    fences them into the async proxy and only then releases the stage. FP8 cache: all 128 threads
//    read the 656-byte rows and dequantise them (dequant16) straight into the swizzled stage while
//    the consumers compute on the other stage (plain loads, not TMA: Q and two BF16 stages take all
//    but ~8 KB of the 227 KB, leaving no room to stage the raw rows).
// Shared-memory tiles are [rows][64 dims] blocks of 8 KB with the 128-byte swizzle (16-byte chunk
// index XOR row % 8), 1024-byte aligned, as TMA writes them and wgmma reads them.
#pragma once
#include <cuda.h>
#include <cuda_bf16.h>
#include <math_constants.h>
#include <stdint.h>

#include "common/device_errors.cuh"
#include "common/ptx.cuh"
#include "common/shared_memory.cuh"
#include "mla/mla_kv_load.cuh"
#include "mla/mla_params.cuh"

namespace k4j::kernels::mla {

struct WgmmaDecodeCfg {
  static constexpr int M = 64;          // query rows per CTA
  static constexpr int BN = 64;         // keys per tile (= the schedule's tile)
  static constexpr int CHUNK = 16;      // keys per TMA chunk (divides every page size)
  static constexpr int KBLK = kHeadDim / 64;  // 9 blocks of 64 dims
  static constexpr int STAGES = 2;
  static constexpr int THREADS = 384;
  static constexpr int CONSUMERS = 256;
  static constexpr int BLK_BYTES = 64 * 128;           // one [64 rows][64 dims] BF16 block
  static constexpr int TILE_BYTES = KBLK * BLK_BYTES;  // 72 KB (Q, or one stage)
  static constexpr int BOX_BYTES = CHUNK * 128;        // one TMA box: 16 keys x 64 dims
  static constexpr int CHUNK_TX = KBLK * BOX_BYTES;    // bytes of one chunk's 9 boxes
  static constexpr int Q_OFF = 0;
  static constexpr int KV_OFF = Q_OFF + TILE_BYTES;
  static constexpr int OK_OFF = KV_OFF + STAGES * TILE_BYTES;  // key usable flags, STAGES x 64 ints
  static constexpr int MX_OFF = OK_OFF + STAGES * BN * 4;  // running maxima after a tile, [t & 1][64]
  static constexpr int AL_OFF = MX_OFF + 2 * M * 4;        // its alpha, [t & 1][64]
  static constexpr int L_OFF = AL_OFF + 2 * M * 4;         // row sums of each WG's tiles, 2 x 64
  static constexpr int BAR_OFF = L_OFF + 2 * M * 4;          // full, empty, landed: STAGES each
  static constexpr int SMEM = BAR_OFF + 3 * STAGES * 8 + 1024;  // + slack to align the base to 1024
  // Register budgets after setmaxnreg. The CTA is launched with 168 x 384 = 64512 registers and
  // .inc only takes what .dec gave back, so 128 x producer + 256 x consumer must stay <= 64512: the
  // BF16 producer only issues TMA (40 + 232 = 64512); the FP8 one keeps 10 loads in flight per
  // thread (104 + 200 = 64512). The consumers are compiled within 168 (ptxas, no spills).
  template <bool FP8> static constexpr int PRODUCER_REGS = FP8 ? 104 : 40;
  template <bool FP8> static constexpr int CONSUMER_REGS = FP8 ? 200 : 232;
  static_assert(128 * PRODUCER_REGS<true> + 256 * CONSUMER_REGS<true> <= 168 * 384, "register pool (FP8)");
  static_assert(128 * PRODUCER_REGS<false> + 256 * CONSUMER_REGS<false> <= 168 * 384, "register pool (BF16)");
};

namespace wgmma_detail {

// Byte offset of 16-byte chunk c of row `row` in a 128-byte-swizzled block.
__device__ __forceinline__ int swz(int row, int c) { return row * 128 + ((c ^ (row & 7)) << 4); }

// Warp-uniform in ptxas's eyes (a shuffle from lane 0), so role branches do not count as divergent.
__device__ __forceinline__ int uniform(int v) { return __shfl_sync(0xffffffffu, v, 0); }

// S = Q (64 x 576) . K(64 keys)^T: 36 k16 steps of m64n64k16, 4 per 128-byte swizzled row (a k16
// step advances the start address by 32 bytes), both operands K-major.
__device__ __forceinline__ void qk(float (&s)[32], const uint8_t *s_q, const uint8_t *s_k) {
#pragma unroll
  for (int ks = 0; ks < WgmmaDecodeCfg::KBLK * 4; ++ks) {
    const int off = (ks >> 2) * WgmmaDecodeCfg::BLK_BYTES + (ks & 3) * 32;
    const uint64_t da = ptx::wgmma_desc(s_q + off, 128, 0, 1024);
    const uint64_t db = ptx::wgmma_desc(s_k + off, 128, 0, 1024);
    ptx::wgmma_bf16_m64k16_ss<64, 0, 0>(s, da, db, ks > 0 ? 1 : 0);
  }
}

// O[:, 256 dims] += P (64 x 64 keys, K-major) . V (64 keys x 256 dims, MN-major: 4 swizzled blocks
// of 64 dims, LBO = 8 KB between them, SBO = 1 KB between 8-key groups; a k16 step = 16 keys =
// 2 KB further down the blocks).
__device__ __forceinline__ void pv(float (&o)[128], const uint8_t *s_p, const uint8_t *s_v) {
#pragma unroll
  for (int kk = 0; kk < 4; ++kk) {
    const uint64_t da = ptx::wgmma_desc(s_p + kk * 32, 128, 0, 1024);
    const uint64_t db = ptx::wgmma_desc(s_v + kk * 16 * 128, 128, WgmmaDecodeCfg::BLK_BYTES, 1024);
    ptx::wgmma_bf16_m64k16_ss<256, 0, 1>(o, da, db, 1);
  }
}

// Page ids of the 4 chunks of 16 keys of the tile at key k0 (all lanes of the warp get them), -1
// for a chunk at or past key_end (its table entry is never read) or with a bad page id (flagged).
__device__ __forceinline__ void chunk_pages(const DecodeParams &p, int r, int k0, int key_end, int lane,
                                            int (&pages)[4]) {
  int page = -1;
  if (lane < 4) {
    const int j = k0 + lane * WgmmaDecodeCfg::CHUNK;
    if (j < key_end) {
      const int pg = p.block_table[(long long)r * p.max_blocks + j / p.page_size];
      if (pg < 0 || pg >= p.num_blocks) raise_device_error(p.err, K4J_DEVERR_INDEX_OUT_OF_RANGE);
      else page = pg;
    }
  }
#pragma unroll
  for (int c = 0; c < 4; ++c) pages[c] = __shfl_sync(0xffffffffu, page, c);
}

// Cache row (page row x hKV + head) of key k0 + row of the tile, or -1 when it is not usable.
__device__ __forceinline__ long long chunk_row(const DecodeParams &p, int kvh, int k0, int key_end, int row,
                                               const int (&pages)[4]) {
  const int c = row >> 4;
  const int page = c == 0 ? pages[0] : c == 1 ? pages[1] : c == 2 ? pages[2] : pages[3];
  if (k0 + row >= key_end || page < 0) return -1;
  return ((long long)page * p.page_size + (k0 + row) % p.page_size) * p.h_kv + kvh;
}

}  // namespace wgmma_detail

// tm_kv (BF16 cache only; unused for FP8): BF16 3-D (576 dims, hKV, numBlocks * pageSize rows),
// box (64, 1, 16), 128-byte swizzle (native/src/mla_decode_wgmma.cu).
template <bool FP8>
__global__ void __launch_bounds__(384, 1)
    mla_decode_wgmma_kernel(const DecodeParams p, const __grid_constant__ CUtensorMap tm_kv) {
#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL) && !defined(K4J_EMULATOR)
  // Device passes other than sm_90a: the launcher never runs this kernel there (wgmma and
  // setmaxnreg exist only in sm_90a), so it compiles to a trap.
  __trap();
#else
  using C = WgmmaDecodeCfg;
  using namespace wgmma_detail;
  constexpr int S = C::STAGES;
  K4J_DYNAMIC_SMEM(uint8_t, smem_raw, 1024);
  uint8_t *smem = reinterpret_cast<uint8_t *>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  uint8_t *s_q = smem + C::Q_OFF;
  uint8_t *s_kv = smem + C::KV_OFF;
  int *s_ok = reinterpret_cast<int *>(smem + C::OK_OFF);
  float *s_lsum = reinterpret_cast<float *>(smem + C::L_OFF);
  uint64_t *full = reinterpret_cast<uint64_t *>(smem + C::BAR_OFF);
  uint64_t *empty = full + S;
  uint64_t *landed = empty + S;

  // Grid (maxWork, hKV * m_tiles), walked with the head/m-tile index fastest: CTAs are issued in
  // linear block order, so the m-tiles of one work item run at the same time and the later ones
  // find its K/V tiles in L2.
  const int hm_count = (int)gridDim.y;
  const long long lin = (long long)blockIdx.y * gridDim.x + blockIdx.x;
  const int work = (int)(lin / hm_count), hm = (int)(lin % hm_count);
  const WorkItem w = p.work[work];
  if (!work_item_valid(p, w, (int)gridDim.x, hm == 0)) return;  // unused capacity, or a bad item (flagged)
  const int r = w.request;
  const int kvh = hm / p.m_tiles, mt = hm % p.m_tiles;
  const int tid = threadIdx.x, lane = tid & 31;
  const int wg = uniform(tid / 128);

  bool bad_len = false;
  const int seqlen = clamp_seqlen(p.seqlens[r], p.max_blocks, p.page_size, &bad_len);
  if (bad_len && tid == 0 && hm == 0) raise_device_error(p.err, K4J_DEVERR_LENGTH_OUT_OF_RANGE);
  const int key_begin = min(w.tile_begin * kTileKeys, seqlen);
  const int key_end = min(w.tile_end * kTileKeys, seqlen);
  const int n_tiles = key_end > key_begin ? (key_end - key_begin + C::BN - 1) / C::BN : 0;

  if (tid == 0) {
    for (int s = 0; s < S; ++s) {
      ptx::mbarrier_init(&full[s], FP8 ? 128 : 1);  // FP8: every dequant thread; BF16: the TMA warp's leader
      ptx::mbarrier_init(&empty[s], C::CONSUMERS);  // every consumer thread, once per use
      ptx::mbarrier_init(&landed[s], 1);            // BF16 tiles that need cleaning after the TMA
    }
    ptx::fence_mbarrier_init();
  }
  __syncthreads();

  if (wg == 2) {
    // ---------------- producer warpgroup
    ptx::setmaxnreg_dec<C::template PRODUCER_REGS<FP8>>();
    const int ptid = tid - 256;
    int stage = 0;
    uint32_t phase = 0;
    if constexpr (FP8) {
      const unsigned char *kv = static_cast<const unsigned char *>(p.kv);
      for (int t = 0; t < n_tiles; ++t) {
        const int k0 = key_begin + t * C::BN;
        uint8_t *st = s_kv + stage * C::TILE_BYTES;
        int pages[4];
        chunk_pages(p, r, k0, key_end, lane, pages);  // the table read's latency under the wait below
        ptx::mbarrier_wait_parity(&empty[stage], phase ^ 1);  // a fresh barrier: the first lap waits for nothing
        // 64 rows x 40 units (32 of 16 e4m3 values -> two 16-byte BF16 chunks, 8 RoPE units of 16
        // bytes): 20 units per thread, loaded 10 at a time before any is converted, so that the loads
        // overlap one another (the latency, not the bandwidth, bounds one warpgroup's copy).
        constexpr int kUnits = C::BN * 40 / 128, kBatch = 10;
#pragma unroll 1
        for (int b0 = 0; b0 < kUnits; b0 += kBatch) {
          uint4 v[kBatch];
          float sc[kBatch];
#pragma unroll
          for (int k = 0; k < kBatch; ++k) {
            const int c = ptid + 128 * (b0 + k), row = c / 40, u = c % 40;
            const long long cr = chunk_row(p, kvh, k0, key_end, row, pages);
            v[k] = make_uint4(0, 0, 0, 0);  // unusable keys: zero rows
            sc[k] = 0.f;
            if (cr >= 0) {
              const unsigned char *src = kv + cr * kFp8RowBytes;
              v[k] = __ldg(reinterpret_cast<const uint4 *>(src + (u < 32 ? u * 16 : kVDim + 16 + (u - 32) * 16)));
              if (u < 32) sc[k] = __ldg(reinterpret_cast<const float *>(src + kVDim) + u / 8);
            }
            if (u == 0) s_ok[stage * C::BN + row] = cr >= 0;
          }
#pragma unroll
          for (int k = 0; k < kBatch; ++k) {
            const int c = ptid + 128 * (b0 + k), row = c / 40, u = c % 40;
            if (u < 32) {
              uint4 o[2];
              dequant16(v[k], sc[k], o);
              uint8_t *blk = st + (u >> 2) * C::BLK_BYTES;
              *reinterpret_cast<uint4 *>(blk + swz(row, (u & 3) * 2)) = o[0];
              *reinterpret_cast<uint4 *>(blk + swz(row, (u & 3) * 2 + 1)) = o[1];
            } else {
              *reinterpret_cast<uint4 *>(st + 8 * C::BLK_BYTES + swz(row, u - 32)) = v[k];
            }
          }
        }
        ptx::fence_proxy_async_shared();  // the generic stores above, before wgmma reads them
        ptx::mbarrier_arrive(&full[stage]);
        if (++stage == S) {
          stage = 0;
          phase ^= 1;
        }
      }
    } else {
      if (uniform(ptid / 32) != 0) return;  // one warp moves the BF16 pages
      const bool leader = ptx::elect_one_sync();
      if (leader) ptx::prefetch_tensormap(&tm_kv);
      uint32_t landed_phase = 0;  // bit s: parity of landed[s]'s next phase
      for (int t = 0; t < n_tiles; ++t) {
        const int k0 = key_begin + t * C::BN;
        uint8_t *st = s_kv + stage * C::TILE_BYTES;
        int pages[4];
        chunk_pages(p, r, k0, key_end, lane, pages);  // the table read's latency under the wait below
        ptx::mbarrier_wait_parity(&empty[stage], phase ^ 1);
        // Key usable: below the end and in a loaded chunk. Lane l covers keys l and l + 32.
        const bool ok_lo = k0 + lane < key_end && (lane < 16 ? pages[0] : pages[1]) >= 0;
        const bool ok_hi = k0 + lane + 32 < key_end && (lane < 16 ? pages[2] : pages[3]) >= 0;
        s_ok[stage * C::BN + lane] = ok_lo;
        s_ok[stage * C::BN + lane + 32] = ok_hi;
        const uint32_t bad_lo = __ballot_sync(0xffffffffu, !ok_lo), bad_hi = __ballot_sync(0xffffffffu, !ok_hi);
        const bool dirty = (bad_lo | bad_hi) != 0;
        int n_loaded = 0;
#pragma unroll
        for (int c = 0; c < 4; ++c) n_loaded += pages[c] >= 0;
        __syncwarp();  // the flags above before the leader's arrival publishes them
        uint64_t *bar = dirty ? &landed[stage] : &full[stage];
        if (leader && n_loaded > 0) {
          ptx::mbarrier_arrive_expect_tx(bar, n_loaded * C::CHUNK_TX);
#pragma unroll
          for (int c = 0; c < 4; ++c) {
            if (pages[c] < 0) continue;
            const int row0 = pages[c] * p.page_size + (k0 + c * C::CHUNK) % p.page_size;
#pragma unroll
            for (int b = 0; b < C::KBLK; ++b)
              ptx::tma_load_3d(st + b * C::BLK_BYTES + c * C::BOX_BYTES, &tm_kv, bar, 64 * b, kvh, row0);
          }
        }
        if (dirty) {
          if (n_loaded > 0) {
            ptx::mbarrier_wait_parity(&landed[stage], (landed_phase >> stage) & 1);
            landed_phase ^= 1u << stage;
          }
          // Zero the unusable rows (all 576 dims: rows never loaded must not be read uninitialised).
          for (int row = 0; row < C::BN; ++row) {
            if (!(((row < 32 ? bad_lo : bad_hi) >> (row & 31)) & 1)) continue;
            for (int i = lane; i < C::KBLK * 8; i += 32)
              *reinterpret_cast<uint4 *>(st + (i >> 3) * C::BLK_BYTES + row * 128 + (i & 7) * 16) =
                  make_uint4(0, 0, 0, 0);
          }
          ptx::fence_proxy_async_shared();
          __syncwarp();
          if (leader) ptx::mbarrier_arrive(&full[stage]);
        }  // a clean tile loaded all 4 chunks onto full[stage]
        if (++stage == S) {
          stage = 0;
          phase ^= 1;
        }
      }
    }
    return;
  }

  // ---------------- consumer warpgroups 0 and 1
  ptx::setmaxnreg_inc<C::template CONSUMER_REGS<FP8>>();
  const int wtid = tid - wg * 128, wwarp = wtid >> 5;
  const int r_lo = wwarp * 16 + (lane >> 2), r_hi = r_lo + 8;  // this thread's two rows
  const int t4 = lane & 3;
  constexpr int kBarConsumers = 1;  // named barrier of the 256 consumer threads
  constexpr int kBarTile = 2;       // + (t & 1): tile t's softmax published (its owner arrives, the other syncs)
  constexpr int kBarOwnWg = 4;      // + wg: this WG's 128 threads (its P complete before its own P.V reads it)
  float *s_mx = reinterpret_cast<float *>(smem + C::MX_OFF);
  float *s_al = reinterpret_cast<float *>(smem + C::AL_OFF);

  // Q rows (zero for padding rows) into the swizzled Q tile: 64 rows x 72 chunks of 16 bytes.
  {
    const __nv_bfloat16 *q = static_cast<const __nv_bfloat16 *>(p.q);
    for (int c = tid; c < C::M * (kHeadDim / 8); c += C::CONSUMERS) {
      const int row = c / (kHeadDim / 8), ch = c % (kHeadDim / 8);
      const int m = mt * C::M + row;
      const __nv_bfloat16 *src = q;
      if (m < p.m_rows) {
        const int i = m / p.h_per_kv, h = kvh * p.h_per_kv + m % p.h_per_kv;
        src = q + (((long long)r * p.s_q + i) * p.h_q + h) * kHeadDim + ch * 8;
      }
      ptx::cp_async_16(s_q + (ch >> 3) * C::BLK_BYTES + swz(row, ch & 7), src, m < p.m_rows ? 16 : 0);
    }
    ptx::cp_async_commit();
    ptx::cp_async_wait<0>();
    ptx::fence_proxy_async_shared();
    ptx::named_barrier_sync(kBarConsumers, C::CONSUMERS);
  }

  // Visible keys of this thread's rows: end-aligned causal for sQ > 1; padding rows see nothing.
  int lim[2];
#pragma unroll
  for (int hf = 0; hf < 2; ++hf) {
    const int m = mt * C::M + (hf ? r_hi : r_lo);
    int l = 0;
    if (m < p.m_rows) {
      const int i = m / p.h_per_kv;
      l = (p.causal && p.s_q > 1) ? max(0, seqlen - (p.s_q - 1 - i)) : seqlen;
    }
    lim[hf] = min(l, key_end);
  }

  // Softmax state of the two rows (log2 domain). m_run is the running maximum over every tile so
  // far (both WGs hold the same one after each hand-off); l_half sums the P of this WG's own tiles
  // only, rescaled by every tile's alpha.
  float m_run[2] = {-CUDART_INF_F, -CUDART_INF_F}, l_half[2] = {0.f, 0.f};
  float o[128];
#pragma unroll
  for (int i = 0; i < 128; ++i) o[i] = 0.f;
  float sacc[32], psum_own[2];

  // S = Q . K(tile t)^T, 64 x 64 over 576 dims, issued and committed (not waited).
  auto issue_scores = [&](int t) {
    ptx::mbarrier_wait_parity(&full[t % S], (t / S) & 1);
    ptx::wgmma_fence_operand(sacc);
    ptx::wgmma_fence();
    qk(sacc, s_q, s_kv + (t % S) * C::TILE_BYTES);
    ptx::wgmma_commit_group();
  };
  // O = O * alpha (rows), and the same for this WG's row sums. Skipped when neither row's maximum
  // moved (alpha = 1 exactly: same result).
  auto rescale = [&](const float (&alpha)[2]) {
    if (alpha[0] != 1.f || alpha[1] != 1.f) {
#pragma unroll
      for (int i = 0; i < 128; ++i) o[i] *= alpha[(i >> 1) & 1];
    }
    l_half[0] *= alpha[0];
    l_half[1] *= alpha[1];
  };
  // O[:, 256 wg .. + 256) += P(t) . V(t), issued and committed (not waited). P(t) lies in tile t's
  // RoPE block (dims 512..575: read by tile t's S only, never by P.V).
  auto issue_pv = [&](int t) {
    const uint8_t *st = s_kv + (t % S) * C::TILE_BYTES;
    ptx::wgmma_fence_operand(o);
    ptx::wgmma_fence();
    pv(o, st + 8 * C::BLK_BYTES, st + wg * 4 * C::BLK_BYTES);
    ptx::wgmma_commit_group();
  };
  // The other WG's tile x: its running maximum and alpha, once its owner has published them (and
  // its P). The caller first waits for the tile's full barrier (orders this WG after its TMA/dequant
  // writes), outside any wgmma's wait: a spin loop there makes ptxas serialise every wgmma (C7514).
  auto take_other = [&](int x, float (&alpha)[2]) {
    ptx::named_barrier_sync(kBarTile + (x & 1), C::CONSUMERS);
    const float *mx = s_mx + (x & 1) * C::M, *al = s_al + (x & 1) * C::M;
    m_run[0] = mx[r_lo];
    m_run[1] = mx[r_hi];
    alpha[0] = al[r_lo];
    alpha[1] = al[r_hi];
  };
  // Online softmax of this WG's own tile t (S in sacc, complete): P (BF16) into the tile's RoPE
  // block, the new maximum and alpha published for the other WG, then the hand-off barrier.
  auto softmax_own = [&](int t, float (&alpha)[2]) {
    const int *ok = s_ok + (t % S) * C::BN;
    const int k0 = key_begin + t * C::BN;
    uint8_t *s_p = s_kv + (t % S) * C::TILE_BYTES + 8 * C::BLK_BYTES;
    // sacc[i]: row (i & 2 ? r_hi : r_lo), key 8 (i / 4) + 2 t4 + (i & 1). Masked keys: -inf.
    float tmax[2] = {-CUDART_INF_F, -CUDART_INF_F};
#pragma unroll
    for (int i = 0; i < 32; ++i) {
      const int hf = (i >> 1) & 1;
      const int col = 8 * (i >> 2) + 2 * t4 + (i & 1);
      const bool vis = (k0 + col) < lim[hf] && ok[col];
      sacc[i] = vis ? sacc[i] * p.scale_log2 : -CUDART_INF_F;
      tmax[hf] = fmaxf(tmax[hf], sacc[i]);
    }
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      tmax[hf] = fmaxf(tmax[hf], __shfl_xor_sync(0xffffffffu, tmax[hf], 1));
      tmax[hf] = fmaxf(tmax[hf], __shfl_xor_sync(0xffffffffu, tmax[hf], 2));
      const float m_new = fmaxf(m_run[hf], tmax[hf]);
      alpha[hf] = m_new == -CUDART_INF_F ? 1.f : exp2f(m_run[hf] - m_new);
      m_run[hf] = m_new;
    }
    float psum[2] = {0.f, 0.f};
#pragma unroll
    for (int j = 0; j < 8; ++j) {
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        const float s0 = sacc[4 * j + 2 * hf], s1 = sacc[4 * j + 2 * hf + 1];
        const float p0 = s0 == -CUDART_INF_F ? 0.f : exp2f(s0 - m_run[hf]);
        const float p1 = s1 == -CUDART_INF_F ? 0.f : exp2f(s1 - m_run[hf]);
        psum[hf] += p0 + p1;
        const int row = hf ? r_hi : r_lo;
        *reinterpret_cast<__nv_bfloat162 *>(s_p + swz(row, j) + 4 * t4) = __floats2bfloat162_rn(p0, p1);
      }
    }
    if (t4 == 0) {
      s_mx[wg * C::M + r_lo] = m_run[0];
      s_mx[wg * C::M + r_hi] = m_run[1];
      s_al[wg * C::M + r_lo] = alpha[0];
      s_al[wg * C::M + r_hi] = alpha[1];
    }
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      psum[hf] += __shfl_xor_sync(0xffffffffu, psum[hf], 1);
      psum[hf] += __shfl_xor_sync(0xffffffffu, psum[hf], 2);
      psum_own[hf] = psum[hf];
    }
    ptx::fence_proxy_async_shared();  // this thread's P stores, before wgmma (both WGs) reads them
    ptx::named_barrier_arrive(kBarTile + (t & 1), C::CONSUMERS);
  };
  // Ping-pong over tiles: WG w owns the tiles t = w (mod 2) (their S at N = 64 and their softmax);
  // both WGs do P.V of every tile on their half of O. Tile t's softmax needs tile t-1's maximum (the
  // other WG's), so the hand-offs alternate; each WG issues its next S before waiting for the
  // other's hand-off and runs its softmax while P.V(t-1) is in flight, so a softmax sits under wgmma
  // work (its own WG's P.V and the other WG's S or P.V). Each accumulator is waited within the
  // iteration that issues it, and no spin loop (mbarrier wait) sits between an S and its wait:
  // either makes ptxas serialise every wgmma (C7515 / C7514).
  float a_x[2], a_o[2];
  if (wg == 0 && n_tiles > 0) {  // tile 0: nothing before it to hand off
    issue_scores(0);
    ptx::wgmma_wait_group<0>();
    ptx::wgmma_fence_operand(sacc);
    softmax_own(0, a_o);
    ptx::named_barrier_sync(kBarOwnWg + wg, 128);
    rescale(a_o);
    l_half[0] += psum_own[0];
    l_half[1] += psum_own[1];
    issue_pv(0);
    ptx::wgmma_wait_group<0>();
    ptx::wgmma_fence_operand(o);
    ptx::mbarrier_arrive(&empty[0]);
  }
  int t = wg == 0 ? 2 : 1;
  for (; t < n_tiles; t += 2) {
    ptx::mbarrier_wait_parity(&full[(t - 1) % S], ((t - 1) / S) & 1);
    issue_scores(t);
    take_other(t - 1, a_x);
    ptx::wgmma_wait_group<0>();
    ptx::wgmma_fence_operand(sacc);
    rescale(a_x);
    issue_pv(t - 1);
    softmax_own(t, a_o);  // under P.V(t-1) (this WG's and the other's); reads S, never O
    ptx::wgmma_wait_group<0>();
    ptx::wgmma_fence_operand(o);
    ptx::mbarrier_arrive(&empty[(t - 1) % S]);  // done with tile t-1's stage (V and its P)
    ptx::named_barrier_sync(kBarOwnWg + wg, 128);
    rescale(a_o);
    l_half[0] += psum_own[0];
    l_half[1] += psum_own[1];
    issue_pv(t);
    ptx::wgmma_wait_group<0>();
    ptx::wgmma_fence_operand(o);
    ptx::mbarrier_arrive(&empty[t % S]);
  }
  if (t - 1 < n_tiles) {  // the other WG's last tile
    ptx::mbarrier_wait_parity(&full[(t - 1) % S], ((t - 1) / S) & 1);
    take_other(t - 1, a_x);
    rescale(a_x);
    issue_pv(t - 1);
    ptx::wgmma_wait_group<0>();
    ptx::wgmma_fence_operand(o);
    ptx::mbarrier_arrive(&empty[(t - 1) % S]);
  }

  // Row sums: this WG's half plus the other's, added in the same order by both WGs.
  if (t4 == 0) {
    s_lsum[wg * C::M + r_lo] = l_half[0];
    s_lsum[wg * C::M + r_hi] = l_half[1];
  }
  ptx::named_barrier_sync(kBarConsumers, C::CONSUMERS);

  // Epilogue: requests with one split write out/lse directly, the others their partial slot.
  const bool direct = p.num_splits[r] == 1;
  const int rows_q = p.s_q * p.h_q;
#pragma unroll
  for (int hf = 0; hf < 2; ++hf) {
    const int rl = hf ? r_hi : r_lo;
    const int m = mt * C::M + rl;
    if (m >= p.m_rows) continue;
    const int i = m / p.h_per_kv, h = kvh * p.h_per_kv + m % p.h_per_kv;
    const float l = s_lsum[rl] + s_lsum[C::M + rl];
    const float inv = l > 0.f ? 1.f / l : 0.f;
    const int cbase = wg * 256 + 2 * t4;
    if (direct) {
      __nv_bfloat16 *out = static_cast<__nv_bfloat16 *>(p.out) + (((long long)r * p.s_q + i) * p.h_q + h) * kVDim;
#pragma unroll
      for (int j = 0; j < 32; ++j)
        *reinterpret_cast<__nv_bfloat162 *>(out + cbase + 8 * j) =
            __floats2bfloat162_rn(o[4 * j + 2 * hf] * inv, o[4 * j + 2 * hf + 1] * inv);
    } else {
      float *oa = p.o_accum + ((long long)w.slot * rows_q + (long long)i * p.h_q + h) * kVDim;
#pragma unroll
      for (int j = 0; j < 32; ++j)
        *reinterpret_cast<float2 *>(oa + cbase + 8 * j) =
            make_float2(o[4 * j + 2 * hf] * inv, o[4 * j + 2 * hf + 1] * inv);
    }
    if (wg == 0 && t4 == 0) {
      const float lse = l > 0.f ? (m_run[hf] + log2f(l)) * 0.69314718055994531f : 0.f;
      if (direct)
        p.lse[((long long)r * p.h_q + h) * p.s_q + i] = l > 0.f ? lse : CUDART_INF_F;
      else
        p.lse_accum[(long long)w.slot * rows_q + (long long)i * p.h_q + h] = l > 0.f ? lse : -CUDART_INF_F;
    }
  }
#endif
}

}  // namespace k4j::kernels::mla
