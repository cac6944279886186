// Decoders over every code, checked against the format definitions (OCP FP8: E4M3 bias 7 with
// S.1111.111 = NaN and no infinities; E5M2 bias 15 with IEEE infinities/NaNs) and independent
// references (E5M2 is the high byte of an IEEE binary16; bfloat16 the high half of a binary32).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "k4j_emu/ptx_ops.h"

namespace k4j::emu::ptx {
namespace {

double e4m3_reference(int code) {
  const int s = code >> 7, e = (code >> 3) & 0xF, m = code & 7;
  const double mag = e == 0 ? (m / 8.0) * std::ldexp(1.0, -6) : (1.0 + m / 8.0) * std::ldexp(1.0, e - 7);
  return s ? -mag : mag;
}

TEST(Fp8Formats, E4m3AllCodes) {
  int nans = 0;
  float max_finite = 0;
  for (int code = 0; code < 256; ++code) {
    const float v = e4m3_to_float(static_cast<uint8_t>(code));
    if ((code & 0x7F) == 0x7F) {
      EXPECT_TRUE(std::isnan(v)) << code;
      ++nans;
      continue;
    }
    ASSERT_FALSE(std::isnan(v)) << code;
    ASSERT_FALSE(std::isinf(v)) << code;
    EXPECT_EQ(static_cast<double>(v), e4m3_reference(code)) << code;
    EXPECT_EQ(std::signbit(v), (code & 0x80) != 0) << code;
    max_finite = std::fmax(max_finite, v);
  }
  EXPECT_EQ(nans, 2);
  EXPECT_EQ(max_finite, 448.0f);
  EXPECT_EQ(e4m3_to_float(0x7E), 448.0f);
  EXPECT_EQ(e4m3_to_float(0xFE), -448.0f);
  EXPECT_EQ(e4m3_to_float(0x38), 1.0f);
  EXPECT_EQ(e4m3_to_float(0x01), std::ldexp(1.0f, -9));   // smallest subnormal
  EXPECT_EQ(e4m3_to_float(0x07), 7 * std::ldexp(1.0f, -9));  // largest subnormal
  EXPECT_EQ(e4m3_to_float(0x08), std::ldexp(1.0f, -6));   // smallest normal
  EXPECT_EQ(e4m3_to_float(0x78), 256.0f);                 // exponent field 15 is finite
  EXPECT_TRUE(std::signbit(e4m3_to_float(0x80)) && e4m3_to_float(0x80) == 0.0f);
}

TEST(Fp8Formats, E5m2AllCodesMatchBinary16HighByte) {
  int nans = 0, infs = 0;
  for (int code = 0; code < 256; ++code) {
    const float v = e5m2_to_float(static_cast<uint8_t>(code));
    const float h = f16_to_float(static_cast<uint16_t>(code << 8));
    if (std::isnan(h)) {
      EXPECT_TRUE(std::isnan(v)) << code;
      ++nans;
    } else {
      EXPECT_EQ(v, h) << code;
      EXPECT_EQ(std::signbit(v), std::signbit(h)) << code;
      infs += std::isinf(v) ? 1 : 0;
    }
  }
  EXPECT_EQ(nans, 6);
  EXPECT_EQ(infs, 2);
  EXPECT_EQ(e5m2_to_float(0x7B), 57344.0f);
  EXPECT_EQ(e5m2_to_float(0x7C), INFINITY);
  EXPECT_EQ(e5m2_to_float(0xFC), -INFINITY);
  EXPECT_TRUE(std::isnan(e5m2_to_float(0x7D)));
  EXPECT_TRUE(std::isnan(e5m2_to_float(0xFF)));
  EXPECT_EQ(e5m2_to_float(0x3C), 1.0f);
  EXPECT_EQ(e5m2_to_float(0x01), std::ldexp(1.0f, -16));  // smallest subnormal
  EXPECT_EQ(e5m2_to_float(0x04), std::ldexp(1.0f, -14));  // smallest normal
}

TEST(Fp16Formats, F16SpotValues) {
  EXPECT_EQ(f16_to_float(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_float(0xC000), -2.0f);
  EXPECT_EQ(f16_to_float(0x7BFF), 65504.0f);
  EXPECT_EQ(f16_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_float(0x03FF), 1023 * std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_float(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(f16_to_float(0x7C00), INFINITY);
  EXPECT_EQ(f16_to_float(0xFC00), -INFINITY);
  EXPECT_TRUE(std::isnan(f16_to_float(0x7E00)));
  EXPECT_TRUE(std::isnan(f16_to_float(0x7C01)));
  EXPECT_TRUE(std::signbit(f16_to_float(0x8000)));
}

#if defined(__FLT16_MAX__)
TEST(Fp16Formats, F16AllCodesMatchCompilerFloat16) {
  for (int code = 0; code < 65536; ++code) {
    const uint16_t bits = static_cast<uint16_t>(code);
    _Float16 h;
    std::memcpy(&h, &bits, sizeof h);
    const float ref = static_cast<float>(h);
    const float v = f16_to_float(bits);
    if (std::isnan(ref)) {
      ASSERT_TRUE(std::isnan(v)) << code;
    } else {
      ASSERT_EQ(v, ref) << code;
      ASSERT_EQ(std::signbit(v), std::signbit(ref)) << code;
    }
  }
}
#endif

TEST(Fp16Formats, Bf16AllCodesAreBinary32HighHalf) {
  for (int code = 0; code < 65536; ++code) {
    const uint32_t bits = static_cast<uint32_t>(code) << 16;
    float ref;
    std::memcpy(&ref, &bits, sizeof ref);
    const float v = bf16_to_float(static_cast<uint16_t>(code));
    if (std::isnan(ref)) {
      ASSERT_TRUE(std::isnan(v)) << code;
    } else {
      ASSERT_EQ(v, ref) << code;
      ASSERT_EQ(std::signbit(v), std::signbit(ref)) << code;
    }
  }
}

}  // namespace
}  // namespace k4j::emu::ptx
