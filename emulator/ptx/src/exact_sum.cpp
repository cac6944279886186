// The exact fixed-point accumulator of the MMA models (see fp_internal.h).
#include <cassert>
#include <cmath>
#include <limits>

#include "fp_internal.h"

namespace k4j::emu::ptx::detail {

void ExactSum::add(bool neg, uint64_t mant, int exp) {
  if (mant == 0) return;
  assert(exp >= kLsbExp && mant < (uint64_t{1} << 63));
  const int shift = exp - kLsbExp;
  const int limb = shift / 64;
  const int bit = shift % 64;
  assert(limb + 1 < kLimbs);
  // The addend spans at most two limbs: lo at `limb`, hi at `limb + 1`.
  const uint64_t lo = mant << bit;
  const uint64_t hi = bit == 0 ? 0 : mant >> (64 - bit);
  if (!neg) {
    uint64_t carry = 0;
    for (int i = limb; i < kLimbs; ++i) {
      const uint64_t v = i == limb ? lo : (i == limb + 1 ? hi : 0);
      if (v == 0 && carry == 0 && i > limb + 1) break;
      const uint64_t s1 = limb_[i] + v;
      const uint64_t c1 = s1 < v ? 1 : 0;
      const uint64_t s2 = s1 + carry;
      const uint64_t c2 = s2 < carry ? 1 : 0;
      limb_[i] = s2;
      carry = c1 + c2;
    }
  } else {
    uint64_t borrow = 0;
    for (int i = limb; i < kLimbs; ++i) {
      const uint64_t v = i == limb ? lo : (i == limb + 1 ? hi : 0);
      if (v == 0 && borrow == 0 && i > limb + 1) break;
      const uint64_t d1 = limb_[i] - v;
      const uint64_t b1 = limb_[i] < v ? 1 : 0;
      const uint64_t d2 = d1 - borrow;
      const uint64_t b2 = d1 < borrow ? 1 : 0;
      limb_[i] = d2;
      borrow = b1 + b2;
    }
  }
}

bool ExactSum::is_zero() const {
  for (uint64_t l : limb_)
    if (l != 0) return false;
  return true;
}

bool ExactSum::negative() const { return (limb_[kLimbs - 1] >> 63) != 0; }

namespace {
// Magnitude of a two's-complement limb array.
void magnitude(const uint64_t *in, uint64_t *out, int n, bool neg) {
  if (!neg) {
    for (int i = 0; i < n; ++i) out[i] = in[i];
    return;
  }
  uint64_t carry = 1;
  for (int i = 0; i < n; ++i) {
    out[i] = ~in[i] + carry;
    carry = (carry != 0 && out[i] == 0) ? 1 : 0;
  }
}

int top_bit(const uint64_t *m, int n) {
  for (int i = n - 1; i >= 0; --i)
    if (m[i] != 0) return i * 64 + 63 - __builtin_clzll(m[i]);
  return -1;
}

bool bit_at(const uint64_t *m, int pos) { return pos >= 0 && ((m[pos / 64] >> (pos % 64)) & 1u); }

bool any_below(const uint64_t *m, int pos) {  // any bit at positions < pos
  if (pos <= 0) return false;
  const int limb = pos / 64;
  for (int i = 0; i < limb; ++i)
    if (m[i] != 0) return true;
  const int bits = pos % 64;
  return bits != 0 && (m[limb] & ((uint64_t{1} << bits) - 1)) != 0;
}

// Bits [lo, lo + count) as an integer, count <= 63, lo >= 0.
uint64_t bits_from(const uint64_t *m, int n, int lo, int count) {
  uint64_t r = 0;
  for (int k = 0; k < count; ++k) {
    const int pos = lo + k;
    if (pos / 64 < n && ((m[pos / 64] >> (pos % 64)) & 1u)) r |= uint64_t{1} << k;
  }
  return r;
}
}  // namespace

float round_u128(bool neg, unsigned __int128 mag, int lsb_exp, int mant_bits, bool nearest) {
  using u128 = unsigned __int128;
  assert(mag != 0);
  const uint64_t hi = static_cast<uint64_t>(mag >> 64);
  const int top = hi != 0 ? 127 - __builtin_clzll(hi)
                          : 63 - __builtin_clzll(static_cast<uint64_t>(mag));
  const int lead_exp = top + lsb_exp;
  const float inf = std::numeric_limits<float>::infinity();
  if (lead_exp >= 128) return neg ? -inf : inf;
  int q_exp = lead_exp - mant_bits;  // see ExactSum::round
  if (q_exp < -126 - mant_bits) q_exp = -126 - mant_bits;
  const int shift = q_exp - lsb_exp;
  u128 kept;
  bool up = false;
  if (shift <= 0) {
    kept = mag << -shift;  // exact: fewer significant bits than the format keeps
  } else if (shift < 128) {
    kept = mag >> shift;
    const u128 rem = mag & ((u128{1} << shift) - 1);
    const u128 half = u128{1} << (shift - 1);
    up = rem > half || (rem == half && (kept & 1) != 0);
  } else {  // the value is below one quantum
    kept = 0;
    up = shift == 128 && mag > (u128{1} << 127);  // above half a quantum (a tie goes to even 0)
  }
  if (nearest && up) ++kept;
  const float v = std::ldexp(static_cast<float>(static_cast<uint64_t>(kept)), q_exp);
  return neg ? -v : v;
}

int ExactSum::leading_exp() const {
  uint64_t mag[kLimbs];
  magnitude(limb_, mag, kLimbs, negative());
  const int top = top_bit(mag, kLimbs);
  assert(top >= 0);
  return top + kLsbExp;
}

float ExactSum::round(int mant_bits, bool nearest) const {
  const bool neg = negative();
  uint64_t mag[kLimbs];
  magnitude(limb_, mag, kLimbs, neg);
  const int top = top_bit(mag, kLimbs);
  assert(top >= 0);
  const int lead_exp = top + kLsbExp;
  const float inf = std::numeric_limits<float>::infinity();
  if (lead_exp >= 128) return neg ? -inf : inf;
  // Quantum (weight of the last kept bit): normal numbers keep mant_bits fraction bits; below
  // 2^-126 the quantum stays at 2^(-126 - mant_bits) (gradual underflow).
  int q_exp = lead_exp - mant_bits;
  if (q_exp < -126 - mant_bits) q_exp = -126 - mant_bits;
  const int q_pos = q_exp - kLsbExp;  // >= 0: kLsbExp is below FP32's smallest quantum
  uint64_t kept = bits_from(mag, kLimbs, q_pos, top - q_pos + 1 > 0 ? top - q_pos + 1 : 0);
  if (nearest) {
    const bool half = bit_at(mag, q_pos - 1);
    const bool sticky = any_below(mag, q_pos - 1);
    if (half && (sticky || (kept & 1u))) ++kept;
  }
  // kept <= 2^(mant_bits + 1) fits a float exactly; ldexp overflows to infinity at 2^128.
  const float v = std::ldexp(static_cast<float>(kept), q_exp);
  return neg ? -v : v;
}

}  // namespace k4j::emu::ptx::detail
