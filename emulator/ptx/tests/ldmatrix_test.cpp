// ldmatrix.sync.aligned.m8n8.{x1,x2,x4}[.trans].shared.b16 against PTX ISA 9.7.14.5.15: threads
// 8j..8j+7 give the row addresses of matrix j; lane i receives row i/4, elements 2*(i%4) and
// 2*(i%4)+1 (low half first); .trans delivers the transpose.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "k4j_emu/ptx_ops.h"
#include "test_util.h"

namespace k4j::emu::ptx {
namespace {

// Element (row r, col c) of matrix j: distinct, with distinct bytes so byte order shows.
uint16_t value(int j, int r, int c) { return static_cast<uint16_t>((j << 12) | (r << 8) | (c << 4) | 0x9); }

struct Smem {
  std::vector<uint8_t> bytes = std::vector<uint8_t>(64 * 48, 0xEE);
  const uint8_t *rows[kWarpSize];
  // Rows of the 4 matrices in 16-byte slots 48 bytes apart, in a scrambled order: not contiguous.
  Smem() {
    for (int i = 0; i < kWarpSize; ++i) {
      const int slot = (i * 37 + 11) % 64;
      uint8_t *row = bytes.data() + slot * 48;
      for (int c = 0; c < 8; ++c) {
        const uint16_t v = value(i / 8, i % 8, c);
        row[2 * c] = static_cast<uint8_t>(v & 0xFF);  // little-endian b16
        row[2 * c + 1] = static_cast<uint8_t>(v >> 8);
      }
      rows[i] = row;
    }
  }
};

void check(int num, bool trans) {
  Smem smem;
  const uint8_t *addr[kWarpSize];
  for (int i = 0; i < kWarpSize; ++i) addr[i] = i < 8 * num ? smem.rows[i] : nullptr;  // unused lanes
  uint32_t out[kWarpSize][4];
  for (auto &o : out)
    for (auto &r : o) r = 0xDEADBEEF;
  ldmatrix(num, trans, addr, out);
  for (int lane = 0; lane < kWarpSize; ++lane) {
    for (int j = 0; j < 4; ++j) {
      if (j >= num) {
        EXPECT_EQ(out[lane][j], 0xDEADBEEFu) << "register beyond num written";
        continue;
      }
      const int r = lane / 4, c = 2 * (lane % 4);
      const uint32_t lo = trans ? value(j, c, r) : value(j, r, c);
      const uint32_t hi = trans ? value(j, c + 1, r) : value(j, r, c + 1);
      EXPECT_EQ(out[lane][j], lo | (hi << 16)) << "num " << num << " trans " << trans << " lane "
                                               << lane << " reg " << j;
    }
  }
}

TEST(Ldmatrix, X1) { check(1, false); }
TEST(Ldmatrix, X2) { check(2, false); }
TEST(Ldmatrix, X4) { check(4, false); }
TEST(Ldmatrix, X1Trans) { check(1, true); }
TEST(Ldmatrix, X2Trans) { check(2, true); }
TEST(Ldmatrix, X4Trans) { check(4, true); }

TEST(Ldmatrix, RowsUsed) {
  EXPECT_EQ(ldmatrix_rows(1), 8);
  EXPECT_EQ(ldmatrix_rows(2), 16);
  EXPECT_EQ(ldmatrix_rows(4), 32);
  EXPECT_THROW(ldmatrix_rows(3), std::invalid_argument);
  EXPECT_THROW(ldmatrix_rows(0), std::invalid_argument);
  uint32_t out[kWarpSize][4];
  const uint8_t *addr[kWarpSize] = {};
  EXPECT_THROW(ldmatrix(8, false, addr, out), std::invalid_argument);
}

// Two ISA sections must agree: ldmatrix.x4 of a row-major 16x16 b16 tile, lane l pointing at row
// l % 16, column 8 * (l / 16), yields exactly the mma.m16n8k16 A fragment; ldmatrix.x2.trans of a
// row-major (k, n) 16x8 tile, lane l pointing at row k = l, yields the B fragment.
TEST(Ldmatrix, FeedsMmaFragments) {
  uint16_t A[16][16];
  uint16_t B[16][8];
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) A[r][c] = static_cast<uint16_t>(0x1000 + r * 16 + c);
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 8; ++c) B[r][c] = static_cast<uint16_t>(0x2000 + r * 8 + c);
  uint32_t fa[kWarpSize][4], fb[kWarpSize][2];
  test::pack_k16(A, B, fa, fb);

  const uint8_t *addr[kWarpSize];
  for (int l = 0; l < kWarpSize; ++l)
    addr[l] = reinterpret_cast<const uint8_t *>(&A[l % 16][8 * (l / 16)]);
  uint32_t out[kWarpSize][4];
  ldmatrix(4, false, addr, out);
  for (int l = 0; l < kWarpSize; ++l)
    for (int r = 0; r < 4; ++r) EXPECT_EQ(out[l][r], fa[l][r]) << "A lane " << l << " reg " << r;

  for (int l = 0; l < kWarpSize; ++l) addr[l] = reinterpret_cast<const uint8_t *>(&B[l % 16][0]);
  ldmatrix(2, true, addr, out);
  for (int l = 0; l < kWarpSize; ++l)
    for (int r = 0; r < 2; ++r) EXPECT_EQ(out[l][r], fb[l][r]) << "B lane " << l << " reg " << r;
}

}  // namespace
}  // namespace k4j::emu::ptx
