// Reference mma.sync models: unpack A/B/C through the fragment maps, compute each D element with an
// exact integer accumulator under the chosen numerics model, pack D through the C/D map. Slow but
// simple; mma.cpp computes the same bits faster and falls back to sum_*_reference per element.
#include <limits>
#include <stdexcept>

#include "fp_internal.h"
#include "k4j_emu/ptx_ops.h"

namespace k4j::emu::ptx::detail {
namespace {
using detail::ExactSum;
using detail::Kind;

constexpr int kM = 16;
constexpr int kN = 8;

template <int K>
struct Tile {
  Decoded a[kM][K];
  Decoded b[K][kN];
  Decoded c[kM][kN];
};

}  // namespace

Decoded product(const Decoded &x, const Decoded &y) {
  Decoded p;
  p.neg = x.neg != y.neg;
  if (x.kind == Kind::kNaN || y.kind == Kind::kNaN) {
    p.kind = Kind::kNaN;
  } else if (x.kind == Kind::kInf || y.kind == Kind::kInf) {
    const bool zero = (x.kind == Kind::kFinite && x.mant == 0) ||
                      (y.kind == Kind::kFinite && y.mant == 0);
    p.kind = zero ? Kind::kNaN : Kind::kInf;  // Inf * 0 is invalid
  } else {
    p.mant = x.mant * y.mant;  // at most 22 bits (f16 x f16)
    p.exp = static_cast<int16_t>(x.exp + y.exp);
  }
  return p;
}

namespace {
// IEEE result when some addend is NaN or infinite; returns false when all are finite.
bool special_sum(const Decoded *t, int n, float *out) {
  bool nan = false, pos_inf = false, neg_inf = false;
  for (int i = 0; i < n; ++i) {
    if (t[i].kind == Kind::kNaN) nan = true;
    if (t[i].kind == Kind::kInf) (t[i].neg ? neg_inf : pos_inf) = true;
  }
  if (nan || (pos_inf && neg_inf)) {
    *out = std::numeric_limits<float>::quiet_NaN();
    return true;
  }
  if (pos_inf || neg_inf) {
    *out = pos_inf ? std::numeric_limits<float>::infinity()
                   : -std::numeric_limits<float>::infinity();
    return true;
  }
  return false;
}

// An exactly-zero sum is +0 unless every addend is -0 (IEEE round-to-nearest rule).
float zero_sum(const Decoded *t, int n) {
  for (int i = 0; i < n; ++i)
    if (!(t[i].neg && t[i].mant == 0)) return 0.0f;
  return -0.0f;
}

int leading_exp(const Decoded &d) { return d.exp + 31 - __builtin_clz(d.mant); }

using i128 = __int128;
using u128 = unsigned __int128;

float round_signed(i128 sum, int lsb_exp, int mant_bits, bool nearest) {
  const bool neg = sum < 0;
  return round_u128(neg, neg ? -static_cast<u128>(sum) : static_cast<u128>(sum), lsb_exp,
                            mant_bits, nearest);
}

}  // namespace

float sum_fp32_reference(const Decoded *t, int n) {
  float r;
  if (special_sum(t, n, &r)) return r;
  // Fast path: when all addends lie within 120 bits of each other, a 128-bit integer holds their
  // exact sum (33 addends add at most 6 bits); otherwise the wide accumulator.
  int min_exp = 0, max_lead = 0;
  bool any = false;
  for (int i = 0; i < n; ++i) {
    if (t[i].mant == 0) continue;
    const int lead = leading_exp(t[i]);
    if (!any || t[i].exp < min_exp) min_exp = t[i].exp;
    if (!any || lead > max_lead) max_lead = lead;
    any = true;
  }
  if (!any) return zero_sum(t, n);
  if (max_lead - min_exp <= 120) {
    i128 sum = 0;
    for (int i = 0; i < n; ++i) {
      if (t[i].mant == 0) continue;  // a zero's exponent may lie below min_exp
      const i128 v = static_cast<i128>(static_cast<u128>(t[i].mant) << (t[i].exp - min_exp));
      sum += t[i].neg ? -v : v;
    }
    return sum == 0 ? zero_sum(t, n) : round_signed(sum, min_exp, 23, true);
  }
  ExactSum s;
  for (int i = 0; i < n; ++i) s.add(t[i].neg, t[i].mant, t[i].exp);
  return s.is_zero() ? zero_sum(t, n) : s.round(23, true);
}

float sum_hopper_reference(const Decoded *t, int n, const Fp8MmaModel &m) {
  float r;
  if (special_sum(t, n, &r)) return r;
  const int aligned = m.align_with_c ? n : n - 1;
  bool any = false;
  int emax = 0;
  for (int i = 0; i < aligned; ++i) {
    if (t[i].mant == 0) continue;
    const int e = leading_exp(t[i]);
    if (!any || e > emax) emax = e;
    any = true;
  }
  // Each aligned addend truncated toward zero to a multiple of 2^q: below 2^(fraction bits + 1)
  // in units of 2^q, so 33 of them sum exactly in 128 bits.
  const int q = emax - m.product_fraction_bits;
  i128 sum = 0;
  if (any) {
    for (int i = 0; i < aligned; ++i) {
      if (t[i].mant == 0) continue;
      const int shift = q - t[i].exp;
      const u128 units = shift <= 0 ? static_cast<u128>(t[i].mant) << -shift
                                    : (shift >= 32 ? 0 : static_cast<u128>(t[i].mant >> shift));
      sum += t[i].neg ? -static_cast<i128>(units) : static_cast<i128>(units);
    }
  }
  if (m.align_with_c) {
    return sum == 0 ? zero_sum(t, n) : round_signed(sum, q, m.accum_mantissa_bits, false);
  }
  // c added exactly to the truncated products: the wide accumulator covers any exponent gap.
  ExactSum s;
  if (sum != 0) {
    const bool neg = sum < 0;
    const u128 mag = neg ? -static_cast<u128>(sum) : static_cast<u128>(sum);  // < 2^67
    s.add(neg, static_cast<uint64_t>(mag >> 32), q + 32);
    s.add(neg, static_cast<uint64_t>(mag & 0xFFFFFFFFu), q);
  }
  s.add(t[n - 1].neg, t[n - 1].mant, t[n - 1].exp);
  return s.is_zero() ? zero_sum(t, n) : s.round(m.accum_mantissa_bits, false);
}

namespace {
template <int K, typename Acc>
void compute(const Tile<K> &tile, float (*d)[4], RowCol (*cmap)(int, int), Acc acc) {
  Decoded terms[K + 1];
  float out[kM][kN];
  for (int i = 0; i < kM; ++i) {
    for (int j = 0; j < kN; ++j) {
      for (int k = 0; k < K; ++k) terms[k] = product(tile.a[i][k], tile.b[k][j]);
      terms[K] = tile.c[i][j];
      out[i][j] = acc(terms, K + 1);
    }
  }
  for (int lane = 0; lane < kWarpSize; ++lane) {
    for (int r = 0; r < 4; ++r) {
      const RowCol rc = cmap(lane, r);
      d[lane][r] = out[rc.row][rc.col];
    }
  }
}

void unpack_c(const float (*c)[4], RowCol (*cmap)(int, int), Decoded (*dst)[kN]) {
  for (int lane = 0; lane < kWarpSize; ++lane) {
    for (int r = 0; r < 4; ++r) {
      const RowCol rc = cmap(lane, r);
      dst[rc.row][rc.col] = decode_f32(c[lane][r]);
    }
  }
}

template <Decoded (*Dec)(uint16_t)>
void mma_m16n8k16(const uint32_t (*a)[4], const uint32_t (*b)[2], const float (*c)[4],
                  float (*d)[4]) {
  Tile<16> t;
  for (int lane = 0; lane < kWarpSize; ++lane) {
    for (int r = 0; r < 4; ++r) {
      for (int e = 0; e < 2; ++e) {
        const RowCol rc = frag_m16n8k16_a(lane, r, e);
        t.a[rc.row][rc.col] = Dec(static_cast<uint16_t>(a[lane][r] >> (16 * e)));
      }
    }
    for (int r = 0; r < 2; ++r) {
      for (int e = 0; e < 2; ++e) {
        const RowCol rc = frag_m16n8k16_b(lane, r, e);
        t.b[rc.row][rc.col] = Dec(static_cast<uint16_t>(b[lane][r] >> (16 * e)));
      }
    }
  }
  unpack_c(c, frag_m16n8k16_c, t.c);
  compute(t, d, frag_m16n8k16_c, sum_fp32_reference);
}

}  // namespace

Decoded decode_fp8(Fp8Type type, uint8_t code) {
  return type == Fp8Type::kE4M3 ? decode_e4m3(code) : decode_e5m2(code);
}

void mma_m16n8k16_f16_f32_reference(const uint32_t (*a)[4], const uint32_t (*b)[2], const float (*c)[4],
                          float (*d)[4]) {
  mma_m16n8k16<decode_f16>(a, b, c, d);
}

void mma_m16n8k16_bf16_f32_reference(const uint32_t (*a)[4], const uint32_t (*b)[2], const float (*c)[4],
                           float (*d)[4]) {
  mma_m16n8k16<decode_bf16>(a, b, c, d);
}

void check_fp8_model(const Fp8MmaModel &model) {
  if (model.product_fraction_bits < 1 || model.product_fraction_bits > 60)
    throw std::invalid_argument("Fp8MmaModel.product_fraction_bits must be in 1..60");
  if (model.accum_mantissa_bits < 1 || model.accum_mantissa_bits > 23)
    throw std::invalid_argument("Fp8MmaModel.accum_mantissa_bits must be in 1..23");
}

void mma_m16n8k32_fp8_f32_reference(Fp8Type atype, Fp8Type btype, const uint32_t (*a)[4],
                          const uint32_t (*b)[2], const float (*c)[4], float (*d)[4],
                          const Fp8MmaModel &model) {
  check_fp8_model(model);
  Tile<32> t;
  for (int lane = 0; lane < kWarpSize; ++lane) {
    for (int r = 0; r < 4; ++r) {
      for (int e = 0; e < 4; ++e) {
        const RowCol rc = frag_m16n8k32_a(lane, r, e);
        t.a[rc.row][rc.col] = decode_fp8(atype, static_cast<uint8_t>(a[lane][r] >> (8 * e)));
      }
    }
    for (int r = 0; r < 2; ++r) {
      for (int e = 0; e < 4; ++e) {
        const RowCol rc = frag_m16n8k32_b(lane, r, e);
        t.b[rc.row][rc.col] = decode_fp8(btype, static_cast<uint8_t>(b[lane][r] >> (8 * e)));
      }
    }
  }
  unpack_c(c, frag_m16n8k32_c, t.c);
  if (model.accum == Fp8Accum::kFp32) {
    compute(t, d, frag_m16n8k32_c, sum_fp32_reference);
  } else {
    compute(t, d, frag_m16n8k32_c,
            [&model](const Decoded *terms, int n) { return sum_hopper_reference(terms, n, model); });
  }
}

}  // namespace k4j::emu::ptx::detail
