// Internal helpers of the MMA models: exact decomposition of floating-point values and an exact
// fixed-point accumulator wide enough for every sum the models form.
#ifndef K4J_EMU_PTX_FP_INTERNAL_H
#define K4J_EMU_PTX_FP_INTERNAL_H

#include <cstdint>

#include "k4j_emu/ptx_ops.h"

namespace k4j::emu::ptx::detail {

enum class Kind : uint8_t { kFinite, kInf, kNaN };

// value = (neg ? -1 : 1) * mant * 2^exp when kind == kFinite (mant may be 0).
// Kept to 8 bytes: an MMA tile of these lives on the caller's (possibly small fiber) stack.
struct Decoded {
  uint32_t mant = 0;  // at most 24 bits (FP32 significand; products of f16 have 22)
  int16_t exp = 0;
  Kind kind = Kind::kFinite;
  bool neg = false;
};

Decoded decode_e4m3(uint8_t code);
Decoded decode_e5m2(uint8_t code);
Decoded decode_f16(uint16_t bits);
Decoded decode_bf16(uint16_t bits);
Decoded decode_f32(float v);
float to_float(const Decoded &d);

// Exact two's-complement fixed-point sum with the least significant bit worth 2^kLsbExp. Covers
// every addend of the models: bf16 x bf16 products down to 2^-266 and up to below 2^256, FP32
// values, and sums of up to 2^40 of them (the top limb keeps the sign).
// Rounds (neg ? -1 : 1) * mag * 2^lsb_exp, mag > 0, like ExactSum::round below.
float round_u128(bool neg, unsigned __int128 mag, int lsb_exp, int mant_bits, bool nearest);

class ExactSum {
 public:
  static constexpr int kLsbExp = -320;
  static constexpr int kLimbs = 11;  // 704 bits: 2^-320 .. 2^383

  // Adds (neg ? -1 : 1) * mant * 2^exp exactly; requires exp >= kLsbExp and mant < 2^63.
  void add(bool neg, uint64_t mant, int exp);
  bool is_zero() const;
  bool negative() const;
  // Exponent of the leading bit of |sum| (floor(log2|sum|)); the sum must be non-zero.
  int leading_exp() const;
  // Rounds |sum| to a float with `mant_bits` explicit mantissa bits and 8 exponent bits (FP32's
  // range, subnormals included) and restores the sign: to nearest even when `nearest`, else toward
  // zero. Magnitudes that round to 2^128 or more give infinity. The sum must be non-zero.
  float round(int mant_bits, bool nearest) const;

 private:
  uint64_t limb_[kLimbs] = {};
};

// Reference MMA models (mma_reference.cpp): every D element summed by an exact integer
// accumulator. mma.cpp computes the same bits faster and falls back to sum_*_reference for the
// elements its fast path cannot decide; the tests compare the two bit for bit.
Decoded product(const Decoded &x, const Decoded &y);  // exact; Inf * 0 gives NaN
Decoded decode_fp8(Fp8Type type, uint8_t code);
// t[0..n-1]: the products, then c (last). Exact sum rounded once to FP32 (nearest even).
float sum_fp32_reference(const Decoded *t, int n);
// The Hopper FP8 model of Fp8MmaModel (see ptx_ops.h and README.md); t[n-1] is c.
float sum_hopper_reference(const Decoded *t, int n, const Fp8MmaModel &m);
void mma_m16n8k16_f16_f32_reference(const uint32_t (*a)[4], const uint32_t (*b)[2],
                                    const float (*c)[4], float (*d)[4]);
void mma_m16n8k16_bf16_f32_reference(const uint32_t (*a)[4], const uint32_t (*b)[2],
                                     const float (*c)[4], float (*d)[4]);
// Throws std::invalid_argument when the model's bit counts are out of range (both FP8 MMA forms).
void check_fp8_model(const Fp8MmaModel &model);

void mma_m16n8k32_fp8_f32_reference(Fp8Type atype, Fp8Type btype, const uint32_t (*a)[4],
                                    const uint32_t (*b)[2], const float (*c)[4], float (*d)[4],
                                    const Fp8MmaModel &model);

}  // namespace k4j::emu::ptx::detail

#endif  // K4J_EMU_PTX_FP_INTERNAL_H
