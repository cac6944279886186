// Exact decoders of the element formats read by the MMA models, plus their exact (sign, integer
// significand, exponent) decomposition used by the exact accumulators (fp_internal.h).
#include "fp_internal.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace k4j::emu::ptx {
namespace detail {

namespace {
// A binary format with `ebits` exponent bits and `mbits` mantissa bits, IEEE layout. `ieee_top`:
// the all-ones exponent encodes Inf/NaN (false for e4m3fn, where only S.1111.111 is NaN).
Decoded decode_generic(uint32_t bits, int ebits, int mbits, bool ieee_top) {
  Decoded d;
  d.neg = ((bits >> (ebits + mbits)) & 1u) != 0;
  const uint32_t e = (bits >> mbits) & ((1u << ebits) - 1u);
  const uint32_t m = bits & ((1u << mbits) - 1u);
  const uint32_t emax = (1u << ebits) - 1u;
  const int bias = (1 << (ebits - 1)) - 1;
  if (ieee_top && e == emax) {
    d.kind = m == 0 ? Kind::kInf : Kind::kNaN;
    return d;
  }
  if (!ieee_top && e == emax && m == (1u << mbits) - 1u) {
    d.kind = Kind::kNaN;
    return d;
  }
  d.kind = Kind::kFinite;
  if (e == 0) {  // zero or subnormal: m * 2^(1 - bias - mbits)
    d.mant = m;
    d.exp = static_cast<int16_t>(1 - bias - mbits);
  } else {
    d.mant = (1u << mbits) | m;
    d.exp = static_cast<int16_t>(static_cast<int>(e) - bias - mbits);
  }
  return d;
}
}  // namespace

Decoded decode_e4m3(uint8_t code) { return decode_generic(code, 4, 3, false); }
Decoded decode_e5m2(uint8_t code) { return decode_generic(code, 5, 2, true); }
Decoded decode_f16(uint16_t bits) { return decode_generic(bits, 5, 10, true); }
Decoded decode_bf16(uint16_t bits) { return decode_generic(bits, 8, 7, true); }
Decoded decode_f32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return decode_generic(bits, 8, 23, true);
}

float to_float(const Decoded &d) {
  switch (d.kind) {
    case Kind::kNaN:
      return std::numeric_limits<float>::quiet_NaN();
    case Kind::kInf:
      return d.neg ? -std::numeric_limits<float>::infinity()
                   : std::numeric_limits<float>::infinity();
    case Kind::kFinite:
      break;
  }
  // Exact: every significand here has at most 24 bits and every exponent is in float's range.
  const float v = std::ldexp(static_cast<float>(d.mant), d.exp);
  return d.neg ? -v : v;
}

}  // namespace detail

float e4m3_to_float(uint8_t code) { return detail::to_float(detail::decode_e4m3(code)); }
float e5m2_to_float(uint8_t code) { return detail::to_float(detail::decode_e5m2(code)); }
float f16_to_float(uint16_t bits) { return detail::to_float(detail::decode_f16(bits)); }
float bf16_to_float(uint16_t bits) { return detail::to_float(detail::decode_bf16(bits)); }

}  // namespace k4j::emu::ptx
