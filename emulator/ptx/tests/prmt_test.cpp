// __byte_perm and prmt.b32 (default mode), PTX ISA "Data Movement and Conversion Instructions:
// prmt": result byte n is byte sel<2:0> of {y, x} (x = bytes 0..3); prmt also honours sel bit 3,
// which replicates the selected byte's sign bit; __byte_perm ignores it.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "k4j_emu/ptx_ops.h"

namespace k4j::emu::ptx {
namespace {

constexpr uint32_t kX = 0x80FF7F01u;  // bytes 0..3: 01 7F FF 80
constexpr uint32_t kY = 0x40C00281u;  // bytes 4..7: 81 02 C0 40

TEST(BytePerm, IdentityAndSwaps) {
  EXPECT_EQ(byte_perm(kX, kY, 0x3210), kX);
  EXPECT_EQ(byte_perm(kX, kY, 0x7654), kY);
  EXPECT_EQ(byte_perm(kX, kY, 0x0123), 0x017FFF80u);  // byte reverse of x
  EXPECT_EQ(byte_perm(kX, kY, 0x4444), 0x81818181u);  // broadcast y's byte 0
  EXPECT_EQ(byte_perm(kX, kY, 0x5140), 0x027F8101u);
}

TEST(BytePerm, IgnoresBit3AndTheHighHalfOfTheSelector) {
  EXPECT_EQ(byte_perm(kX, kY, 0xBA98), byte_perm(kX, kY, 0x3210));
  EXPECT_EQ(byte_perm(kX, kY, 0xFFFF), byte_perm(kX, kY, 0x7777));
  EXPECT_EQ(byte_perm(kX, kY, 0xABCD3210), kX);
  EXPECT_EQ(prmt(kX, kY, 0xABCD3210), kX);
}

TEST(Prmt, Bit3ReplicatesTheSign) {
  // Selector 8+n picks byte n and replicates its bit 7.
  EXPECT_EQ(prmt(kX, kY, 0x8888), 0x00000000u);  // 0x01: positive
  EXPECT_EQ(prmt(kX, kY, 0x9999), 0x00000000u);  // 0x7F: positive
  EXPECT_EQ(prmt(kX, kY, 0xAAAA), 0xFFFFFFFFu);  // 0xFF: negative
  EXPECT_EQ(prmt(kX, kY, 0xBBBB), 0xFFFFFFFFu);  // 0x80: negative
  EXPECT_EQ(prmt(kX, kY, 0xC000), 0xFF010101u);  // y byte 0 = 0x81 sign-replicated in byte 3
  EXPECT_EQ(prmt(kX, kY, 0x0D0E), 0x010001FFu);  // 0xC0 (byte 6) -> FF, 0x02 (byte 5) -> 00
}

// Every selector nibble value in every position, against the definition.
TEST(Prmt, AllNibblesAgainstDefinitionAndBytePerm) {
  const uint64_t pair = (static_cast<uint64_t>(kY) << 32) | kX;
  for (int pos = 0; pos < 4; ++pos) {
    for (uint32_t nib = 0; nib < 16; ++nib) {
      const uint32_t s = (0x3210u & ~(0xFu << (4 * pos))) | (nib << (4 * pos));
      const uint32_t byte = static_cast<uint32_t>(pair >> (8 * (nib & 7))) & 0xFFu;
      const uint32_t want = nib & 8 ? ((byte & 0x80u) ? 0xFFu : 0x00u) : byte;
      EXPECT_EQ((prmt(kX, kY, s) >> (8 * pos)) & 0xFFu, want) << pos << " " << nib;
      EXPECT_EQ((byte_perm(kX, kY, s) >> (8 * pos)) & 0xFFu, byte) << pos << " " << nib;
    }
  }
  std::mt19937 rng(5);
  for (int i = 0; i < 10000; ++i) {
    const uint32_t x = rng(), y = rng(), s = rng();
    ASSERT_EQ(prmt(x, y, s & 0x7777u), byte_perm(x, y, s));
  }
}

// The int8 -> f16 "magic number" idiom: prmt(i8s, 0x64646464, 0x5250) builds {0x64, e1, 0x64, e0}
// from bytes {e3, e1, e2, e0} of i8s (no selector has bit 3 set, so both forms agree).
TEST(Prmt, Int8ToHalfIdiom) {
  const uint32_t i8s = 0xD3B1C2A0u;  // e3 = D3, e1 = B1, e2 = C2, e0 = A0
  EXPECT_EQ(prmt(i8s, 0x64646464u, 0x5250), 0x64B164A0u);
  EXPECT_EQ(prmt(i8s, 0x64646464u, 0x5351), 0x64D364C2u);
  EXPECT_EQ(byte_perm(i8s, 0x64646464u, 0x5250), 0x64B164A0u);
}

}  // namespace
}  // namespace k4j::emu::ptx
