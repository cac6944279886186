// mma.sync models: layouts end to end with distinct elements, exact small-integer cases, random
// matrices against an FP64 reference within each model's bound, and NaN/Inf propagation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>

#include "k4j_emu/ptx_ops.h"
#include "test_util.h"

namespace k4j::emu::ptx {
namespace {

using test::pack_c;
using test::pack_k16;
using test::pack_k32;
using test::unpack_d;

enum class T16 { kF16, kBf16 };

uint16_t enc16(T16 t, float v) { return t == T16::kF16 ? test::f16(v) : test::bf16(v); }
uint8_t enc8(Fp8Type t, float v) { return t == Fp8Type::kE4M3 ? test::e4m3(v) : test::e5m2(v); }
float dec8(Fp8Type t, uint8_t c) { return t == Fp8Type::kE4M3 ? e4m3_to_float(c) : e5m2_to_float(c); }

void run16(T16 t, const float (&Af)[16][16], const float (&Bf)[16][8], const float (&C)[16][8],
           float (&D)[16][8]) {
  uint16_t A[16][16], B[16][8];
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 16; ++k) A[i][k] = enc16(t, Af[i][k]);
  for (int k = 0; k < 16; ++k)
    for (int j = 0; j < 8; ++j) B[k][j] = enc16(t, Bf[k][j]);
  uint32_t a[kWarpSize][4], b[kWarpSize][2];
  float c[kWarpSize][4], d[kWarpSize][4];
  pack_k16(A, B, a, b);
  pack_c(C, c);
  if (t == T16::kF16)
    mma_m16n8k16_f16_f32(a, b, c, d);
  else
    mma_m16n8k16_bf16_f32(a, b, c, d);
  unpack_d(d, D);
}

void run32(Fp8Type t, Fp8Accum acc, const uint8_t (&A)[16][32], const uint8_t (&B)[32][8],
           const float (&C)[16][8], float (&D)[16][8]) {
  uint32_t a[kWarpSize][4], b[kWarpSize][2];
  float c[kWarpSize][4], d[kWarpSize][4];
  pack_k32(A, B, a, b);
  pack_c(C, c);
  if (t == Fp8Type::kE4M3)
    mma_m16n8k32_e4m3_f32(a, b, c, d, acc);
  else
    mma_m16n8k32_e5m2_f32(a, b, c, d, acc);
  unpack_d(d, D);
}

// --- Layouts end to end: every A and B element lands in D through one-hot partners. ---

TEST(MmaM16n8k16, DistinctElementsRouteThroughFragments) {
  for (T16 t : {T16::kF16, T16::kBf16}) {
    float A[16][16], B[16][8], C[16][8] = {}, D[16][8];
    for (int i = 0; i < 16; ++i)
      for (int k = 0; k < 16; ++k) A[i][k] = static_cast<float>(i * 16 + k);  // distinct, exact
    for (int run = 0; run < 2; ++run) {  // column j selects k = j + 8 * run: covers every k
      for (int k = 0; k < 16; ++k)
        for (int j = 0; j < 8; ++j) B[k][j] = k == j + 8 * run ? 1.0f : 0.0f;
      run16(t, A, B, C, D);
      for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 8; ++j) ASSERT_EQ(D[i][j], A[i][j + 8 * run]) << i << "," << j;
    }
    // B: row i of A selects k = i; D[i][j] = B[i][j] + C[i][j], C distinct too.
    for (int i = 0; i < 16; ++i)
      for (int k = 0; k < 16; ++k) A[i][k] = i == k ? 1.0f : 0.0f;
    for (int k = 0; k < 16; ++k)
      for (int j = 0; j < 8; ++j) B[k][j] = static_cast<float>(k * 8 + j);
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 8; ++j) C[i][j] = 1000.0f + static_cast<float>(i * 8 + j) / 4;
    run16(t, A, B, C, D);
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 8; ++j) ASSERT_EQ(D[i][j], B[i][j] + C[i][j]) << i << "," << j;
  }
}

TEST(MmaM16n8k32, DistinctElementsRouteThroughFragments) {
  std::mt19937 rng(7);
  for (Fp8Type t : {Fp8Type::kE4M3, Fp8Type::kE5M2}) {
    for (Fp8Accum acc : {Fp8Accum::kHopper, Fp8Accum::kFp32}) {
      uint8_t A[16][32], B[32][8];
      float C[16][8] = {}, D[16][8];
      // Random finite A codes (a 16x32 fp8 matrix cannot hold 512 distinct values): every element
      // must reach D[i][j] alone, so any misrouted byte shows.
      for (auto &row : A)
        for (auto &x : row) {
          do x = static_cast<uint8_t>(rng()); while (!std::isfinite(dec8(t, x)));
        }
      for (int run = 0; run < 4; ++run) {  // column j selects k = 4 j + run
        for (int k = 0; k < 32; ++k)
          for (int j = 0; j < 8; ++j) B[k][j] = enc8(t, k == 4 * j + run ? 1.0f : 0.0f);
        run32(t, acc, A, B, C, D);
        for (int i = 0; i < 16; ++i)
          for (int j = 0; j < 8; ++j) {
            const float want = dec8(t, A[i][4 * j + run]);
            ASSERT_EQ(D[i][j], want == 0.0f ? 0.0f : want) << i << "," << j << " run " << run;
          }
      }
      // B through one-hot A rows: A[i][k] = (k == 2 i + run); B random finite.
      for (auto &row : B)
        for (auto &x : row) {
          do x = static_cast<uint8_t>(rng()); while (!std::isfinite(dec8(t, x)));
        }
      for (int run = 0; run < 2; ++run) {
        for (int i = 0; i < 16; ++i)
          for (int k = 0; k < 32; ++k) A[i][k] = enc8(t, k == 2 * i + run ? 1.0f : 0.0f);
        run32(t, acc, A, B, C, D);
        for (int i = 0; i < 16; ++i)
          for (int j = 0; j < 8; ++j) ASSERT_EQ(D[i][j], dec8(t, B[2 * i + run][j])) << i << "," << j;
      }
    }
  }
}

// --- Exact small-integer cases: every model must give the exact integer result. ---

TEST(MmaM16n8k16, SmallIntegersExact) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> v(-16, 16), cv(-1000, 1000);
  for (T16 t : {T16::kF16, T16::kBf16}) {
    float A[16][16], B[16][8], C[16][8], D[16][8];
    for (auto &r : A)
      for (auto &x : r) x = static_cast<float>(v(rng));
    for (auto &r : B)
      for (auto &x : r) x = static_cast<float>(v(rng));
    for (auto &r : C)
      for (auto &x : r) x = static_cast<float>(cv(rng));
    run16(t, A, B, C, D);
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 8; ++j) {
        long ref = static_cast<long>(C[i][j]);
        for (int k = 0; k < 16; ++k) ref += static_cast<long>(A[i][k]) * static_cast<long>(B[k][j]);
        ASSERT_EQ(D[i][j], static_cast<float>(ref)) << i << "," << j;
      }
  }
}

TEST(MmaM16n8k32, SmallIntegersExactInBothModels) {
  std::mt19937 rng(12);
  std::uniform_int_distribution<int> v(-8, 8), cv(-1000, 1000);  // exact in e4m3 and e5m2
  for (Fp8Type t : {Fp8Type::kE4M3, Fp8Type::kE5M2}) {
    for (Fp8Accum acc : {Fp8Accum::kHopper, Fp8Accum::kFp32}) {
      uint8_t A[16][32], B[32][8];
      float Af[16][32], Bf[32][8], C[16][8], D[16][8];
      for (int i = 0; i < 16; ++i)
        for (int k = 0; k < 32; ++k) A[i][k] = enc8(t, Af[i][k] = static_cast<float>(v(rng)));
      for (int k = 0; k < 32; ++k)
        for (int j = 0; j < 8; ++j) B[k][j] = enc8(t, Bf[k][j] = static_cast<float>(v(rng)));
      for (auto &r : C)
        for (auto &x : r) x = static_cast<float>(cv(rng));
      run32(t, acc, A, B, C, D);
      for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 8; ++j) {
          long ref = static_cast<long>(C[i][j]);
          for (int k = 0; k < 32; ++k) ref += static_cast<long>(Af[i][k]) * static_cast<long>(Bf[k][j]);
          // |ref| < 2^13 here, so even the 14-significant-bit FP22 accumulator is exact.
          ASSERT_EQ(D[i][j], static_cast<float>(ref)) << i << "," << j;
        }
    }
  }
}

// --- Random matrices against FP64. ---

// f16/bf16 model: exact sum rounded once. Values are chosen so the FP64 reference is itself exact
// (f16: multiples of 2^-8 below 4; bf16: multiples of 2^-4 below 8, 8 significant bits), so the
// model must equal the FP64 sum rounded to FP32, bit for bit.
TEST(MmaM16n8k16, RandomMatchesFp64RoundedOnce) {
  std::mt19937 rng(13);
  for (T16 t : {T16::kF16, T16::kBf16}) {
    const int lim = t == T16::kF16 ? 1023 : 127;
    const float scale = t == T16::kF16 ? 1.0f / 256 : 1.0f / 16;
    std::uniform_int_distribution<int> v(-lim, lim);
    for (int iter = 0; iter < 20; ++iter) {
      float A[16][16], B[16][8], C[16][8], D[16][8];
      for (auto &r : A)
        for (auto &x : r) x = v(rng) * scale;
      for (auto &r : B)
        for (auto &x : r) x = v(rng) * scale;
      for (auto &r : C)
        for (auto &x : r) x = static_cast<float>(std::ldexp(static_cast<double>(rng() % (1u << 24)), -20)) * (rng() % 2 ? 1 : -1);
      run16(t, A, B, C, D);
      for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 8; ++j) {
          double ref = C[i][j];
          for (int k = 0; k < 16; ++k) ref += static_cast<double>(A[i][k]) * B[k][j];
          ASSERT_EQ(D[i][j], static_cast<float>(ref)) << "iter " << iter << " " << i << "," << j;
        }
    }
  }
}

// Largest exponent among the non-zero addends (products and c), as floor(log2 |x|).
int max_exponent(const double *t, int n) {
  int e = -1000;
  for (int i = 0; i < n; ++i)
    if (t[i] != 0) e = std::max(e, std::ilogb(t[i]));
  return e;
}

TEST(MmaM16n8k32, RandomWithinModelBounds) {
  std::mt19937 rng(14);
  for (Fp8Type t : {Fp8Type::kE4M3, Fp8Type::kE5M2}) {
    for (int iter = 0; iter < 20; ++iter) {
      uint8_t A[16][32], B[32][8];
      float C[16][8], Dh[16][8], Df[16][8];
      for (auto &r : A)
        for (auto &x : r) {
          do x = static_cast<uint8_t>(rng()); while (!std::isfinite(dec8(t, x)));
        }
      for (auto &r : B)
        for (auto &x : r) {
          do x = static_cast<uint8_t>(rng()); while (!std::isfinite(dec8(t, x)));
        }
      for (auto &r : C)
        for (auto &x : r) x = static_cast<float>(static_cast<int>(rng() % 20001) - 10000) / 16;
      run32(t, Fp8Accum::kHopper, A, B, C, Dh);
      run32(t, Fp8Accum::kFp32, A, B, C, Df);
      for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 8; ++j) {
          double terms[33];
          double ref = 0;
          for (int k = 0; k < 32; ++k) ref += terms[k] = static_cast<double>(dec8(t, A[i][k])) * dec8(t, B[k][j]);
          ref += terms[32] = C[i][j];  // exact in FP64: all addends are multiples of 2^-32 below 2^36
          // kFp32: one rounding of the exact sum.
          ASSERT_EQ(Df[i][j], static_cast<float>(ref)) << i << "," << j;
          // kHopper: each of the 33 addends loses less than 2^(E-13) (E = largest exponent), and
          // the FP22 result loses less than one unit of its 14th significant bit.
          const double q = std::ldexp(1.0, max_exponent(terms, 33) - 13);
          const double pre = std::fabs(ref) + 33 * q;
          const double bound = 33 * q + (pre > 0 ? std::ldexp(1.0, std::ilogb(pre) - 13) : 0);
          ASSERT_LE(std::fabs(Dh[i][j] - ref), bound) << i << "," << j;
          // The Hopper result is an FP22 value: the low 10 of FP32's 23 mantissa bits are zero.
          uint32_t bits;
          std::memcpy(&bits, &Dh[i][j], sizeof bits);
          ASSERT_EQ(bits & 0x3FFu, 0u) << Dh[i][j];
        }
    }
  }
}

// --- NaN / Inf propagation. ---

TEST(MmaM16n8k32, E4m3NanPropagatesToItsRowOnly) {
  for (Fp8Accum acc : {Fp8Accum::kHopper, Fp8Accum::kFp32}) {
    uint8_t A[16][32], B[32][8];
    float C[16][8] = {}, D[16][8];
    for (auto &r : A)
      for (auto &x : r) x = test::e4m3(1.0f);
    for (auto &r : B)
      for (auto &x : r) x = test::e4m3(0.5f);
    A[3][17] = 0x7F;  // NaN
    A[9][0] = 0xFF;   // NaN (negative sign)
    run32(Fp8Type::kE4M3, acc, A, B, C, D);
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 8; ++j) {
        if (i == 3 || i == 9)
          EXPECT_TRUE(std::isnan(D[i][j])) << i << "," << j;
        else
          EXPECT_EQ(D[i][j], 16.0f) << i << "," << j;
      }
  }
}

TEST(MmaM16n8k32, E5m2InfinitiesFollowIeee) {
  for (Fp8Accum acc : {Fp8Accum::kHopper, Fp8Accum::kFp32}) {
    uint8_t A[16][32] = {}, B[32][8] = {};  // code 0 = +0
    float C[16][8] = {}, D[16][8];
    for (auto &r : B)
      for (auto &x : r) x = test::e5m2(1.0f);
    B[5][0] = 0x00;                  // column 0 multiplies the infinities below by +0
    A[0][5] = 0x7C;                  // +Inf * 1 -> +Inf
    A[1][5] = 0xFC;                  // -Inf * 1 -> -Inf
    A[2][5] = 0x7C, A[2][6] = 0xFC;  // +Inf + -Inf -> NaN
    C[4][2] = -INFINITY;             // c = -Inf -> -Inf
    C[5][2] = NAN;                   // c = NaN -> NaN
    A[6][1] = test::e5m2(57344.0f);  // largest finite e5m2 stays finite
    run32(Fp8Type::kE5M2, acc, A, B, C, D);
    for (int j = 1; j < 8; ++j) {
      EXPECT_EQ(D[0][j], INFINITY) << j;
      EXPECT_EQ(D[1][j], -INFINITY) << j;
      EXPECT_TRUE(std::isnan(D[2][j])) << j;
    }
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::isnan(D[i][0])) << i;  // Inf * 0
    for (int j = 0; j < 8; ++j) EXPECT_EQ(D[6][j], 57344.0f) << j;
    EXPECT_EQ(D[4][2], -INFINITY);
    EXPECT_TRUE(std::isnan(D[5][2]));
    EXPECT_EQ(D[4][3], 0.0f);
  }
}

TEST(MmaM16n8k16, F16NanAndInfPropagate) {
  float A[16][16] = {}, B[16][8] = {}, C[16][8] = {}, D[16][8];
  for (auto &r : B)
    for (auto &x : r) x = 2.0f;
  A[0][0] = NAN;
  A[1][0] = INFINITY;
  A[2][0] = INFINITY, A[2][1] = -INFINITY;
  uint16_t Ah[16][16], Bh[16][8];
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 16; ++k)
      Ah[i][k] = std::isnan(A[i][k]) ? 0x7E00 : test::f16(A[i][k]);
  for (int k = 0; k < 16; ++k)
    for (int j = 0; j < 8; ++j) Bh[k][j] = test::f16(B[k][j]);
  uint32_t a[kWarpSize][4], b[kWarpSize][2];
  float c[kWarpSize][4], d[kWarpSize][4];
  pack_k16(Ah, Bh, a, b);
  pack_c(C, c);
  mma_m16n8k16_f16_f32(a, b, c, d);
  unpack_d(d, D);
  for (int j = 0; j < 8; ++j) {
    EXPECT_TRUE(std::isnan(D[0][j]));
    EXPECT_EQ(D[1][j], INFINITY);
    EXPECT_TRUE(std::isnan(D[2][j]));
    EXPECT_EQ(D[3][j], 0.0f);
  }
}

TEST(MmaM16n8k16, Bf16OverflowRoundsToInfinity) {
  float A[16][16] = {}, B[16][8] = {}, C[16][8] = {}, D[16][8];
  const float flt_max = std::numeric_limits<float>::max();  // (2^24 - 1) * 2^104
  A[0][0] = std::ldexp(1.0f, 100), B[0][0] = std::ldexp(1.0f, 100);  // 2^200: overflows
  A[1][0] = std::ldexp(1.0f, 100), A[1][1] = -std::ldexp(1.0f, 100);
  B[1][0] = std::ldexp(1.0f, 100);  // row 1: 2^200 - 2^200 = 0 exactly, no intermediate overflow
  A[2][0] = std::ldexp(1.0f, 52), B[0][1] = std::ldexp(1.0f, 51);    // row 2 col 1: 2^103
  C[2][1] = flt_max;  // FLT_MAX + half an ulp: a tie, to even = 2^128 = Inf
  A[3][2] = std::ldexp(1.0f, 50), B[2][1] = std::ldexp(1.0f, 52);    // row 3 col 1: 2^102
  C[3][1] = flt_max;  // below half an ulp: stays FLT_MAX
  run16(T16::kBf16, A, B, C, D);
  EXPECT_EQ(D[0][0], INFINITY);
  EXPECT_EQ(D[1][0], 0.0f);
  EXPECT_EQ(D[2][1], INFINITY);
  EXPECT_EQ(D[3][1], flt_max);
}

// One rounding of the exact sum: ties go to even, and bits far below (even 400 bits below the
// largest addend, which cancels) still break ties; FP32 subnormal results round the same way.
TEST(MmaM16n8k16, Bf16RoundingUsesEveryBit) {
  float A[16][16] = {}, B[16][8] = {}, C[16][8] = {}, D[16][8];
  auto p2 = [](int e) { return std::ldexp(1.0f, e); };
  // Row 0: 2^220 - 2^220 + 1 + 2^-24 + 2^-200: the tie 1 + 2^-24 is broken upwards by 2^-200.
  A[0][0] = p2(110), A[0][1] = -p2(110), A[0][2] = p2(-12), A[0][3] = p2(-100);
  // Row 1: 1 + 2^-24 alone is a tie: to even, 1.
  A[1][2] = p2(-12);
  // Row 2: 1 + 2^-24 + 2^-60 (a narrow span): up.
  A[2][2] = p2(-12), A[2][4] = p2(-30);
  // Row 3: 2^-150 (half the smallest subnormal, c = 0): a tie, to even, +0.
  A[3][5] = p2(-75);
  // Row 4: 2^-150 + 2^-151: above the tie, the smallest subnormal 2^-149.
  A[4][5] = p2(-75), A[4][6] = p2(-76);
  B[0][0] = p2(110), B[1][0] = p2(110), B[2][0] = p2(-12), B[3][0] = p2(-100);
  B[4][0] = p2(-30), B[5][0] = p2(-75), B[6][0] = p2(-75);
  for (int i = 0; i < 3; ++i) C[i][0] = 1.0f;
  run16(T16::kBf16, A, B, C, D);
  EXPECT_EQ(D[0][0], 1.0f + p2(-23));
  EXPECT_EQ(D[1][0], 1.0f);
  EXPECT_EQ(D[2][0], 1.0f + p2(-23));
  EXPECT_EQ(D[3][0], 0.0f);
  EXPECT_FALSE(std::signbit(D[3][0]));
  EXPECT_EQ(D[4][0], p2(-149));
}

TEST(MmaM16n8k32, DMayAliasC) {
  uint8_t A[16][32], B[32][8];
  for (auto &r : A)
    for (auto &x : r) x = test::e4m3(1.0f);
  for (auto &r : B)
    for (auto &x : r) x = test::e4m3(2.0f);
  uint32_t a[kWarpSize][4], b[kWarpSize][2];
  float cd[kWarpSize][4];
  pack_k32(A, B, a, b);
  for (auto &r : cd)
    for (auto &x : r) x = 1.0f;
  mma_m16n8k32_e4m3_f32(a, b, cd, cd);
  for (auto &r : cd)
    for (float x : r) EXPECT_EQ(x, 65.0f);
}

TEST(MmaM16n8k32, MixedE4m3TimesE5m2) {
  uint8_t A[16][32], B[32][8];
  for (auto &r : A)
    for (auto &x : r) x = test::e4m3(448.0f);
  for (auto &r : B)
    for (auto &x : r) x = test::e5m2(0.75f);
  uint32_t a[kWarpSize][4], b[kWarpSize][2];
  float c[kWarpSize][4] = {}, d[kWarpSize][4];
  pack_k32(A, B, a, b);
  Fp8MmaModel model;
  for (Fp8Accum acc : {Fp8Accum::kHopper, Fp8Accum::kFp32}) {
    model.accum = acc;
    mma_m16n8k32_fp8_f32(Fp8Type::kE4M3, Fp8Type::kE5M2, a, b, c, d, model);
    for (auto &r : d)
      for (float x : r) EXPECT_EQ(x, 32 * 448.0f * 0.75f);
  }
  model.product_fraction_bits = 0;
  EXPECT_THROW(mma_m16n8k32_fp8_f32(Fp8Type::kE4M3, Fp8Type::kE5M2, a, b, c, d, model),
               std::invalid_argument);
}

}  // namespace
}  // namespace k4j::emu::ptx
