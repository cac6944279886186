// mma.sync models, fast form. Same bits as the exact reference models (mma_reference.cpp): the
// operands are decoded once per call into doubles (every product of two f16/bf16/FP8 values is
// exact in double, and no sum of these operands overflows or underflows double), each D element is
// summed with error-free transformations, and only the elements whose correct rounding the fast
// path cannot prove go through the reference accumulator.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "fp_internal.h"
#include "k4j_emu/ptx_ops.h"

namespace k4j::emu::ptx {
namespace {
using detail::Decoded;

constexpr int kM = 16;
constexpr int kN = 8;

double pow2(int e) {  // 2^e for e in double's normal range
  const uint64_t bits = static_cast<uint64_t>(e + 1023) << 52;
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

uint64_t bits_of(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// The operands of one call: doubles for the fast path, raw codes for the reference fallback.
template <int K, typename Code>
struct Tile {
  double a[kM][K];
  double b[K][kN];  // row k contiguous over the 8 columns: the inner loops run over j
  double c[kM][kN];
  Code acode[kM][K];
  Code bcode[K][kN];
  float cf[kM][kN];
};

// Reference terms of element (i, j): the K products, then c.
template <int K, typename Code, typename DecA, typename DecB>
void reference_terms(const Tile<K, Code> &t, int i, int j, DecA deca, DecB decb, Decoded *terms) {
  for (int k = 0; k < K; ++k) terms[k] = detail::product(deca(t.acode[i][k]), decb(t.bcode[k][j]));
  terms[K] = detail::decode_f32(t.cf[i][j]);
}

// f = float(hi + lo) when the exact sum, known to lie within delta of hi + lo, provably rounds
// (nearest even) to f; false otherwise: within ~delta of a midpoint, a zero result (whose sign the
// reference decides from the addends), Inf/NaN. hi + lo must be an exact sum of two doubles with
// |lo| <= ulp(hi) / 2.
bool round_checked(double hi, double lo, double delta, float *out) {
  const float f = static_cast<float>(hi);
  if (!std::isfinite(f) || f == 0.0f) return false;
  const double t = (hi - static_cast<double>(f)) + lo;  // hi - f exact (Sterbenz)
  // Half of the smaller gap next to f: the exact sum rounds to f when it is nearer than that.
  uint32_t fb;
  std::memcpy(&fb, &f, sizeof fb);
  const int ef = static_cast<int>((fb >> 23) & 0xFF);
  int gap_exp = ef == 0 ? -149 : ef - 150;
  if ((fb & 0x7FFFFF) == 0 && ef > 1) --gap_exp;  // a power of two: the gap below is half
  if (!(std::fabs(t) * (1.0 + 0x1p-52) + delta < pow2(gap_exp - 1))) return false;
  *out = f;
  return true;
}

// Second tier for one element: TwoSum keeps the sum as s + sum(err) exactly (s + p == s' + err);
// sum(err) is formed in plain double with a rigorous bound. Every value is a multiple of 2^-266
// (bf16 products) and below 2^262: no underflow or overflow.
template <int K>
bool sum_fp32_twosum(const double (&a)[K], const double (&b)[K][kN], double c, int j,
                     float *out) {
  double s = c, e = 0.0, eabs = 0.0;
  for (int k = 0; k < K; ++k) {
    const double p = a[k] * b[k][j];
    const double sum = s + p;
    const double bb = sum - s;
    const double err = (s - (sum - bb)) + (p - bb);
    s = sum;
    e += err;
    eabs += std::fabs(err);
  }
  if (!std::isfinite(s)) return false;  // an Inf/NaN addend: IEEE specials by the reference
  if (eabs == 0.0) {  // every step exact: s is the exact sum (zero's sign included)
    *out = static_cast<float>(s);
    return true;
  }
  // |e - sum(err)| <= (K-1) u sum|err| < 2^-47 * eabs (u = 2^-53, K <= 32, eabs's own error
  // included).
  const double hi = s + e;
  const double bb = hi - s;
  const double lo = (s - (hi - bb)) + (e - bb);  // exact sum = hi + lo +- delta
  return round_checked(hi, lo, eabs * 0x1p-47, out);
}

// Exponent of the last set bit of a finite non-zero v; 4096 for zeros and Inf/NaN.
int lsb_exp(double v) {
  const uint64_t bits = bits_of(v);
  const int e = static_cast<int>((bits >> 52) & 0x7FF);
  const uint64_t mant = (bits & ((uint64_t{1} << 52) - 1)) | (e != 0 ? uint64_t{1} << 52 : 0);
  if (e == 0x7FF || mant == 0) return 4096;
  return (e != 0 ? e : 1) - 1075 + __builtin_ctzll(mant);
}

// Exact sum of a row's products and c, rounded once to FP32 (nearest even), in three tiers:
//  1. a plain double sum s. When every addend is a multiple of 2^L (lsb_row + lsb_col[j] bounds L
//     from below) and sum|addend| < 2^(L+52), every partial sum is a multiple of 2^L below
//     2^(L+53): s is exact (ties and zero signs included). Otherwise the bound
//     |exact - s| <= K u sum|addend| < 2^-47 sum|addend| (K + 1 <= 33 addends, u = 2^-53, the
//     bound's own rounding included) often suffices.
//  2. TwoSum (sum_fp32_twosum).
//  3. ok[j] false leaves the element to the reference.
template <int K>
void sum_fp32_row(const double (&a)[K], const double (&b)[K][kN], const double (&c)[kN],
                  int lsb_row, const int (&lsb_col)[kN], float (&out)[kN], bool (&ok)[kN]) {
  double s[kN], m[kN];
  for (int j = 0; j < kN; ++j) {
    s[j] = c[j];
    m[j] = std::fabs(c[j]);
  }
  for (int k = 0; k < K; ++k) {
    // 8 independent chains, no reassociation; unrolled so that s and m stay in registers.
#pragma GCC unroll 8
    for (int j = 0; j < kN; ++j) {
      const double p = a[k] * b[k][j];
      s[j] += p;
      m[j] += std::fabs(p);
    }
  }
  for (int j = 0; j < kN; ++j) {
    ok[j] = true;
    if (!std::isfinite(m[j])) {
      ok[j] = false;  // an Inf/NaN addend: IEEE specials by the reference
      continue;
    }
    int lsb = std::min(lsb_row + lsb_col[j], lsb_exp(c[j]));
    if (m[j] == 0.0 || m[j] < pow2(std::min(lsb + 52, 1000))) {  // exact (all zeros: IEEE sign)
      out[j] = static_cast<float>(s[j]);
      continue;
    }
    ok[j] = round_checked(s[j], 0.0, m[j] * 0x1p-47, &out[j]) ||
            sum_fp32_twosum<K>(a, b, c[j], j, &out[j]);
  }
}

// The kHopper model with align_with_c and product_fraction_bits <= 56 for one row: the truncated
// addends are integers below 2^57 in units of 2^q, so 33 of them sum exactly in int64, and
// double -> int64 conversion truncates toward zero, which is the model's truncation. A zero sum
// follows the reference's sign rule: -0 only when every addend is a negative zero (a product's
// zero carries the XOR of its factors' signs, as the double product does). ok[j] false leaves the
// element to the reference (Inf/NaN addends).
template <int K>
void sum_hopper_row(const double (&a)[K], const double (&b)[K][kN], const double (&c)[kN],
                    const Fp8MmaModel &m, float (&out)[kN], bool (&ok)[kN]) {
  double amax[kN], check[kN];
  bool all_neg[kN];  // every addend so far has its sign bit set
  for (int j = 0; j < kN; ++j) {
    amax[j] = std::fabs(c[j]);
    check[j] = c[j];
    all_neg[j] = std::signbit(c[j]);
  }
  for (int k = 0; k < K; ++k) {
#pragma GCC unroll 8
    for (int j = 0; j < kN; ++j) {
      const double p = a[k] * b[k][j];
      const double ap = std::fabs(p);
      amax[j] = ap > amax[j] ? ap : amax[j];  // the largest exponent is the largest |addend|'s
      check[j] += p;                          // not finite iff some addend is Inf/NaN
      all_neg[j] = all_neg[j] && std::signbit(p);
    }
  }
  for (int j = 0; j < kN; ++j) {
    ok[j] = false;
    if (!std::isfinite(check[j])) continue;
    if (amax[j] == 0.0) {  // every addend a zero (zero rows and tails of a tile)
      out[j] = all_neg[j] ? -0.0f : 0.0f;
      ok[j] = true;
      continue;
    }
    const int emax = static_cast<int>((bits_of(amax[j]) >> 52) & 0x7FF) - 1023;  // all normal
    const int q = emax - m.product_fraction_bits;
    const double scale = pow2(-q);  // exact scaling: q in [-205, 126]
    int64_t sum = static_cast<int64_t>(c[j] * scale);
    for (int k = 0; k < K; ++k) sum += static_cast<int64_t>(a[k] * b[k][j] * scale);
    if (sum == 0) {  // some addend is non-zero: not every addend is a negative zero
      out[j] = 0.0f;
      ok[j] = true;
      continue;
    }
    // Truncation toward zero to accum_mantissa_bits, as detail::round_u128(..., nearest = false).
    const bool neg = sum < 0;
    const uint64_t mag = neg ? 0 - static_cast<uint64_t>(sum) : static_cast<uint64_t>(sum);
    const int lead = 63 - __builtin_clzll(mag) + q;
    ok[j] = true;
    if (lead >= 128) {
      out[j] = neg ? -HUGE_VALF : HUGE_VALF;
      continue;
    }
    int q_exp = lead - m.accum_mantissa_bits;
    if (q_exp < -126 - m.accum_mantissa_bits) q_exp = -126 - m.accum_mantissa_bits;
    const int shift = q_exp - q;
    const uint64_t kept = shift <= 0 ? mag << -shift : (shift < 64 ? mag >> shift : 0);
    const float v = static_cast<float>(static_cast<double>(kept) * pow2(q_exp));  // exact
    out[j] = neg ? -v : v;
  }
}

// The fragment maps of a shape as flat indices into Tile's arrays, built once: calling the map
// functions for every element of every call costs more than the arithmetic.
template <int K>
struct FragMaps {
  static constexpr int kPerReg = K / 8;  // 2 f16/bf16 or 4 FP8 elements per 32-bit register
  int a[kWarpSize][4][kPerReg];          // row * K + col
  int b[kWarpSize][2][kPerReg];          // row * kN + col
  int c[kWarpSize][4];                   // row * kN + col
  FragMaps() {
    for (int lane = 0; lane < kWarpSize; ++lane) {
      for (int r = 0; r < 4; ++r) {
        for (int e = 0; e < kPerReg; ++e) {
          const RowCol rc = K == 16 ? frag_m16n8k16_a(lane, r, e) : frag_m16n8k32_a(lane, r, e);
          a[lane][r][e] = rc.row * K + rc.col;
        }
        const RowCol rc = K == 16 ? frag_m16n8k16_c(lane, r) : frag_m16n8k32_c(lane, r);
        c[lane][r] = rc.row * kN + rc.col;
      }
      for (int r = 0; r < 2; ++r) {
        for (int e = 0; e < kPerReg; ++e) {
          const RowCol rc = K == 16 ? frag_m16n8k16_b(lane, r, e) : frag_m16n8k32_b(lane, r, e);
          b[lane][r][e] = rc.row * kN + rc.col;
        }
      }
    }
  }
  static const FragMaps &get() {
    static const FragMaps maps;
    return maps;
  }
};

// Unpacks A, B (codes and values) and C through the fragment maps.
template <int K, typename Code, typename ValueA, typename ValueB>
void unpack(const uint32_t (*a)[4], const uint32_t (*b)[2], const float (*c)[4], ValueA value_a,
            ValueB value_b, Tile<K, Code> &t) {
  const FragMaps<K> &maps = FragMaps<K>::get();
  constexpr int kBits = 32 / FragMaps<K>::kPerReg;
  for (int lane = 0; lane < kWarpSize; ++lane) {
    for (int r = 0; r < 4; ++r) {
      for (int e = 0; e < FragMaps<K>::kPerReg; ++e) {
        const auto code = static_cast<Code>(a[lane][r] >> (kBits * e));
        (&t.acode[0][0])[maps.a[lane][r][e]] = code;
        (&t.a[0][0])[maps.a[lane][r][e]] = value_a(code);
      }
      (&t.cf[0][0])[maps.c[lane][r]] = c[lane][r];
      (&t.c[0][0])[maps.c[lane][r]] = c[lane][r];
    }
    for (int r = 0; r < 2; ++r) {
      for (int e = 0; e < FragMaps<K>::kPerReg; ++e) {
        const auto code = static_cast<Code>(b[lane][r] >> (kBits * e));
        (&t.bcode[0][0])[maps.b[lane][r][e]] = code;
        (&t.b[0][0])[maps.b[lane][r][e]] = value_b(code);
      }
    }
  }
}

template <int K>
void pack_d(const float (&out)[kM][kN], float (*d)[4]) {
  const FragMaps<K> &maps = FragMaps<K>::get();
  for (int lane = 0; lane < kWarpSize; ++lane)
    for (int r = 0; r < 4; ++r) d[lane][r] = (&out[0][0])[maps.c[lane][r]];
}

// FP32-model result of every element, the reference deciding where the fast path cannot.
template <int K, typename Code, typename DecA, typename DecB>
void compute_fp32(const Tile<K, Code> &t, DecA deca, DecB decb, float (&out)[kM][kN]) {
  // Lowest set bit of each row of A and column of B: products are multiples of 2^(sum).
  int lsb_row[kM], lsb_col[kN];
  for (int i = 0; i < kM; ++i) {
    lsb_row[i] = 4096;
    for (int k = 0; k < K; ++k) lsb_row[i] = std::min(lsb_row[i], lsb_exp(t.a[i][k]));
  }
  for (int j = 0; j < kN; ++j) {
    lsb_col[j] = 4096;
    for (int k = 0; k < K; ++k) lsb_col[j] = std::min(lsb_col[j], lsb_exp(t.b[k][j]));
  }
  for (int i = 0; i < kM; ++i) {
    bool ok[kN];
    sum_fp32_row<K>(t.a[i], t.b, t.c[i], lsb_row[i], lsb_col, out[i], ok);
    for (int j = 0; j < kN; ++j) {
      if (ok[j]) continue;
      Decoded terms[K + 1];
      reference_terms(t, i, j, deca, decb, terms);
      out[i][j] = detail::sum_fp32_reference(terms, K + 1);
    }
  }
}

// f16 -> float without a table: the bit layout widened (exact).
float f16_value(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 31u, m = h & 1023u;
  float v;
  if (e == 0) {
    v = static_cast<float>(m) * 0x1p-24f;  // zero or subnormal
  } else {
    const uint32_t bits = e == 31 ? (0xFFu << 23) | (m << 13) : ((e + 112) << 23) | (m << 13);
    std::memcpy(&v, &bits, sizeof v);
  }
  uint32_t vb;
  std::memcpy(&vb, &v, sizeof vb);
  vb |= sign;
  std::memcpy(&v, &vb, sizeof v);
  return v;
}

float bf16_value(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

template <float (*Value)(uint16_t), Decoded (*Dec)(uint16_t)>
void mma_m16n8k16(const uint32_t (*a)[4], const uint32_t (*b)[2], const float (*c)[4],
                  float (*d)[4]) {
  Tile<16, uint16_t> t;
  unpack(a, b, c, Value, Value, t);
  float out[kM][kN];
  compute_fp32(t, Dec, Dec, out);
  pack_d<16>(out, d);
}

// Values of all 256 codes of an FP8 format, from the exact decoder (built once, thread-safe).
const float *fp8_values(Fp8Type type) {
  struct Tables {
    float v[2][256];
    Tables() {
      for (int i = 0; i < 256; ++i) {
        v[0][i] = detail::to_float(detail::decode_e4m3(static_cast<uint8_t>(i)));
        v[1][i] = detail::to_float(detail::decode_e5m2(static_cast<uint8_t>(i)));
      }
    }
  };
  static const Tables tables;
  return tables.v[type == Fp8Type::kE4M3 ? 0 : 1];
}
}  // namespace

void mma_m16n8k16_f16_f32(const uint32_t (*a)[4], const uint32_t (*b)[2], const float (*c)[4],
                          float (*d)[4]) {
  mma_m16n8k16<f16_value, detail::decode_f16>(a, b, c, d);
}

void mma_m16n8k16_bf16_f32(const uint32_t (*a)[4], const uint32_t (*b)[2], const float (*c)[4],
                           float (*d)[4]) {
  mma_m16n8k16<bf16_value, detail::decode_bf16>(a, b, c, d);
}

void mma_m16n8k32_fp8_f32(Fp8Type atype, Fp8Type btype, const uint32_t (*a)[4],
                          const uint32_t (*b)[2], const float (*c)[4], float (*d)[4],
                          const Fp8MmaModel &model) {
  detail::check_fp8_model(model);
  const bool hopper = model.accum == Fp8Accum::kHopper;
  if (hopper && (!model.align_with_c || model.product_fraction_bits > 56)) {
    detail::mma_m16n8k32_fp8_f32_reference(atype, btype, a, b, c, d, model);  // no fast form
    return;
  }
  const float *aval = fp8_values(atype);
  const float *bval = fp8_values(btype);
  Tile<32, uint8_t> t;
  unpack(a, b, c, [aval](uint8_t x) { return aval[x]; }, [bval](uint8_t x) { return bval[x]; }, t);
  auto deca = [atype](uint8_t x) { return detail::decode_fp8(atype, x); };
  auto decb = [btype](uint8_t x) { return detail::decode_fp8(btype, x); };
  float out[kM][kN];
  if (!hopper) {
    compute_fp32(t, deca, decb, out);
  } else {
    for (int i = 0; i < kM; ++i) {
      bool ok[kN];
      sum_hopper_row<32>(t.a[i], t.b, t.c[i], model, out[i], ok);
      for (int j = 0; j < kN; ++j) {
        if (ok[j]) continue;
        Decoded terms[33];
        reference_terms(t, i, j, deca, decb, terms);
        out[i][j] = detail::sum_hopper_reference(terms, 33, model);
      }
    }
  }
  pack_d<32>(out, d);
}

void mma_m16n8k32_e4m3_f32(const uint32_t (*a)[4], const uint32_t (*b)[2], const float (*c)[4],
                           float (*d)[4], Fp8Accum accum) {
  Fp8MmaModel model;
  model.accum = accum;
  mma_m16n8k32_fp8_f32(Fp8Type::kE4M3, Fp8Type::kE4M3, a, b, c, d, model);
}

void mma_m16n8k32_e5m2_f32(const uint32_t (*a)[4], const uint32_t (*b)[2], const float (*c)[4],
                           float (*d)[4], Fp8Accum accum) {
  Fp8MmaModel model;
  model.accum = accum;
  mma_m16n8k32_fp8_f32(Fp8Type::kE5M2, Fp8Type::kE5M2, a, b, c, d, model);
}

}  // namespace k4j::emu::ptx
