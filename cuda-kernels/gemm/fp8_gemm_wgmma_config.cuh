// Tile shape and shared-memory map of the Hopper FP8 GEMM family (fp8_gemm_wgmma.cuh), visible to the
// host launcher (threads, shared-memory bytes, tensor-map boxes) and to the kernel (offsets).
//
// One CTA = one producer warpgroup (one warp issues the TMA loads) + kWGs consumer warpgroups, each
// owning 64 rows of the BM = 64 * kWGs row tile and all BN columns. One pipeline stage holds one
// 128-wide k-block (= one scale block of K) of A [BM x 128 B], B [BN x 128 B] (both K-major, 128-byte
// TMA swizzle, the layout wgmma's descriptors read) and the k-block's A scales [BM floats].
#pragma once
#include <stdint.h>

namespace k4j::kernels::gemm {

template <int WGS, int BN_, int STAGES>
struct WgmmaTile {
  static constexpr int kWGs = WGS;            // consumer warpgroups
  static constexpr int BM = 64 * WGS;
  static constexpr int BN = BN_;
  static constexpr int BK = 128;              // one scale block of K per stage
  static constexpr int kStages = STAGES;
  static_assert(WGS == 1 || WGS == 2, "BM: 64 or 128 rows");
  // A tile must not straddle two 128-wide scale blocks of N (one B scale per k-block), and the
  // 128-byte swizzle repeats every 8 rows.
  static_assert(BN_ % 8 == 0 && 128 % BN_ == 0 && BN_ >= 64, "BN: 64 or 128");
  static constexpr int kThreads = (WGS + 1) * 128;
  static constexpr int kConsumerThreads = WGS * 128;

  static constexpr int kABytes = BM * BK;    // per stage
  static constexpr int kBBytes = BN * BK;
  static constexpr int kSaBytes = BM * 4;
  static constexpr int kTxBytes = kABytes + kBBytes + kSaBytes;  // what the stage's full barrier expects

  // D staging for the epilogue, per consumer warpgroup: 64 rows x BN columns in 128-byte-wide column
  // boxes (the TMA store box; 128-byte swizzle), sized for FP32 D (BF16 uses half of it).
  static constexpr int kDBoxBytes = 64 * 128;
  static constexpr int kDBytesPerWG = 64 * BN * 4;

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
  static_assert(kSmemBytes <= 232448, "shared memory: over the 227 KB an sm_90 block can have");
};

// The configurations the plan can choose (native/src/gemm_fp8_wgmma.cu instantiates exactly these).
using WgmmaTile128 = WgmmaTile<2, 128, 4>;  // BM 128: prefill / large M
using WgmmaTile64 = WgmmaTile<1, 128, 6>;   // BM 64: decode-sized M

}  // namespace k4j::kernels::gemm
