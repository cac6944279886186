// Tile shape and shared-memory map of the Hopper FP8 GEMM family (fp8_gemm_wgmma.cuh), visible to the
// host launcher (threads, shared-memory bytes, tensor-map boxes) and to the kernel (offsets).
//
// One CTA = one producer warpgroup (one warp issues the TMA loads) + kWGs consumer warpgroups, each
// owning 64 rows of the BM = 64 * kWGs row tile and all BN columns. One pipeline stage holds one
// 128-wide k-block (= one scale block of K) of A [BM x 128 B], B [BN x 128 B] (both K-major, 128-byte
// TMA swizzle, the layout wgmma's descriptors read) and the k-block's A scales [BM floats].
//
// BN need not divide 128 (the plan picks it per shape to fill the SMs): such a tile can straddle two
// 128-wide scale blocks of N, and the consumer then promotes the columns on either side of the block
// boundary with their own B scale (fp8_gemm_wgmma.cuh; BN 48 does, BN 16 and 32 never do). The stage
// count is the most that fits, capped.
#pragma once
#include <stdint.h>

namespace k4j::kernels::gemm {

// Shared memory an sm_90 block can opt in to (cudaDevAttrMaxSharedMemoryPerBlockOptin: 227 KB).
constexpr int kWgmmaSmemLimit = 232448;

template <int WGS, int BN_>
struct WgmmaTile {
  static constexpr int kWGs = WGS;            // consumer warpgroups
  static constexpr int BM = 64 * WGS;
  static constexpr int BN = BN_;
  static constexpr int BK = 128;              // one scale block of K per stage
  static_assert(WGS == 1 || WGS == 2, "BM: 64 or 128 rows");
  // The 128-byte swizzle repeats every 8 rows of B; wgmma's N is a multiple of 8 up to 256, and the
  // consumer's two FP32 arrays of BN / 2 registers (partial and result) must leave room for the rest
  // (BN <= 160: ptx report in bench/NOTES.md). A tile meets at most two scale blocks of N.
  // Below 64 only for BM 64 (decode: narrow tiles put more SMs on streaming B; a BM 128 tile that
  // narrow would reload A for too few columns). wgmma has n16, n32, n48 like the wider N.
  static_assert(BN_ % 8 == 0 && BN_ >= 16 && BN_ <= 160, "BN: a multiple of 8 in [16, 160]");
  static_assert(BN_ >= 64 || WGS == 1, "BN below 64: BM 64 tiles only");
  static constexpr int kThreads = (WGS + 1) * 128;
  static constexpr int kConsumerThreads = WGS * 128;

  static constexpr int kABytes = BM * BK;    // per stage
  static constexpr int kBBytes = BN * BK;
  static constexpr int kSaBytes = BM * 4;
  static constexpr int kTxBytes = kABytes + kBBytes + kSaBytes;  // what the stage's full barrier expects

  // D staging for the epilogue, per consumer warpgroup: 64 rows x BN columns in 128-byte-wide column
  // boxes (the TMA store box; 128-byte swizzle), sized for FP32 D (BF16 uses half of it). A partial
  // last box still takes a whole one: the swizzle spreads a row's 16-byte chunks over all 128 bytes.
  static constexpr int kDBoxBytes = 64 * 128;
  static constexpr int kDBytesPerWG = (BN * 4 + 127) / 128 * kDBoxBytes;

  // Stages: as many as fit beside the staging, scales, barriers and flags, at most 6 (the BM 64 tile's
  // depth before tiles were chosen per shape; BM 128 x BN 128 still gets its 4). The narrow decode
  // tiles (BN < 64) move only 10-14 KB a stage and are bound by how many bytes each SM keeps in
  // flight: up to 8 stages.
  static constexpr int kMaxStages = BN_ < 64 ? 8 : 6;
  static constexpr int kStageBytes = kABytes + kBBytes + kSaBytes + 16;  // + its two barriers
  static constexpr int kFixedBytes = 1024 + WGS * kDBytesPerWG + BM + 4 * WGS * 4;
  static constexpr int kStages = (kWgmmaSmemLimit - kFixedBytes) / kStageBytes < kMaxStages
                                     ? (kWgmmaSmemLimit - kFixedBytes) / kStageBytes
                                     : kMaxStages;
  static_assert(kStages >= 2, "shared memory: fewer than two stages fit");

  // Offsets from a 1024-byte aligned base (the 128-byte swizzle pattern repeats every 1024 bytes, and
  // the swizzled tiles start on such a boundary so that TMA and wgmma agree on it).
  static constexpr int kOffA = 0;
  static constexpr int kOffB = kOffA + kStages * kABytes;
  static constexpr int kOffD = kOffB + kStages * kBBytes;
  static constexpr int kOffSa = kOffD + WGS * kDBytesPerWG;
  static constexpr int kOffBar = kOffSa + kStages * kSaBytes;  // full[kStages], empty[kStages]
  static constexpr int kOffFlags = kOffBar + 2 * kStages * 8;  // epilogue row flags + warp votes
  static constexpr int kFlagBytes = BM + 4 * WGS * 4;
  static constexpr int kSmemBytes = 1024 /* alignment slack */ + kOffFlags + kFlagBytes;
  static_assert(kABytes % 1024 == 0 && kBBytes % 1024 == 0 && kDBytesPerWG % 1024 == 0, "1024-byte tiles");
  static_assert(kSaBytes % 128 == 0, "TMA destinations are 128-byte aligned");
  static_assert(kSmemBytes <= kWgmmaSmemLimit, "shared memory: over the 227 KB an sm_90 block can have");
};

}  // namespace k4j::kernels::gemm
