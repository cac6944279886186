// Helpers shared by the tests: exact encoders for test values and fragment packing.
#ifndef K4J_EMU_PTX_TEST_UTIL_H
#define K4J_EMU_PTX_TEST_UTIL_H

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include "k4j_emu/ptx_ops.h"

namespace k4j::emu::ptx::test {

// Code of an exactly representable value (throws otherwise), found by inverting the decoder.
template <typename Code, float (*Dec)(Code), int kCodes>
Code encode_exact(float v) {
  static const auto *table = [] {
    auto *t = new std::unordered_map<uint32_t, Code>();
    for (int i = kCodes - 1; i >= 0; --i) {  // +0 (code 0) wins over -0
      const float f = Dec(static_cast<Code>(i));
      if (std::isnan(f)) continue;
      uint32_t bits;
      std::memcpy(&bits, &f, sizeof bits);
      (*t)[bits] = static_cast<Code>(i);
    }
    return t;
  }();
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const auto it = table->find(bits);
  if (it == table->end()) throw std::invalid_argument("value not exactly representable");
  return it->second;
}

inline uint16_t f16(float v) { return encode_exact<uint16_t, f16_to_float, 65536>(v); }
inline uint16_t bf16(float v) { return encode_exact<uint16_t, bf16_to_float, 65536>(v); }
inline uint8_t e4m3(float v) { return encode_exact<uint8_t, e4m3_to_float, 256>(v); }
inline uint8_t e5m2(float v) { return encode_exact<uint8_t, e5m2_to_float, 256>(v); }

// Packs row-major code matrices into per-lane registers through the fragment maps.
inline void pack_k16(const uint16_t (&A)[16][16], const uint16_t (&B)[16][8], uint32_t (*a)[4],
                     uint32_t (*b)[2]) {
  for (int lane = 0; lane < kWarpSize; ++lane) {
    for (int r = 0; r < 4; ++r) {
      a[lane][r] = 0;
      for (int e = 0; e < 2; ++e) {
        const RowCol rc = frag_m16n8k16_a(lane, r, e);
        a[lane][r] |= static_cast<uint32_t>(A[rc.row][rc.col]) << (16 * e);
      }
    }
    for (int r = 0; r < 2; ++r) {
      b[lane][r] = 0;
      for (int e = 0; e < 2; ++e) {
        const RowCol rc = frag_m16n8k16_b(lane, r, e);
        b[lane][r] |= static_cast<uint32_t>(B[rc.row][rc.col]) << (16 * e);
      }
    }
  }
}

inline void pack_k32(const uint8_t (&A)[16][32], const uint8_t (&B)[32][8], uint32_t (*a)[4],
                     uint32_t (*b)[2]) {
  for (int lane = 0; lane < kWarpSize; ++lane) {
    for (int r = 0; r < 4; ++r) {
      a[lane][r] = 0;
      for (int e = 0; e < 4; ++e) {
        const RowCol rc = frag_m16n8k32_a(lane, r, e);
        a[lane][r] |= static_cast<uint32_t>(A[rc.row][rc.col]) << (8 * e);
      }
    }
    for (int r = 0; r < 2; ++r) {
      b[lane][r] = 0;
      for (int e = 0; e < 4; ++e) {
        const RowCol rc = frag_m16n8k32_b(lane, r, e);
        b[lane][r] |= static_cast<uint32_t>(B[rc.row][rc.col]) << (8 * e);
      }
    }
  }
}

// C/D: the same map for both shapes (tested separately).
inline void pack_c(const float (&C)[16][8], float (*c)[4]) {
  for (int lane = 0; lane < kWarpSize; ++lane)
    for (int r = 0; r < 4; ++r) {
      const RowCol rc = frag_m16n8k16_c(lane, r);
      c[lane][r] = C[rc.row][rc.col];
    }
}

inline void unpack_d(const float (*d)[4], float (&D)[16][8]) {
  for (int lane = 0; lane < kWarpSize; ++lane)
    for (int r = 0; r < 4; ++r) {
      const RowCol rc = frag_m16n8k16_c(lane, r);
      D[rc.row][rc.col] = d[lane][r];
    }
}

}  // namespace k4j::emu::ptx::test

#endif  // K4J_EMU_PTX_TEST_UTIL_H
