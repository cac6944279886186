// Hopper (sm_90a) FP8 block-scaled GEMM: D = C + A * B^T with DeepGEMM's per-128-K promotion
// (docs/CONTRACT.md section 2), same numerics as the portable family (fp8_gemm_mma.cuh).
//
// Persistent, warp-specialised CTA (WgmmaTile in fp8_gemm_wgmma_config.cuh):
//  - the producer warp (last warpgroup, registers given back with setmaxnreg) walks the tile sequence
//    (WgmmaScheduler) and, per k-block, waits for a free stage (its `empty` mbarrier), then TMA-loads
//    A [BM x 128], B [BN x 128] (K-major, 128-byte swizzle, zero-filled past M/N/K) and the k-block's
//    A scales [BM] into it, completing on the stage's `full` mbarrier (expect-tx byte count);
//  - each consumer warpgroup (64 rows) walks the same sequence; per k-block it waits for `full`,
//    multiplies its 64 rows by all BN columns with up to four wgmma m64nBNk32 e4m3 (A and B from
//    shared-memory descriptors) into a fresh FP32 partial, waits for them, frees the stage, and
//    promotes: acc += partial * (sa[row, kb] * sb[n / 128, kb]) in registers (a BN that does not
//    divide 128 can put a scale-block boundary of N inside the tile: the 8-column groups on either
//    side take their own B scale);
//  - after the last k-block, the epilogue (fp8_gemm_wgmma_epilogue.cuh) writes D through shared memory.
// A grouped tile holding rows of several experts takes one pass over K per expert (the scheduler's
// passes), as in the portable family.
//
// CLUSTER = 2 (dense form; PTX ISA "cp.async.bulk.tensor" .multicast::cluster, "mbarrier.arrive"
// .shared::cluster, "barrier.cluster"): the two CTAs of a cluster compute vertically adjacent tiles
// (rows m0 and m0 + BM, the same BN columns; the scheduler pairs them) and share their B tile: each
// producer loads half of it (BN / 2 rows) and multicasts it into both CTAs, so each `full` barrier
// still receives one A, one whole B and one scale box. A stage is then written by both producers, so
// its `empty` barrier counts this CTA's consumer threads and one arrival per consumer warp of the peer
// (a remote arrive after the warp's wgmmas on the stage completed). The barriers are initialised
// before the cluster barrier that precedes any remote use, and no CTA exits before a closing cluster
// barrier (the peer may still arrive on its barriers). The odd last row tile leaves rank 1 a tile past
// M: it runs it (zero-filled A, its half of B still needed by rank 0) and stores nothing.
#pragma once
#include <stdint.h>

#include "common/device_errors.cuh"
#include "common/ptx.cuh"
#include "common/shared_memory.cuh"
#include "gemm/fp8_gemm_params.cuh"
#include "gemm/fp8_gemm_wgmma_config.cuh"
#include "gemm/fp8_gemm_wgmma_epilogue.cuh"
#include "gemm/fp8_gemm_wgmma_scheduler.cuh"
#include "kernels4j.h"

namespace k4j::kernels::gemm {

// Register budgets after setmaxnreg: the producer needs few; the consumers hold two BN/2 FP32 arrays
// (partial and result) besides the pipeline state. Two consumer warpgroups: 40 * 128 + 232 * 256 =
// 64512 of the 65536 registers (DeepGEMM's split); one: up to the 255-register ceiling of a thread.
constexpr int kProducerRegs = 40;
template <int WGS>
constexpr int kConsumerRegs = WGS == 2 ? 232 : 248;

// STEPS k32 steps of one k-block into a fresh partial: K-major, 128-byte swizzle (rows of 128 bytes,
// 8-row groups 1024 bytes apart = SBO); a k32 step is a 32-byte advance of the start address inside
// the swizzled row (the hardware applies the swizzle to the computed addresses).
template <int BN, int STEPS>
__device__ __forceinline__ void wgmma_k_steps(float (&part)[BN / 2], const uint8_t *s_a, const uint8_t *s_b) {
#pragma unroll
  for (int ks = 0; ks < STEPS; ++ks) {
    const uint64_t da = ptx::wgmma_desc(s_a + ks * 32, 128, 0, 1024);
    const uint64_t db = ptx::wgmma_desc(s_b + ks * 32, 128, 0, 1024);
    ptx::wgmma_e4m3_m64k32<BN>(part, da, db, ks > 0 ? 1 : 0);
  }
}

// The tensor maps of one launch (built by native/src/gemm_fp8_wgmma.cu):
//  tm_a  e4m3 3D (k, rows, problems): box (128, BM, 1), 128-byte swizzle. Problems = G (masked) or 1.
//  tm_b  e4m3 3D (k, n, G): box (128, BN, 1), 128-byte swizzle.
//  tm_sa FP32 3D (sa_ld, ceil(k/128), problems): box (BM, 1, 1), no swizzle.
//  tm_d  BF16/FP32 2D (n, all rows of D): box (128 bytes of columns, 64), 128-byte swizzle.
template <class T, GemmMode MODE, int CLUSTER = 1>
__global__ void __launch_bounds__(T::kThreads, 1)
    fp8_gemm_wgmma_kernel(const GemmParams p, const __grid_constant__ CUtensorMap tm_a,
                          const __grid_constant__ CUtensorMap tm_b, const __grid_constant__ CUtensorMap tm_sa,
                          const __grid_constant__ CUtensorMap tm_d) {
#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL) && !defined(K4J_EMULATOR)
  // Device passes other than sm_90a (sm_80, sm_89, compute_90 PTX): the plan never launches this
  // kernel there (wgmma and setmaxnreg exist only in sm_90a), so it compiles to a trap.
  __trap();
#else
  constexpr int BM = T::BM, BN = T::BN, S = T::kStages;
  static_assert(CLUSTER == 1 || (CLUSTER == 2 && MODE == GemmMode::kDense), "clusters: 2 CTAs, dense form");
  K4J_DYNAMIC_SMEM(uint8_t, smem_raw, 1024);
  uint8_t *smem = reinterpret_cast<uint8_t *>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  uint64_t *full = reinterpret_cast<uint64_t *>(smem + T::kOffBar);
  uint64_t *empty = full + S;

  const int tid = threadIdx.x;
  // Warp-uniform in ptxas's eyes (a shuffle from lane 0): the role branches then do not count as
  // divergent paths, around which ptxas serialises the wgmmas.
  const int wg = warp_uniform(tid / 128);
  const int kb_count = (p.k + T::BK - 1) / T::BK;

  if (tid == 0) {
    for (int s = 0; s < S; ++s) {
      ptx::mbarrier_init(&full[s], 1);                        // the producer's arrive.expect_tx
      // every consumer thread, once per use (CLUSTER 2: and each consumer warp of the peer)
      ptx::mbarrier_init(&empty[s], T::kConsumerThreads + (CLUSTER - 1) * T::kConsumerThreads / 32);
    }
    ptx::fence_mbarrier_init();
  }
  wgmma_check_tables<MODE>(p, tid, T::kThreads);
  // CLUSTER 2: the peer's barriers are initialised before this CTA's first multicast / remote arrive.
  if constexpr (CLUSTER > 1) ptx::cluster_sync();
  else __syncthreads();
  const uint32_t rank = CLUSTER > 1 ? ptx::cluster_ctarank() : 0;

  if (wg == T::kWGs) {
    // ---------------- producer warpgroup: one warp issues the loads, the others leave.
    ptx::setmaxnreg_dec<kProducerRegs>();
    if (warp_uniform(tid / 32) != T::kWGs * 4) return;
    WgmmaScheduler<BM, BN, MODE, CLUSTER> sched(p);
    WgmmaTileCoord tile;
    WgmmaPass ps;
    const bool leader = ptx::elect_one_sync();
    if (leader) {
      ptx::prefetch_tensormap(&tm_a);
      ptx::prefetch_tensormap(&tm_b);
      ptx::prefetch_tensormap(&tm_sa);
    }
    int stage = 0;
    uint32_t phase = 0;
    while (sched.next_work(tile, ps)) {
      const int a_problem = MODE == GemmMode::kMasked ? tile.group : 0;
      for (int kb = 0; kb < kb_count; ++kb) {
        // A fresh barrier counts as having completed the phase before phase 0: the first lap
        // through the ring waits for nothing.
        ptx::mbarrier_wait_parity(&empty[stage], phase ^ 1);
        if (leader) {
          ptx::mbarrier_arrive_expect_tx(&full[stage], T::kTxBytes);
          ptx::tma_load_3d(smem + T::kOffA + stage * T::kABytes, &tm_a, &full[stage], kb * T::BK, tile.m0,
                           a_problem);
          if constexpr (CLUSTER > 1)  // this CTA's half of the shared B tile, into both CTAs
            ptx::tma_load_3d_multicast(smem + T::kOffB + stage * T::kBBytes + rank * (T::kBBytes / 2), &tm_b,
                                       &full[stage], 0x3, kb * T::BK, tile.n0 + (int)rank * (BN / 2), ps.group);
          else
            ptx::tma_load_3d(smem + T::kOffB + stage * T::kBBytes, &tm_b, &full[stage], kb * T::BK, tile.n0,
                             ps.group);
          ptx::tma_load_3d(smem + T::kOffSa + stage * T::kSaBytes, &tm_sa, &full[stage], tile.m0, kb, a_problem);
        }
        __syncwarp();
        if (++stage == S) {
          stage = 0;
          phase ^= 1;
        }
      }
    }
    if constexpr (CLUSTER > 1) ptx::cluster_sync();  // the closing cluster barrier (see the top)
    return;
  }

  // ---------------- consumer warpgroups: rows [64 * wg, 64 * wg + 64) of each tile.
  ptx::setmaxnreg_inc<kConsumerRegs<T::kWGs>>();
  WgmmaScheduler<BM, BN, MODE, CLUSTER> sched(p);
  WgmmaTileCoord tile;
  WgmmaPass ps;
  const int wtid = tid - wg * 128, lane = tid & 31, wwarp = wtid >> 5;
  const int nb_count = (p.n + 127) / 128;
  uint8_t *s_d = smem + T::kOffD + wg * T::kDBytesPerWG;
  uint8_t *s_row_ok = smem + T::kOffFlags + wg * 64;
  int *s_vote = reinterpret_cast<int *>(smem + T::kOffFlags + BM) + 4 * wg;
  const int bar_id = 1 + wg;  // named barrier of this warpgroup (0 is __syncthreads)
  bool tma_pending = false;
  // This thread's two accumulator rows within the warpgroup's 64.
  const int r_lo = wwarp * 16 + (lane >> 2);

  int stage = 0;
  uint32_t phase = 0;
  while (sched.next_work(tile, ps)) {
    const int row0 = tile.m0 + wg * 64;
    // The tile's columns [n0, n0 + BN) meet scale blocks nb0 and (when it straddles) nb0 + 1: the
    // first `former` 8-column groups lie in nb0. Past N the columns are never stored, so the second
    // block is clamped to the last one.
    // A BN that divides 128 never straddles: compile-time, so those tiles hold no second scale.
    constexpr bool kStraddles = 128 % BN != 0;
    const int nb0 = tile.n0 / 128, nb1 = kStraddles ? min((tile.n0 + BN - 1) / 128, nb_count - 1) : nb0;
    const int former = !kStraddles || (nb0 + 1) * 128 - tile.n0 >= BN ? BN / 8 : ((nb0 + 1) * 128 - tile.n0) / 8;
    const float *sb0 = p.sb + ((int64_t)ps.group * nb_count + nb0) * kb_count;
    const float *sb1 = p.sb + ((int64_t)ps.group * nb_count + nb1) * kb_count;
    float acc[BN / 2];
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) acc[i] = 0.f;

    for (int kb = 0; kb < kb_count; ++kb) {
      // Issued before the wait: their latency hides there (sb1 = sb0 when the tile does not straddle).
      const float scale_b0 = __ldg(sb0 + kb), scale_b1 = kStraddles ? __ldg(sb1 + kb) : scale_b0;
      ptx::mbarrier_wait_parity(&full[stage], phase);
      const float *s_sa = reinterpret_cast<const float *>(smem + T::kOffSa + stage * T::kSaBytes);
      const float sa_lo = s_sa[wg * 64 + r_lo], sa_hi = s_sa[wg * 64 + r_lo + 8];

      const uint8_t *s_a = smem + T::kOffA + stage * T::kABytes + wg * 64 * T::BK;
      const uint8_t *s_b = smem + T::kOffB + stage * T::kBBytes;
      float part[BN / 2];
      ptx::wgmma_fence_operand(part);
      ptx::wgmma_fence();
      // Past K the tile is TMA zero-fill; the portable family skips those k32 steps too, so the
      // tensor-core sums are the same. Step counts are compile-time in each branch (a run-time
      // bound inside the wgmma sequence makes ptxas serialise it and spill).
      const int k_left = warp_uniform(p.k - kb * T::BK);  // < 128 only in the last k-block
      if (k_left > 96) wgmma_k_steps<BN, 4>(part, s_a, s_b);
      else if (k_left > 64) wgmma_k_steps<BN, 3>(part, s_a, s_b);
      else if (k_left > 32) wgmma_k_steps<BN, 2>(part, s_a, s_b);
      else wgmma_k_steps<BN, 1>(part, s_a, s_b);
      ptx::wgmma_commit_group();
      ptx::wgmma_wait_group<0>();
      ptx::wgmma_fence_operand(part);
      ptx::mbarrier_arrive(&empty[stage]);  // this thread is done with the stage (A, B and scales)
      if constexpr (CLUSTER > 1) {
        // The peer's producer also writes this stage (its half of B): once per warp, after every lane
        // of the warp is done with it.
        __syncwarp();
        if (lane == 0) ptx::mbarrier_arrive_cluster(&empty[stage], rank ^ 1);
      }

      // Promotion of this k-block into the FP32 result (docs/CONTRACT.md section 2: once per 128 of K).
      // The products are formed as before: sa * sb, then the partial times that.
      const float lo0 = sa_lo * scale_b0, hi0 = sa_hi * scale_b0, lo1 = sa_lo * scale_b1, hi1 = sa_hi * scale_b1;
#pragma unroll
      for (int j = 0; j < BN / 8; ++j) {
        const bool first = j < former;  // 8-column group j: columns n0 + 8j ... n0 + 8j + 7
        const float lo = first ? lo0 : lo1, hi = first ? hi0 : hi1;
        acc[4 * j + 0] += part[4 * j + 0] * lo;
        acc[4 * j + 1] += part[4 * j + 1] * lo;
        acc[4 * j + 2] += part[4 * j + 2] * hi;
        acc[4 * j + 3] += part[4 * j + 3] * hi;
      }
      if (++stage == S) {
        stage = 0;
        phase ^= 1;
      }
    }

    WgmmaEpilogueArgs e;
    e.c = p.c;
    e.d = p.d;
    e.d_fp32 = p.d_fp32;
    e.n = p.n;
    e.d_row0 = MODE == GemmMode::kMasked ? (int64_t)tile.group * p.m : 0;
    e.d_map_rows = MODE == GemmMode::kMasked ? (int64_t)p.groups * p.m : (int64_t)p.m;
    e.row0 = row0;
    e.n0 = tile.n0;
    e.tma_row0 = (int)(e.d_row0 + row0);
    const WgmmaPass pass = ps;
    auto store_row = [&](int r) {
      const int row = row0 + r;
      bool ok = row >= pass.lo && row < pass.hi;
      if constexpr (MODE == GemmMode::kContiguous) ok = ok && __ldg(p.m_indices + row) == pass.group;
      return ok;
    };
    wgmma_epilogue<BN>(acc, e, store_row, &tm_d, s_d, s_row_ok, s_vote, wtid, bar_id, tma_pending);
  }
  // The staging area must stay valid until the last TMA store has read it.
  if (wtid == 0 && tma_pending) ptx::tma_store_wait<0>();
  if constexpr (CLUSTER > 1) ptx::cluster_sync();  // the closing cluster barrier (see the top)
#endif
}

}  // namespace k4j::kernels::gemm
