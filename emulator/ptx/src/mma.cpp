// mma.sync models, fast form. Same bits as the exact reference models (mma_reference.cpp): the
// operands are decoded once per call into doubles (every product of two f16/bf16/FP8 values is
// exact in double, and no sum of these operands overflows or underflows double), each D element is
// summed with error-free transformations, and only the elements whose correct rounding the fast
// path cannot prove go through the reference accumulator.
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

// Exact sum of a row's products and c, rounded once to FP32 (nearest even). Each column's sum is
// kept as s + sum(err) with TwoSum (s + p == s' + err exactly); sum(err) is formed in plain double
// with a rigorous error bound. The result is f = float(s + E) when the exact sum provably lies
// strictly inside f's rounding interval; otherwise (a value within ~2^-47 relative of a midpoint,
// Inf/NaN) the element is left to the reference (returns false in ok[j]).
template <int K>
void sum_fp32_row(const double (&a)[K], const double (&b)[K][kN], const double (&c)[kN],
                  float (&out)[kN], bool (&ok)[kN]) {
  double s[kN], e[kN], babs[kN];
  for (int j = 0; j < kN; ++j) {
    s[j] = c[j];
    e[j] = 0.0;
    babs[j] = 0.0;
  }
  for (int k = 0; k < K; ++k) {
    for (int j = 0; j < kN; ++j) {  // vectorisable: no reassociation, just 8 independent chains
      const double p = a[k] * b[k][j];
      const double sum = s[j] + p;
      const double bb = sum - s[j];
      const double err = (s[j] - (sum - bb)) + (p - bb);
      s[j] = sum;
      e[j] += err;
      babs[j] += std::fabs(err);
    }
  }
  for (int j = 0; j < kN; ++j) {
    ok[j] = false;
    if (!std::isfinite(s[j])) continue;  // an Inf/NaN addend: IEEE specials by the reference
    if (babs[j] == 0.0) {  // every TwoSum was exact: s is the exact sum (zero's sign included)
      out[j] = static_cast<float>(s[j]);
      ok[j] = true;
      continue;
    }
    // |e - sum(err)| <= (K-1) u sum|err| < 2^-47 * babs (u = 2^-53, K <= 32, babs's own error
    // included). Every value is a multiple of 2^-266 and below 2^262: no underflow or overflow.
    const double delta = babs[j] * 0x1p-47;
    const double hi = s[j] + e[j];
    const double bb = hi - s[j];
    const double lo = (s[j] - (hi - bb)) + (e[j] - bb);  // exact sum = hi + lo +- delta
    const float f = static_cast<float>(hi);
    // A zero result may come from an exactly zero sum, whose sign the reference decides.
    if (!std::isfinite(f) || f == 0.0f) continue;
    const double t = (hi - static_cast<double>(f)) + lo;  // hi - f exact (Sterbenz)
    // Half of the smaller gap next to f: the exact sum rounds to f when it is nearer than that.
    uint32_t fb;
    std::memcpy(&fb, &f, sizeof fb);
    const int ef = static_cast<int>((fb >> 23) & 0xFF);
    int gap_exp = ef == 0 ? -149 : ef - 150;
    if ((fb & 0x7FFFFF) == 0 && ef > 1) --gap_exp;  // a power of two: the gap below is half
    if (std::fabs(t) * (1.0 + 0x1p-52) + delta < pow2(gap_exp - 1)) {
      out[j] = f;
      ok[j] = true;
    }
  }
}

// The kHopper model with align_with_c and product_fraction_bits <= 56: the truncated addends are
// integers below 2^57 in units of 2^q, so 33 of them sum exactly in int64. Double -> int64
// conversion truncates toward zero, which is the model's truncation. Returns false to defer to the
// reference (Inf/NaN addends).
template <int K>
bool sum_hopper_fast(const double *p, int n, const Fp8MmaModel &m, float *out) {
  int emax = 0;
  bool any = false;
  for (int i = 0; i < n; ++i) {
    if (p[i] == 0.0) continue;
    const int e = static_cast<int>((bits_of(p[i]) >> 52) & 0x7FF) - 1023;  // all are normal
    if (e == 1024) return false;                                          // Inf/NaN
    if (!any || e > emax) emax = e;
    any = true;
  }
  if (!any) return false;  // zero (sign rules) by the reference: rare
  const int q = emax - m.product_fraction_bits;
  const double scale = pow2(-q);  // exact scaling: q in [-205, 126]
  int64_t sum = 0;
  for (int i = 0; i < n; ++i) sum += static_cast<int64_t>(p[i] * scale);
  if (sum == 0) return false;
  // Truncation toward zero to accum_mantissa_bits, as detail::round_u128(..., nearest = false).
  const bool neg = sum < 0;
  const uint64_t mag = neg ? 0 - static_cast<uint64_t>(sum) : static_cast<uint64_t>(sum);
  const int lead = 63 - __builtin_clzll(mag) + q;
  if (lead >= 128) {
    *out = neg ? -HUGE_VALF : HUGE_VALF;
    return true;
  }
  int q_exp = lead - m.accum_mantissa_bits;
  if (q_exp < -126 - m.accum_mantissa_bits) q_exp = -126 - m.accum_mantissa_bits;
  const int shift = q_exp - q;
  const uint64_t kept = shift <= 0 ? mag << -shift : (shift < 64 ? mag >> shift : 0);
  const float v = static_cast<float>(static_cast<double>(kept) * pow2(q_exp));  // exact
  *out = neg ? -v : v;
  return true;
}

void pack_d(const float (&out)[kM][kN], float (*d)[4], RowCol (*cmap)(int, int)) {
  for (int lane = 0; lane < kWarpSize; ++lane) {
    for (int r = 0; r < 4; ++r) {
      const RowCol rc = cmap(lane, r);
      d[lane][r] = out[rc.row][rc.col];
    }
  }
}

template <int K, typename Code>
void unpack_c(const float (*c)[4], RowCol (*cmap)(int, int), Tile<K, Code> &t) {
  for (int lane = 0; lane < kWarpSize; ++lane) {
    for (int r = 0; r < 4; ++r) {
      const RowCol rc = cmap(lane, r);
      t.cf[rc.row][rc.col] = c[lane][r];
      t.c[rc.row][rc.col] = c[lane][r];
    }
  }
}

// FP32-model result of every element, the reference deciding where the fast path cannot.
template <int K, typename Code, typename DecA, typename DecB>
void compute_fp32(const Tile<K, Code> &t, DecA deca, DecB decb, float (&out)[kM][kN]) {
  for (int i = 0; i < kM; ++i) {
    bool ok[kN];
    sum_fp32_row<K>(t.a[i], t.b, t.c[i], out[i], ok);
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
  for (int lane = 0; lane < kWarpSize; ++lane) {
    for (int r = 0; r < 4; ++r) {
      for (int e = 0; e < 2; ++e) {
        const RowCol rc = frag_m16n8k16_a(lane, r, e);
        const auto code = static_cast<uint16_t>(a[lane][r] >> (16 * e));
        t.acode[rc.row][rc.col] = code;
        t.a[rc.row][rc.col] = Value(code);
      }
    }
    for (int r = 0; r < 2; ++r) {
      for (int e = 0; e < 2; ++e) {
        const RowCol rc = frag_m16n8k16_b(lane, r, e);
        const auto code = static_cast<uint16_t>(b[lane][r] >> (16 * e));
        t.bcode[rc.row][rc.col] = code;
        t.b[rc.row][rc.col] = Value(code);
      }
    }
  }
  unpack_c(c, frag_m16n8k16_c, t);
  float out[kM][kN];
  compute_fp32(t, Dec, Dec, out);
  pack_d(out, d, frag_m16n8k16_c);
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
  if (model.product_fraction_bits < 1 || model.product_fraction_bits > 60)
    throw std::invalid_argument("Fp8MmaModel.product_fraction_bits must be in 1..60");
  if (model.accum_mantissa_bits < 1 || model.accum_mantissa_bits > 23)
    throw std::invalid_argument("Fp8MmaModel.accum_mantissa_bits must be in 1..23");
  const bool hopper = model.accum == Fp8Accum::kHopper;
  if (hopper && (!model.align_with_c || model.product_fraction_bits > 56)) {
    detail::mma_m16n8k32_fp8_f32_reference(atype, btype, a, b, c, d, model);  // no fast form
    return;
  }
  const float *aval = fp8_values(atype);
  const float *bval = fp8_values(btype);
  Tile<32, uint8_t> t;
  for (int lane = 0; lane < kWarpSize; ++lane) {
    for (int r = 0; r < 4; ++r) {
      for (int e = 0; e < 4; ++e) {
        const RowCol rc = frag_m16n8k32_a(lane, r, e);
        const auto code = static_cast<uint8_t>(a[lane][r] >> (8 * e));
        t.acode[rc.row][rc.col] = code;
        t.a[rc.row][rc.col] = aval[code];
      }
    }
    for (int r = 0; r < 2; ++r) {
      for (int e = 0; e < 4; ++e) {
        const RowCol rc = frag_m16n8k32_b(lane, r, e);
        const auto code = static_cast<uint8_t>(b[lane][r] >> (8 * e));
        t.bcode[rc.row][rc.col] = code;
        t.b[rc.row][rc.col] = bval[code];
      }
    }
  }
  unpack_c(c, frag_m16n8k32_c, t);
  auto deca = [atype](uint8_t x) { return detail::decode_fp8(atype, x); };
  auto decb = [btype](uint8_t x) { return detail::decode_fp8(btype, x); };
  float out[kM][kN];
  if (!hopper) {
    compute_fp32(t, deca, decb, out);
  } else {
    for (int i = 0; i < kM; ++i) {
      for (int j = 0; j < kN; ++j) {
        double p[33];
        for (int k = 0; k < 32; ++k) p[k] = t.a[i][k] * t.b[k][j];
        p[32] = t.c[i][j];
        if (sum_hopper_fast<32>(p, 33, model, &out[i][j])) continue;
        Decoded terms[33];
        reference_terms(t, i, j, deca, decb, terms);
        out[i][j] = detail::sum_hopper_reference(terms, 33, model);
      }
    }
  }
  pack_d(out, d, frag_m16n8k32_c);
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
