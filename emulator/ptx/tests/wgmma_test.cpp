// wgmma pieces against the PTX ISA: descriptor fields ("Matrix Descriptor Format"), the swizzle
// modes' address maps and K-major canonical layouts ("Shared Memory Matrix Layout"), the m64nN
// accumulator fragment ("Register Fragments and Shared Memory Matrix Layouts"), and full
// m64nNk32 e4m3 products gathered from a shared-memory image against a scalar FP64 reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#include "k4j_emu/wgmma_ops.h"
#include "test_util.h"

namespace k4j::emu::ptx {
namespace {

// ---- descriptor

TEST(WgmmaDesc, FieldsSitAtTheIsaBitPositions) {
  WgmmaDesc d;
  d.start_address = 0x3FFF0;  // all 14 bits of the encoded address
  EXPECT_EQ(wgmma_desc_encode(d), 0x3FFFull);
  d = WgmmaDesc{};
  d.lbo = 0x3FFF0;
  EXPECT_EQ(wgmma_desc_encode(d), 0x3FFFull << 16);
  d = WgmmaDesc{};
  d.sbo = 0x3FFF0;
  EXPECT_EQ(wgmma_desc_encode(d), 0x3FFFull << 32);
  d = WgmmaDesc{};
  d.base_offset = 7;
  EXPECT_EQ(wgmma_desc_encode(d), 7ull << 49);
  // Swizzle mode codes: 1 = 128-byte, 2 = 64-byte, 3 = 32-byte, 0 = none (interleave).
  d = WgmmaDesc{};
  d.swizzle = WgmmaSwizzle::k128B;
  EXPECT_EQ(wgmma_desc_encode(d), 1ull << 62);
  d.swizzle = WgmmaSwizzle::k64B;
  EXPECT_EQ(wgmma_desc_encode(d), 2ull << 62);
  d.swizzle = WgmmaSwizzle::k32B;
  EXPECT_EQ(wgmma_desc_encode(d), 3ull << 62);
  EXPECT_EQ(swizzle_from_bytes(128), WgmmaSwizzle::k128B);
  EXPECT_EQ(swizzle_from_bytes(64), WgmmaSwizzle::k64B);
  EXPECT_EQ(swizzle_from_bytes(32), WgmmaSwizzle::k32B);
  EXPECT_EQ(swizzle_from_bytes(0), WgmmaSwizzle::kNone);
  EXPECT_THROW(swizzle_from_bytes(16), std::invalid_argument);
}

TEST(WgmmaDesc, ByteQuantitiesAreEncodedShiftedByFour) {
  WgmmaDesc d;
  d.start_address = 0x1230;
  d.lbo = 16;
  d.sbo = 1024;
  const uint64_t e = wgmma_desc_encode(d);
  EXPECT_EQ(e & 0x3FFF, 0x123u);
  EXPECT_EQ((e >> 16) & 0x3FFF, 1u);
  EXPECT_EQ((e >> 32) & 0x3FFF, 64u);
  // Address bits 18 and above do not fit: the shared window is 256 KiB.
  d.start_address = 0x40000 + 0x100;
  EXPECT_EQ(wgmma_desc_encode(d) & 0x3FFF, 0x10u);
}

TEST(WgmmaDesc, DecodeInvertsEncodeAndFlagsReservedBits) {
  std::mt19937 rng(7);
  for (int i = 0; i < 1000; ++i) {
    WgmmaDesc d;
    d.start_address = (rng() & 0x3FFF) << 4;
    d.lbo = (rng() & 0x3FFF) << 4;
    d.sbo = (rng() & 0x3FFF) << 4;
    d.base_offset = rng() & 7;
    d.swizzle = static_cast<WgmmaSwizzle>(rng() & 3);
    const uint64_t e = wgmma_desc_encode(d);
    EXPECT_FALSE(wgmma_desc_reserved_bits(e));
    const WgmmaDesc r = wgmma_desc_decode(e);
    EXPECT_EQ(r.start_address, d.start_address);
    EXPECT_EQ(r.lbo, d.lbo);
    EXPECT_EQ(r.sbo, d.sbo);
    EXPECT_EQ(r.base_offset, d.base_offset);
    EXPECT_EQ(r.swizzle, d.swizzle);
  }
  for (int bit : {14, 15, 30, 31, 46, 47, 48, 52, 60, 61}) EXPECT_TRUE(wgmma_desc_reserved_bits(1ull << bit)) << bit;
  // Advancing the start address along K inside a swizzle row is plain addition on the low field.
  WgmmaDesc d;
  d.start_address = 4096;
  d.sbo = 1024;
  d.swizzle = WgmmaSwizzle::k128B;
  EXPECT_EQ(wgmma_desc_decode(wgmma_desc_encode(d) + (64 >> 4)).start_address, 4096u + 64u);
}

// ---- swizzle address maps

// The ISA's pictures, phrased on 128-byte lines: inside each repeat of 8 rows of T bytes (T/16
// lines of 128 bytes: 8 for 128 B, 4 for 64 B, 2 for 32 B), the 16-byte chunk index within each
// T-byte segment is XORed with the line index.
uint32_t isa_swizzle(uint32_t addr, int t) {
  if (t == 0) return addr;
  const uint32_t line = (addr % (8 * t)) / 128;
  const uint32_t chunk = (addr % t) / 16;
  return addr - chunk * 16 + ((chunk ^ (line % (t / 16))) * 16);
}

TEST(WgmmaSwizzle, AddressMapsMatchTheIsaDefinition) {
  for (int t : {0, 32, 64, 128}) {
    const WgmmaSwizzle s = swizzle_from_bytes(t);
    EXPECT_EQ(swizzle_row_bytes(s), t);
    for (uint32_t a = 0; a < 16384; ++a) ASSERT_EQ(swizzle_address(a, s), isa_swizzle(a, t)) << t << " " << a;
  }
}

TEST(WgmmaSwizzle, EachRepeatIsPermutedWithinItself) {
  for (int t : {32, 64, 128}) {
    const WgmmaSwizzle s = swizzle_from_bytes(t);
    const uint32_t rep = static_cast<uint32_t>(swizzle_repeat_bytes(s));
    EXPECT_EQ(rep, 8u * t);
    std::set<uint32_t> seen;
    for (uint32_t a = 3 * rep; a < 4 * rep; ++a) {
      const uint32_t m = swizzle_address(a, s);
      EXPECT_GE(m, 3 * rep);
      EXPECT_LT(m, 4 * rep);
      EXPECT_EQ(m % 16, a % 16);  // 16-byte chunks move whole
      seen.insert(m);
    }
    EXPECT_EQ(seen.size(), rep);
  }
}

TEST(WgmmaSwizzle, Spot128BytePattern) {
  const WgmmaSwizzle s = WgmmaSwizzle::k128B;
  EXPECT_EQ(swizzle_address(0 * 128 + 0 * 16, s), 0u);      // row 0 keeps its chunks
  EXPECT_EQ(swizzle_address(1 * 128 + 0 * 16, s), 144u);    // row 1 chunk 0 -> chunk 1
  EXPECT_EQ(swizzle_address(7 * 128 + 2 * 16 + 5, s), 7 * 128 + 5 * 16 + 5u);  // 2 ^ 7 = 5
  EXPECT_EQ(swizzle_address(1024 + 3 * 128 + 3 * 16, s), 1024 + 3 * 128u);   // next atom, 3 ^ 3 = 0
}

// ---- K-major canonical layouts

TEST(WgmmaLayout, InterleaveIsCoreMatricesPlacedByLboAndSbo) {
  WgmmaDesc d;
  d.start_address = 256;
  d.lbo = 128;   // the two K halves (core matrices) of a row group are adjacent
  d.sbo = 512;   // 8-row groups 512 bytes apart
  for (int row = 0; row < 64; ++row)
    for (int k = 0; k < 32; ++k) {
      const uint32_t want = 256 + (row / 8) * 512 + (k / 16) * 128 + (row % 8) * 16 + (k % 16);
      ASSERT_EQ(wgmma_kmajor_address(d, row, k), want);
    }
}

TEST(WgmmaLayout, SwizzledRowsAreTBytesApartInsideEightRowAtoms) {
  for (int t : {32, 64, 128}) {
    WgmmaDesc d;
    d.swizzle = swizzle_from_bytes(t);
    d.start_address = 8192;
    d.sbo = 8 * t;
    d.lbo = 16;  // unused by K-major swizzled layouts
    for (int row = 0; row < 64; ++row)
      for (int k = 0; k < 32; ++k)
        ASSERT_EQ(wgmma_kmajor_address(d, row, k), isa_swizzle(8192 + row * t + k, t)) << t;
    WgmmaDesc d2 = d;
    d2.lbo = 4096;
    EXPECT_EQ(wgmma_kmajor_address(d2, 9, 17), wgmma_kmajor_address(d, 9, 17));
  }
}

// ---- accumulator fragment

TEST(WgmmaFragment, AccumulatorMapCoversTheTileOnceAndWarpsOwnSixteenRows) {
  for (int n : {8, 64, 136, 256}) {
    std::vector<int> hits(64 * n, 0);
    for (int t = 0; t < 128; ++t)
      for (int i = 0; i < n / 2; ++i) {
        const RowCol rc = frag_wgmma_m64_d(t, i);
        ASSERT_GE(rc.row, 16 * (t / 32));
        ASSERT_LT(rc.row, 16 * (t / 32) + 16);
        ASSERT_LT(rc.col, n);
        ++hits[rc.row * n + rc.col];
      }
    for (int h : hits) ASSERT_EQ(h, 1);
  }
}

TEST(WgmmaFragment, SpotValuesOfTheIsaFigure) {
  // Thread 0: d0..d3 = (0,0) (0,1) (8,0) (8,1); d4 = (0,8). Thread 1 starts at column 2, thread 4 at
  // row 1, thread 32 (warp 1) at row 16; thread 127's d3 is (63,7); the last register of N=256 in
  // thread 0 is (8, 249).
  const int want[][4] = {{0, 0, 0, 0}, {0, 1, 0, 1}, {0, 2, 8, 0}, {0, 3, 8, 1}, {0, 4, 0, 8},
                         {1, 0, 0, 2}, {4, 0, 1, 0}, {32, 0, 16, 0}, {127, 3, 63, 7}, {0, 127, 8, 249}};
  for (const auto &w : want) {
    const RowCol rc = frag_wgmma_m64_d(w[0], w[1]);
    EXPECT_EQ(rc.row, w[2]) << w[0] << "," << w[1];
    EXPECT_EQ(rc.col, w[3]) << w[0] << "," << w[1];
  }
}

TEST(WgmmaFragment, EachEightColumnBlockIsTheMmaM16n8Accumulator) {
  // The ISA draws the m64nN accumulator as the m16n8 C fragment, repeated over warps (rows) and
  // 8-column blocks (registers 4j..4j+3).
  for (int t = 0; t < 128; ++t)
    for (int i = 0; i < 128; ++i) {
      const RowCol w = frag_wgmma_m64_d(t, i);
      const RowCol m = frag_m16n8k32_c(t % 32, i % 4);
      EXPECT_EQ(w.row, 16 * (t / 32) + m.row);
      EXPECT_EQ(w.col, 8 * (i / 4) + m.col);
    }
}

// ---- full products from a shared-memory image

// Places logical operand bytes (rows x 128-byte K extent at most) in a shared image as TMA would
// for that swizzle (rows of T bytes, 8-row atoms, atoms contiguous), or as interleaved core
// matrices (k-halves `lbo` apart, 8-row groups `sbo` apart). Written from the ISA's description,
// independently of wgmma_kmajor_address.
struct Image {
  std::vector<uint8_t> bytes = std::vector<uint8_t>(64 * 1024, 0xEE);
  void put_swizzled(uint32_t base, int t, int row, int k, uint8_t v) {
    bytes[isa_swizzle(base + row * t + k, t)] = v;
  }
  void put_interleaved(uint32_t base, uint32_t lbo, uint32_t sbo, int row, int k, uint8_t v) {
    bytes[base + (row / 8) * sbo + (k / 16) * lbo + (row % 8) * 16 + k % 16] = v;
  }
};

std::vector<uint8_t> gather(const Image &img, const WgmmaDesc &d, int rows) {
  std::vector<uint8_t> out(rows * 32);
  for (int r = 0; r < rows; ++r)
    for (int k = 0; k < 32; ++k) out[r * 32 + k] = img.bytes.at(wgmma_kmajor_address(d, r, k));
  return out;
}

float rand_e4m3(std::mt19937 &rng, uint8_t *code) {
  for (;;) {
    const uint8_t c = static_cast<uint8_t>(rng());
    const float v = e4m3_to_float(c);
    if (std::isnan(v) || std::fabs(v) > 16.f || (v != 0.f && std::fabs(v) < 1.f / 64)) continue;
    *code = c;
    return v;
  }
}

// D (row, col) for every thread/register against an FP64 reference: with kFp32 and these operands
// (products of e4m3 values in [2^-6, 16], C in the same set) every sum is exact in double, so the
// model's one rounding is float(exact).
void check_product(int n, int t /* swizzle bytes */, int kstep, bool scale_d, uint32_t seed) {
  std::mt19937 rng(seed);
  const int kext = t == 0 ? 32 : t;  // K bytes per row in the image
  ASSERT_LT(kstep * 32, kext == 32 && t == 0 ? 32 : kext);
  Image img;
  std::vector<float> A(64 * 32), B(n * 32);
  const uint32_t abase = 0, bbase = 16384;
  // Interleave: A's K halves adjacent (lbo 128, sbo 256); B's 8-row groups adjacent (sbo 128) and
  // K halves (n/8)*128 apart: both LBO/SBO orders.
  const uint32_t a_lbo = 128, a_sbo = 256, b_lbo = (n / 8) * 128, b_sbo = 128;
  for (int m = 0; m < 64; ++m)
    for (int k = 0; k < kext; ++k) {
      uint8_t c;
      const float v = rand_e4m3(rng, &c);
      if (t == 0) img.put_interleaved(abase, a_lbo, a_sbo, m, k, c);
      else img.put_swizzled(abase, t, m, k, c);
      if (k >= 32 * kstep && k < 32 * kstep + 32) A[m * 32 + k - 32 * kstep] = v;
    }
  for (int col = 0; col < n; ++col)
    for (int k = 0; k < kext; ++k) {
      uint8_t c;
      const float v = rand_e4m3(rng, &c);
      if (t == 0) img.put_interleaved(bbase, b_lbo, b_sbo, col, k, c);
      else img.put_swizzled(bbase, t, col, k, c);
      if (k >= 32 * kstep && k < 32 * kstep + 32) B[col * 32 + k - 32 * kstep] = v;
    }
  WgmmaDesc da, db;
  da.swizzle = db.swizzle = swizzle_from_bytes(t);
  da.start_address = abase + 32 * kstep;  // advance along K inside the swizzle row
  db.start_address = bbase + 32 * kstep;
  if (t == 0) {
    da.lbo = a_lbo, da.sbo = a_sbo, db.lbo = b_lbo, db.sbo = b_sbo;
  } else {
    da.sbo = db.sbo = 8 * t;
  }
  const std::vector<uint8_t> a = gather(img, wgmma_desc_decode(wgmma_desc_encode(da)), 64);
  const std::vector<uint8_t> b = gather(img, wgmma_desc_decode(wgmma_desc_encode(db)), n);
  std::vector<float> c(128 * (n / 2)), d(128 * (n / 2));
  for (float &x : c) {
    uint8_t code;
    x = rand_e4m3(rng, &code);
  }
  Fp8MmaModel model;
  model.accum = Fp8Accum::kFp32;
  wgmma_m64nk32_fp8_f32(Fp8Type::kE4M3, Fp8Type::kE4M3, n, a.data(), b.data(), c.data(), d.data(), scale_d, model);
  for (int th = 0; th < 128; ++th)
    for (int i = 0; i < n / 2; ++i) {
      const RowCol rc = frag_wgmma_m64_d(th, i);
      double s = scale_d ? c[th * (n / 2) + i] : 0.0;
      for (int k = 0; k < 32; ++k) s += static_cast<double>(A[rc.row * 32 + k]) * B[rc.col * 32 + k];
      ASSERT_EQ(d[th * (n / 2) + i], static_cast<float>(s))
          << "n=" << n << " swizzle=" << t << " kstep=" << kstep << " thread " << th << " reg " << i;
    }
}

TEST(WgmmaProduct, AgainstScalarReferenceForSeveralNAndSwizzleModes) {
  uint32_t seed = 1;
  for (int n : {8, 64, 96, 112, 128, 144, 160, 192, 256}) check_product(n, 128, n % 4 == 0 ? (n / 8) % 4 : 0, true, seed++);
  for (int t : {0, 32, 64, 128})
    for (int n : {16, 72}) {
      const int steps = t == 0 ? 1 : t / 32;
      for (int ks = 0; ks < steps; ++ks) check_product(n, t, ks, ks % 2 == 0, seed++);
    }
}

TEST(WgmmaProduct, HopperModelTruncatesProductsAgainstALargeAccumulator) {
  // C = 2^20, 32 products of 1: aligned to 2^20 with 13 fraction bits, each product (below 2^7)
  // truncates to 0 under the default model; kFp32 keeps the exact 2^20 + 32.
  const int n = 8;
  std::vector<uint8_t> a(64 * 32, test::e4m3(1.f)), b(n * 32, test::e4m3(1.f));
  std::vector<float> c(128 * 4, 1048576.f), d(128 * 4);
  wgmma_m64nk32_fp8_f32(Fp8Type::kE4M3, Fp8Type::kE4M3, n, a.data(), b.data(), c.data(), d.data(), true, Fp8MmaModel{});
  for (float x : d) ASSERT_EQ(x, 1048576.f);
  Fp8MmaModel fp32;
  fp32.accum = Fp8Accum::kFp32;
  wgmma_m64nk32_fp8_f32(Fp8Type::kE4M3, Fp8Type::kE4M3, n, a.data(), b.data(), c.data(), d.data(), true, fp32);
  for (float x : d) ASSERT_EQ(x, 1048576.f + 32.f);
  // scale_d = 0 ignores C entirely (even a NaN), and an all -0 product sum stays -0.
  std::fill(c.begin(), c.end(), std::nanf(""));
  std::fill(a.begin(), a.end(), test::e4m3(-0.f) | 0x80);
  wgmma_m64nk32_fp8_f32(Fp8Type::kE4M3, Fp8Type::kE4M3, n, a.data(), b.data(), c.data(), d.data(), false, Fp8MmaModel{});
  for (float x : d) ASSERT_TRUE(x == 0.f && std::signbit(x));
  EXPECT_THROW(wgmma_m64nk32_fp8_f32(Fp8Type::kE4M3, Fp8Type::kE4M3, 12, a.data(), b.data(), c.data(), d.data(), false,
                                     Fp8MmaModel{}),
               std::invalid_argument);
}

}  // namespace
}  // namespace k4j::emu::ptx
