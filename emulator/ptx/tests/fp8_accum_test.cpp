// The FP8 accumulation model (Fp8MmaModel): bits lost by the Hopper model (ISCA'25 DeepSeek-V3
// hardware paper: 13 fraction bits per aligned product, FP22 accumulation), kept by kFp32, and the
// effect on long-K accumulation that motivates promoting partial sums to FP32 every 128 of K.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "k4j_emu/ptx_ops.h"
#include "test_util.h"

namespace k4j::emu::ptx {
namespace {

// D[0][0] of one m16n8k32 e4m3 MMA whose row 0 of A and column 0 of B are given (the rest zero).
float dot32(const float (&a)[32], const float (&b)[32], float c, const Fp8MmaModel &model) {
  uint8_t A[16][32] = {}, B[32][8] = {};
  for (int k = 0; k < 32; ++k) {
    A[0][k] = test::e4m3(a[k]);
    B[k][0] = test::e4m3(b[k]);
  }
  float C[16][8] = {};
  C[0][0] = c;
  uint32_t ra[kWarpSize][4], rb[kWarpSize][2];
  float rc[kWarpSize][4], rd[kWarpSize][4];
  test::pack_k32(A, B, ra, rb);
  test::pack_c(C, rc);
  mma_m16n8k32_fp8_f32(Fp8Type::kE4M3, Fp8Type::kE4M3, ra, rb, rc, rd, model);
  float D[16][8];
  test::unpack_d(rd, D);
  return D[0][0];
}

Fp8MmaModel hopper() { return Fp8MmaModel{}; }
Fp8MmaModel fp32() {
  Fp8MmaModel m;
  m.accum = Fp8Accum::kFp32;
  return m;
}

TEST(Fp8Accumulation, SmallProductsBelow2ToMinus13OfTheMaxVanish) {
  float a[32], b[32];
  a[0] = 1.0f, b[0] = 1.0f;  // the largest product: 2^0
  for (int k = 1; k < 32; ++k) a[k] = std::ldexp(1.0f, -7), b[k] = std::ldexp(1.0f, -7);  // 2^-14
  EXPECT_EQ(dot32(a, b, 0.0f, hopper()), 1.0f);
  EXPECT_EQ(dot32(a, b, 0.0f, fp32()), 1.0f + 31 * std::ldexp(1.0f, -14));
  // Negative: truncation is toward zero.
  a[0] = -1.0f;
  for (int k = 1; k < 32; ++k) a[k] = -std::ldexp(1.0f, -7);
  EXPECT_EQ(dot32(a, b, 0.0f, hopper()), -1.0f);
  EXPECT_EQ(dot32(a, b, 0.0f, fp32()), -(1.0f + 31 * std::ldexp(1.0f, -14)));
}

TEST(Fp8Accumulation, ProductsAt2ToMinus13OfTheMaxSurvive) {
  float a[32], b[32];
  a[0] = 1.0f, b[0] = 1.0f;
  for (int k = 1; k < 32; ++k) a[k] = std::ldexp(1.0f, -6), b[k] = std::ldexp(1.0f, -7);  // 2^-13
  const float want = 1.0f + 31 * std::ldexp(1.0f, -13);  // 14 significant bits: fits FP22
  EXPECT_EQ(dot32(a, b, 0.0f, hopper()), want);
  EXPECT_EQ(dot32(a, b, 0.0f, fp32()), want);
}

TEST(Fp8Accumulation, AccumulatorTakesPartInTheAlignment) {
  float a[32], b[32];
  for (int k = 0; k < 32; ++k) a[k] = std::ldexp(1.0f, -7), b[k] = std::ldexp(1.0f, -7);  // 2^-14
  // c = 1 sets the maximum exponent: the 32 products fall below 2^-13 and vanish.
  EXPECT_EQ(dot32(a, b, 1.0f, hopper()), 1.0f);
  EXPECT_EQ(dot32(a, b, 1.0f, fp32()), 1.0f + std::ldexp(1.0f, -9));
  // The option align_with_c = false sums the products exactly (aligned among themselves) and adds
  // c afterwards: 1 + 32 * 2^-14 = 1 + 2^-9 fits FP22.
  Fp8MmaModel m = hopper();
  m.align_with_c = false;
  EXPECT_EQ(dot32(a, b, 1.0f, m), 1.0f + std::ldexp(1.0f, -9));
  // c itself is kept to 13 fraction bits: 1 + 2^-20 becomes 1 when it is the largest addend.
  float z[32] = {};
  EXPECT_EQ(dot32(z, z, 1.0f + std::ldexp(1.0f, -20), hopper()), 1.0f);
  EXPECT_EQ(dot32(z, z, 1.0f + std::ldexp(1.0f, -20), fp32()), 1.0f + std::ldexp(1.0f, -20));
}

TEST(Fp8Accumulation, ResultIsTruncatedToFp22) {
  float a[32] = {}, b[32] = {};
  // 2^13 + 1 needs 14 fraction bits: exact in the products' sum, truncated by the FP22 result.
  a[0] = 256.0f, b[0] = 32.0f;  // 2^13
  a[1] = 256.0f, b[1] = 32.0f;  // 2^13 -> sum 2^14, max exponent 13
  a[2] = 1.0f, b[2] = 1.0f;     // 1 = 2^(13 - 13): kept by the alignment, lost in FP22
  EXPECT_EQ(dot32(a, b, 0.0f, hopper()), 16384.0f);
  EXPECT_EQ(dot32(a, b, 0.0f, fp32()), 16385.0f);
  Fp8MmaModel wide = hopper();
  wide.accum_mantissa_bits = 23;
  EXPECT_EQ(dot32(a, b, 0.0f, wide), 16385.0f);
}

// K = 4096 in one accumulator (128 chained m16n8k32) against the same with the partial sum of
// every 128 of K (4 MMAs) promoted into an FP32 sum, as DeepGEMM does on Hopper.
TEST(Fp8Accumulation, PromotionEvery128OfKBoundsTheError) {
  constexpr int K = 4096;
  std::mt19937 rng(2024);
  // Positive e4m3 values in [0.5, 2): the accumulator grows ~K times larger than each product.
  std::vector<uint8_t> codes;
  for (int c = 0; c < 127; ++c) {
    const float v = e4m3_to_float(static_cast<uint8_t>(c));
    if (v >= 0.5f && v < 2.0f) codes.push_back(static_cast<uint8_t>(c));
  }
  std::vector<uint8_t> A(16 * K), B(K * 8);
  for (auto &x : A) x = codes[rng() % codes.size()];
  for (auto &x : B) x = codes[rng() % codes.size()];

  double err_chain = 0, err_promoted = 0, err_fp32 = 0;
  float chain[kWarpSize][4] = {}, partial[kWarpSize][4] = {}, exact32[kWarpSize][4] = {};
  float promoted[16][8] = {};
  for (int step = 0; step < K / 32; ++step) {
    uint8_t As[16][32], Bs[32][8];
    for (int i = 0; i < 16; ++i)
      for (int k = 0; k < 32; ++k) As[i][k] = A[i * K + step * 32 + k];
    for (int k = 0; k < 32; ++k)
      for (int j = 0; j < 8; ++j) Bs[k][j] = B[(step * 32 + k) * 8 + j];
    uint32_t a[kWarpSize][4], b[kWarpSize][2];
    test::pack_k32(As, Bs, a, b);
    mma_m16n8k32_e4m3_f32(a, b, chain, chain, Fp8Accum::kHopper);
    mma_m16n8k32_e4m3_f32(a, b, partial, partial, Fp8Accum::kHopper);
    mma_m16n8k32_e4m3_f32(a, b, exact32, exact32, Fp8Accum::kFp32);
    if ((step + 1) % 4 == 0) {  // 128 of K done: promote into FP32 and restart the partial sum
      float P[16][8];
      test::unpack_d(partial, P);
      for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 8; ++j) promoted[i][j] += P[i][j];
      for (auto &r : partial)
        for (auto &x : r) x = 0.0f;
    }
  }
  float Dc[16][8], Df[16][8];
  test::unpack_d(chain, Dc);
  test::unpack_d(exact32, Df);
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 8; ++j) {
      double ref = 0;
      for (int k = 0; k < K; ++k)
        ref += static_cast<double>(e4m3_to_float(A[i * K + k])) * e4m3_to_float(B[k * 8 + j]);
      err_chain = std::max(err_chain, std::fabs(Dc[i][j] - ref) / ref);
      err_promoted = std::max(err_promoted, std::fabs(promoted[i][j] - ref) / ref);
      err_fp32 = std::max(err_fp32, std::fabs(Df[i][j] - ref) / ref);
    }
  }
  std::printf("K=%d max relative error: hopper chain %.3g, hopper + promotion every 128 %.3g, "
              "fp32 chain %.3g\n", K, err_chain, err_promoted, err_fp32);
  EXPECT_GT(err_chain, 1e-3);
  EXPECT_GT(err_chain, 20 * err_promoted);
  EXPECT_LT(err_promoted, 1e-3);
  EXPECT_LT(err_fp32, 1e-5);
}

}  // namespace
}  // namespace k4j::emu::ptx
