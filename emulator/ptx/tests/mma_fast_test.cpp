// The fast MMA models (mma.cpp) against the exact reference models (mma_reference.cpp), bit for
// bit, on random calls that include the hard cases of the fast path: cancellation, exact ties and
// near-ties at float rounding boundaries, subnormals, huge exponent spreads, Inf/NaN, signed zeros.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <tuple>
#include <vector>

#include "../src/fp_internal.h"
#include "k4j_emu/ptx_ops.h"
#include "test_util.h"

namespace k4j::emu::ptx {
namespace {

// Per test (each test one element type and accumulation model). 200,000 ran clean when the fast path
// was written; 20,000 keep the CI run short (the reference is ~40 us per call).
constexpr int kCalls = 20000;

// An element format: value of a code, code count, power-of-two exponent range.
struct Format {
  float (*value)(uint32_t);
  uint32_t codes;
  int min_pow2, max_pow2;
};
float f16v(uint32_t c) { return f16_to_float(static_cast<uint16_t>(c)); }
float bf16v(uint32_t c) { return bf16_to_float(static_cast<uint16_t>(c)); }
float e4m3v(uint32_t c) { return e4m3_to_float(static_cast<uint8_t>(c)); }
float e5m2v(uint32_t c) { return e5m2_to_float(static_cast<uint8_t>(c)); }
const Format kF16{f16v, 65536, -24, 15};
const Format kBf16{bf16v, 65536, -133, 127};
const Format kE4m3{e4m3v, 256, -9, 8};
const Format kE5m2{e5m2v, 256, -16, 15};

// Code of +-2^e (e within the format's range), found by search: the formats are small.
uint32_t pow2_code(const Format &f, int e, bool neg) {
  static thread_local std::vector<std::pair<const Format *, std::vector<uint32_t>>> cache;
  for (auto &[fmt, tab] : cache)
    if (fmt == &f) return tab[(e - f.min_pow2) * 2 + neg];
  std::vector<uint32_t> tab((f.max_pow2 - f.min_pow2 + 1) * 2);
  for (uint32_t c = f.codes; c-- > 0;) {
    const float v = f.value(c);
    if (v == 0 || !std::isfinite(v)) continue;
    int ex;
    if (std::frexp(std::fabs(v), &ex) != 0.5f) continue;
    if (ex - 1 >= f.min_pow2 && ex - 1 <= f.max_pow2) tab[(ex - 1 - f.min_pow2) * 2 + (v < 0)] = c;
  }
  cache.emplace_back(&f, tab);
  return pow2_code(f, e, neg);
}

// The finite codes of f with |value| in [2^lo, 2^hi] or zero (cached: the generator is hot).
const std::vector<uint32_t> &codes_between(const Format &f, int lo, int hi) {
  static thread_local std::vector<std::tuple<const Format *, int, int, std::vector<uint32_t>>> cache;
  for (auto &[fmt, l, h, codes] : cache)
    if (fmt == &f && l == lo && h == hi) return codes;
  std::vector<uint32_t> codes;
  for (uint32_t c = 0; c < f.codes; ++c) {
    const float v = std::fabs(f.value(c));
    if (std::isfinite(v) && (v == 0 || (v >= std::ldexp(1.0f, lo) && v <= std::ldexp(1.0f, hi))))
      codes.push_back(c);
  }
  cache.emplace_back(&f, lo, hi, std::move(codes));
  return std::get<3>(cache.back());
}

template <int K>
struct Call {
  uint32_t A[16][K], B[K][8];
  float C[16][8];
};

// One random call in one of several modes.
template <int K>
void generate(const Format &f, std::mt19937_64 &rng, Call<K> &call) {
  auto u = [&rng](uint64_t n) { return static_cast<uint32_t>(rng() % n); };
  auto finite_code = [&](int lo_exp, int hi_exp) {  // random finite code, |v| in [2^lo, 2^hi]
    const std::vector<uint32_t> &codes = codes_between(f, lo_exp, hi_exp);
    return codes[u(codes.size())];
  };
  auto random_float = [&]() {
    const uint32_t bits = static_cast<uint32_t>(rng());
    float v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  };
  const int mode = static_cast<int>(u(7));
  const int lo = f.min_pow2, hi = f.max_pow2;
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < K; ++k) call.A[i][k] = mode <= 1 ? u(f.codes) : finite_code(-3, 3);
  for (int k = 0; k < K; ++k)
    for (int j = 0; j < 8; ++j) call.B[k][j] = mode <= 1 ? u(f.codes) : finite_code(-3, 3);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j) call.C[i][j] = random_float();
  switch (mode) {
    case 0:  // any bits: Inf/NaN, subnormals, huge spreads
      break;
    case 1:  // finite, every exponent: subnormals and huge spreads
      for (int i = 0; i < 16; ++i)
        for (int k = 0; k < K; ++k)
          if (!std::isfinite(f.value(call.A[i][k]))) call.A[i][k] = finite_code(lo, hi);
      for (int k = 0; k < K; ++k)
        for (int j = 0; j < 8; ++j)
          if (!std::isfinite(f.value(call.B[k][j]))) call.B[k][j] = finite_code(lo, hi);
      for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 8; ++j)
          if (!std::isfinite(call.C[i][j])) call.C[i][j] = 0.0f;
      break;
    case 2:  // narrow exponents, c of the same scale
      for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 8; ++j)
          call.C[i][j] = std::ldexp(static_cast<float>(u(1u << 24)), -20 + static_cast<int>(u(8))) *
                         (u(2) ? 1.0f : -1.0f);
      break;
    case 3:  // cancellation: c = -(the products' sum rounded), so the exact sum is tiny or zero
    case 4: {
      for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 8; ++j) {
          double s = 0;
          for (int k = 0; k < K; ++k) s += double(f.value(call.A[i][k])) * f.value(call.B[k][j]);
          call.C[i][j] = -static_cast<float>(s);
          if (mode == 4) call.C[i][j] = std::nextafter(call.C[i][j], u(2) ? 1.0f : -1.0f);
        }
      break;
    }
    case 6: {  // zero rows of A and zero columns of B (tile tails, padding rows), signed zeros in c,
               // and rows whose truncated sum cancels to zero
      // Zeros mostly of one sign per row / column, so that every product of a zero row and a zero
      // column can be a negative zero (the sum is then -0 when c is -0 too).
      for (int i = 0; i < 16; ++i)
        if (u(2)) {
          const uint32_t z = u(2) ? 0 : (f.codes >> 1);
          for (int k = 0; k < K; ++k) call.A[i][k] = u(8) ? z : (z ^ (f.codes >> 1));
        }
      for (int j = 0; j < 8; ++j)
        if (u(3) == 0) {
          const uint32_t z = u(2) ? 0 : (f.codes >> 1);
          for (int k = 0; k < K; ++k) call.B[k][j] = u(8) ? z : (z ^ (f.codes >> 1));
        }
      for (int i = 0; i < 16; ++i) {
        if (u(4) == 0) {  // a cancelling pair: v*w - v*w, the rest zero
          for (int k = 0; k < K; ++k) call.A[i][k] = 0;
          call.A[i][0] = finite_code(-3, 3);
          call.A[i][1] = call.A[i][0] ^ (f.codes >> 1);
          for (int j = 0; j < 8; ++j) call.B[1][j] = call.B[0][j];
        }
        for (int j = 0; j < 8; ++j) call.C[i][j] = u(3) == 0 ? call.C[i][j] : (u(2) ? 0.0f : -0.0f);
      }
      break;
    }
    case 5: {  // exact ties and near-ties: c + (+-2^x) + sticky (+-2^(x-d) or 0) + cancelling pairs
      const int ax = lo + static_cast<int>(u(hi - lo + 1));
      const int bx = lo + static_cast<int>(u(hi - lo + 1));
      const int x = ax + bx;
      for (int i = 0; i < 16; ++i) {
        for (int k = 0; k < K; ++k) call.A[i][k] = 0;  // +0 in every format
        call.A[i][0] = pow2_code(f, ax, u(2));
        call.A[i][1] = u(3) ? pow2_code(f, ax, u(2)) : 0;
        const uint32_t v = finite_code(lo, hi);
        call.A[i][2] = v;
        call.A[i][3] = v ^ (f.codes >> 1);  // the sign bit: -v
        if (u(4) == 0) call.A[i][2 + static_cast<int>(u(K - 2))] = u(f.codes);  // noise
      }
      for (int k = 0; k < K; ++k)
        for (int j = 0; j < 8; ++j) call.B[k][j] = u(2) ? 0 : (f.codes >> 1);  // +-0
      for (int j = 0; j < 8; ++j) {
        call.B[0][j] = pow2_code(f, bx, u(2));
        const int sb = bx - 1 - static_cast<int>(u(30));
        call.B[1][j] = sb >= lo && u(2) ? pow2_code(f, sb, u(2)) : 0;
        const uint32_t w = finite_code(lo, hi);
        call.B[2][j] = w;
        call.B[3][j] = w;
      }
      for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 8; ++j) {
          // ulp(c) = 2^(x+1): the product 2^x is half an ulp (when c is in float's range).
          const double m = u(8) == 0 ? u(1u << 23) : (1u << 23) + u(1u << 23);
          call.C[i][j] = static_cast<float>(std::ldexp(m, x + 1) * (u(2) ? 1 : -1));
          if (u(16) == 0) call.C[i][j] = u(2) ? 0.0f : -0.0f;
        }
      break;
    }
  }
}

template <typename Code, int K>
void pack(const Call<K> &call, uint32_t (*a)[4], uint32_t (*b)[2], float (*c)[4]) {
  Code A[16][K], B[K][8];
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < K; ++k) A[i][k] = static_cast<Code>(call.A[i][k]);
  for (int k = 0; k < K; ++k)
    for (int j = 0; j < 8; ++j) B[k][j] = static_cast<Code>(call.B[k][j]);
  if constexpr (K == 16) test::pack_k16(A, B, a, b); else test::pack_k32(A, B, a, b);
  test::pack_c(call.C, c);
}

// Runs kCalls random calls through `fast` and `ref`; counts the differing calls (reports the first).
template <typename Code, int K, typename Fast, typename Ref>
void compare(const Format &f, uint64_t seed, Fast fast, Ref ref) {
  std::mt19937_64 rng(seed);
  Call<K> call;
  uint32_t a[32][4], b[32][2];
  float c[32][4], d_fast[32][4], d_ref[32][4];
  int bad = 0;
  for (int n = 0; n < kCalls; ++n) {
    generate<K>(f, rng, call);
    pack<Code, K>(call, a, b, c);
    fast(a, b, c, d_fast, n);
    ref(a, b, c, d_ref, n);
    if (std::memcmp(d_fast, d_ref, sizeof d_ref) != 0) {
      if (bad++ == 0) {
        for (int l = 0; l < 32; ++l)
          for (int r = 0; r < 4; ++r)
            if (std::memcmp(&d_fast[l][r], &d_ref[l][r], 4) != 0)
              ADD_FAILURE() << "call " << n << " lane " << l << " reg " << r << ": fast "
                            << std::hexfloat << d_fast[l][r] << " reference " << d_ref[l][r];
      }
    }
  }
  EXPECT_EQ(bad, 0) << "calls differing from the reference, of " << kCalls;
}

TEST(MmaFast, F16MatchesReference) {
  compare<uint16_t, 16>(kF16, 1, [](auto a, auto b, auto c, auto d, int) {
    mma_m16n8k16_f16_f32(a, b, c, d);
  }, [](auto a, auto b, auto c, auto d, int) { detail::mma_m16n8k16_f16_f32_reference(a, b, c, d); });
}

TEST(MmaFast, Bf16MatchesReference) {
  compare<uint16_t, 16>(kBf16, 2, [](auto a, auto b, auto c, auto d, int) {
    mma_m16n8k16_bf16_f32(a, b, c, d);
  }, [](auto a, auto b, auto c, auto d, int) { detail::mma_m16n8k16_bf16_f32_reference(a, b, c, d); });
}

// FP8 calls alternate e4m3, e5m2 and the mixes; the Hopper test also varies the model.
Fp8Type type_b(int n) { return n % 2 == 0 ? Fp8Type::kE4M3 : Fp8Type::kE5M2; }

void compare_fp8(Fp8Accum accum, uint64_t seed) {
  for (int half = 0; half < 2; ++half) {  // operand A's format drives the generator
    const Format &f = half == 0 ? kE4m3 : kE5m2;
    auto model = [accum](int n) {
      Fp8MmaModel m;
      m.accum = accum;
      if (accum == Fp8Accum::kHopper && n % 3 != 0) {  // a third keep the defaults
        m.product_fraction_bits = 1 + (n * 7919) % 60;
        m.accum_mantissa_bits = 1 + (n * 104729) % 23;
        m.align_with_c = n % 5 != 0;
      }
      return m;
    };
    // Same-format calls (B from the generator too) and mixed ones (B reinterpreted).
    compare<uint8_t, 32>(f, seed + half, [&](auto a, auto b, auto c, auto d, int n) {
      mma_m16n8k32_fp8_f32(half == 0 ? Fp8Type::kE4M3 : Fp8Type::kE5M2,
                           n % 2 ? type_b(n) : (half == 0 ? Fp8Type::kE4M3 : Fp8Type::kE5M2),
                           a, b, c, d, model(n));
    }, [&](auto a, auto b, auto c, auto d, int n) {
      detail::mma_m16n8k32_fp8_f32_reference(
          half == 0 ? Fp8Type::kE4M3 : Fp8Type::kE5M2,
          n % 2 ? type_b(n) : (half == 0 ? Fp8Type::kE4M3 : Fp8Type::kE5M2), a, b, c, d,
          model(n));
    });
  }
}

TEST(MmaFast, Fp8Fp32MatchesReference) { compare_fp8(Fp8Accum::kFp32, 3); }
TEST(MmaFast, Fp8HopperMatchesReference) { compare_fp8(Fp8Accum::kHopper, 5); }

}  // namespace
}  // namespace k4j::emu::ptx
