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

// ---- BF16: MN-major canonical layouts (PTX ISA "Shared Memory Matrix Layout": "Canonical
// Layouts" and its bf16 examples, Figures 168-170), descriptor LBO/SBO roles, the .bf16 A register
// fragment, and the m64nNk16 product.

// The ISA's bf16 MN-major examples as printed: "Exact layout" Swizzle<B,4,3> o
// ((8,s,2),(8,2)):((1,8,X),(Y,Z)) in bf16 elements, and the LBO/SBO (bytes) and their encodings.
struct MnExample {
  int t;                  // swizzle bytes (0: interleave)
  int s, x, y, z;         // the exact layout's shape s and strides X, Y, Z (elements)
  uint32_t lbo, sbo;      // bytes
  uint32_t lbo_enc, sbo_enc;
};
const MnExample kIsaMnExamples[] = {
    {0, 1, 64, 8, 128, 256, 128, 16, 8},      // Figure 168: ((8,1,2),(8,2)):((1,8,64),(8,128)), LBO 128, SBO 64 el.
    {32, 2, 128, 16, 256, 256, 512, 16, 32},  // Figure 169: ((8,2,2),(8,2)):((1,8,128),(16,256)), LBO 128, SBO 256 el.
    {64, 4, 256, 32, 512, 512, 1024, 32, 64}, // Figure 170: ((8,4,2),(8,2)):((1,8,256),(32,512)), LBO 256, SBO 512 el.
};

uint32_t exact_layout_bytes(const MnExample &e, int mn, int k) {
  const int off = mn % 8 + ((mn / 8) % e.s) * 8 + (mn / (8 * e.s)) * e.x + (k % 8) * e.y + (k / 8) * e.z;
  return static_cast<uint32_t>(2 * off);
}

TEST(WgmmaMnMajor, IsaBf16ExamplesExactLayouts) {
  for (const MnExample &e : kIsaMnExamples) {
    WgmmaDesc d;
    d.swizzle = swizzle_from_bytes(e.t);
    d.start_address = 4096;  // aligned to every pattern repeat
    d.lbo = e.lbo;
    d.sbo = e.sbo;
    const uint64_t raw = wgmma_desc_encode(d);
    EXPECT_EQ((raw >> 16) & 0x3FFF, e.lbo_enc) << e.t;
    EXPECT_EQ((raw >> 32) & 0x3FFF, e.sbo_enc) << e.t;
    const WgmmaDesc dd = wgmma_desc_decode(raw);
    const int mn_extent = 8 * e.s * 2;
    std::set<uint32_t> seen;
    for (int mn = 0; mn < mn_extent; ++mn)
      for (int k = 0; k < 16; ++k) {
        const uint32_t a = wgmma_mnmajor_address(dd, mn, k, 2);
        ASSERT_EQ(a, isa_swizzle(4096 + exact_layout_bytes(e, mn, k), e.t)) << e.t << " mn " << mn << " k " << k;
        seen.insert(a);
      }
    EXPECT_EQ(seen.size(), static_cast<size_t>(mn_extent * 16));  // no two elements share bytes
  }
}

// Known elements -> byte offsets (from the start) of the three figures' layouts.
TEST(WgmmaMnMajor, SpotOffsetsOfTheIsaFigures) {
  struct Spot {
    int ex, mn, k;
    uint32_t off;
  };
  const Spot spots[] = {
      {0, 0, 0, 0},   {0, 1, 0, 2},   {0, 8, 0, 128},  {0, 0, 1, 16},   {0, 0, 8, 256},   {0, 15, 15, 510},
      {1, 8, 0, 16},  {1, 0, 1, 32},  {1, 8, 1, 48},   {1, 16, 0, 256}, {1, 0, 8, 512},   {1, 8, 4, 128},
      {1, 31, 15, 1006}, {2, 9, 3, 194}, {2, 8, 1, 80}, {2, 24, 7, 448}, {2, 32, 0, 512}, {2, 0, 8, 1024},
      {2, 63, 15, 1998}};
  for (const Spot &sp : spots) {
    const MnExample &e = kIsaMnExamples[sp.ex];
    WgmmaDesc d;
    d.swizzle = swizzle_from_bytes(e.t);
    d.lbo = e.lbo;
    d.sbo = e.sbo;
    EXPECT_EQ(wgmma_mnmajor_address(d, sp.mn, sp.k, 2), sp.off) << e.t << " mn " << sp.mn << " k " << sp.k;
  }
}

// 128-byte swizzle (the canonical ((T,8,m),(8,k)):((1,T,LBO),(8T,SBO)), T = 8): 64 elements of M/N
// per 128-byte row, eight K-rows per 1024-byte atom; LBO to the next 64 of M/N, SBO to the next 8 of K.
TEST(WgmmaMnMajor, Swizzle128RowsHoldSixtyFourElements) {
  WgmmaDesc d;
  d.swizzle = WgmmaSwizzle::k128B;
  d.start_address = 8192;
  d.lbo = 1024;
  d.sbo = 4096;
  for (int mn = 0; mn < 256; ++mn)
    for (int k = 0; k < 16; ++k) {
      const uint32_t lin = 8192 + (mn / 64) * 1024 + (k / 8) * 4096 + (k % 8) * 128 + (mn % 64) * 2;
      ASSERT_EQ(wgmma_mnmajor_address(d, mn, k, 2), isa_swizzle(lin, 128)) << mn << " " << k;
    }
  // Element (mn 9, k 3): row 3 of the atom, chunk 1 -> chunk 1 ^ 3 = 2, byte 2 of it.
  EXPECT_EQ(wgmma_mnmajor_address(d, 9, 3, 2), 8192 + 3 * 128 + 2 * 16 + 2u);
}

// The roles of LBO and SBO swap between interleave and swizzled MN-major layouts (ISA "Leading
// Dimension Byte Offset" / "Stride Dimension Byte Offset" tables): moving one field moves exactly
// the elements the ISA says it reaches.
TEST(WgmmaMnMajor, LboAndSboReachTheElementsTheIsaNames) {
  for (int t : {0, 32, 64, 128}) {
    WgmmaDesc d;
    d.swizzle = swizzle_from_bytes(t);
    d.lbo = 2048;
    d.sbo = 8192;
    WgmmaDesc dl = d, ds = d;
    dl.lbo += 16384;
    ds.sbo += 16384;
    const int per = t == 0 ? 8 : t / 2;  // M/N elements per core-matrix row or swizzled row
    for (int mn = 0; mn < 128; ++mn)
      for (int k = 0; k < 16; ++k) {
        const uint32_t a = wgmma_mnmajor_address(d, mn, k, 2);
        const bool lbo_moves = t == 0 ? k >= 8 : mn >= per;  // interleave: LBO steps K; swizzled: M/N
        const bool sbo_moves = t == 0 ? mn >= per : k >= 8;
        ASSERT_EQ(wgmma_mnmajor_address(dl, mn, k, 2) != a, lbo_moves) << t << " " << mn << " " << k;
        ASSERT_EQ(wgmma_mnmajor_address(ds, mn, k, 2) != a, sbo_moves) << t << " " << mn << " " << k;
      }
  }
}

// "Register Fragments" (wgmma .bf16 A, m64nNk16): each warp holds its 16 rows as the mma.m16n8k16
// A fragment; the whole 64 x 16 tile once.
TEST(WgmmaFragment, Bf16ARegisterFragmentCoversTheTileOnce) {
  std::vector<int> hits(64 * 16, 0);
  for (int t = 0; t < 128; ++t)
    for (int r = 0; r < 4; ++r)
      for (int e = 0; e < 2; ++e) {
        const RowCol rc = frag_wgmma_m64k16_a(t, r, e);
        ASSERT_GE(rc.row, 16 * (t / 32));
        ASSERT_LT(rc.row, 16 * (t / 32) + 16);
        ASSERT_GE(rc.col, 0);
        ASSERT_LT(rc.col, 16);
        ++hits[rc.row * 16 + rc.col];
        const RowCol m = frag_m16n8k16_a(t % 32, r, e);
        EXPECT_EQ(rc.row, 16 * (t / 32) + m.row);
        EXPECT_EQ(rc.col, m.col);
      }
  for (int h : hits) ASSERT_EQ(h, 1);
  // Spot values of the ISA figure: thread 0 holds a0..a7 at (0,0) (0,1) (8,0) (8,1) (0,8) (0,9)
  // (8,8) (8,9); thread 37 (warp 1, lane 5: group 1, thread-in-group 1) starts at (17, 2).
  const int want0[8][2] = {{0, 0}, {0, 1}, {8, 0}, {8, 1}, {0, 8}, {0, 9}, {8, 8}, {8, 9}};
  for (int i = 0; i < 8; ++i) {
    const RowCol rc = frag_wgmma_m64k16_a(0, i / 2, i % 2);
    EXPECT_EQ(rc.row, want0[i][0]);
    EXPECT_EQ(rc.col, want0[i][1]);
  }
  EXPECT_EQ(frag_wgmma_m64k16_a(37, 0, 0).row, 17);
  EXPECT_EQ(frag_wgmma_m64k16_a(37, 0, 0).col, 2);
  EXPECT_EQ(frag_wgmma_m64k16_a(37, 3, 1).row, 25);
  EXPECT_EQ(frag_wgmma_m64k16_a(37, 3, 1).col, 11);
  // The same rows/columns as the accumulator of an m64n16 tile (registers 0..7).
  for (int t = 0; t < 128; ++t)
    for (int i = 0; i < 8; ++i) {
      EXPECT_EQ(frag_wgmma_m64k16_a(t, i / 2, i % 2).row, frag_wgmma_m64_d(t, i).row);
      EXPECT_EQ(frag_wgmma_m64k16_a(t, i / 2, i % 2).col, frag_wgmma_m64_d(t, i).col);
    }
}

// bf16 values with full 8-bit significands and exponents in [-4, 4]: 16 products and C (the same
// kind) sum exactly in double, so the model's one rounding is float(exact).
uint16_t rand_bf16(std::mt19937 &rng) {
  const uint32_t e = 127 - 4 + rng() % 9, m = rng() % 128, sgn = rng() % 2;
  return static_cast<uint16_t>((sgn << 15) | (e << 7) | m);
}

TEST(WgmmaProduct, Bf16AgainstAnFp64ReferenceRoundedOnce) {
  uint32_t seed = 7;
  for (int n : {8, 16, 64, 136, 256})
    for (bool scale_d : {false, true}) {
      std::mt19937 rng(seed++);
      std::vector<uint16_t> a(64 * 16), b(n * 16);
      for (auto &x : a) x = rand_bf16(rng);
      for (auto &x : b) x = rand_bf16(rng);
      std::vector<float> c(128 * (n / 2)), d(c.size());
      for (float &x : c) x = bf16_to_float(rand_bf16(rng));
      wgmma_m64nk16_bf16_f32(n, a.data(), b.data(), c.data(), d.data(), scale_d);
      for (int th = 0; th < 128; ++th)
        for (int i = 0; i < n / 2; ++i) {
          const RowCol rc = frag_wgmma_m64_d(th, i);
          double s = scale_d ? c[th * (n / 2) + i] : 0.0;
          for (int k = 0; k < 16; ++k)
            s += static_cast<double>(bf16_to_float(a[rc.row * 16 + k])) * bf16_to_float(b[rc.col * 16 + k]);
          ASSERT_EQ(d[th * (n / 2) + i], static_cast<float>(s)) << "n=" << n << " thread " << th << " reg " << i;
        }
    }
}

TEST(WgmmaProduct, Bf16SumIsRoundedOnceAndScaleDZeroIgnoresC) {
  // C = 1 plus two products of 2^-24: exact 1 + 2^-23 (representable); rounding after each add
  // would give 1 (a tie to even, twice).
  const int n = 8;
  std::vector<uint16_t> a(64 * 16, 0), b(n * 16, 0);
  for (int m = 0; m < 64; ++m) a[m * 16 + 3] = a[m * 16 + 9] = test::bf16(std::ldexp(1.f, -12));
  for (int col = 0; col < n; ++col) b[col * 16 + 3] = b[col * 16 + 9] = test::bf16(std::ldexp(1.f, -12));
  std::vector<float> c(128 * 4, 1.f), d(128 * 4);
  wgmma_m64nk16_bf16_f32(n, a.data(), b.data(), c.data(), d.data(), true);
  for (float x : d) ASSERT_EQ(x, 1.f + std::ldexp(1.f, -23));
  // scale_d = 0: C is not read (NaN stays out); all -0 products give -0.
  std::fill(c.begin(), c.end(), std::nanf(""));
  std::fill(a.begin(), a.end(), static_cast<uint16_t>(0x8000));
  std::fill(b.begin(), b.end(), test::bf16(1.f));
  wgmma_m64nk16_bf16_f32(n, a.data(), b.data(), c.data(), d.data(), false);
  for (float x : d) ASSERT_TRUE(x == 0.f && std::signbit(x));
  EXPECT_THROW(wgmma_m64nk16_bf16_f32(12, a.data(), b.data(), c.data(), d.data(), false), std::invalid_argument);
}

}  // namespace
}  // namespace k4j::emu::ptx
