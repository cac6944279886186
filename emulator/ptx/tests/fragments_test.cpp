// Fragment maps against the PTX ISA (9.7.14.5.8 "Matrix Fragments for mma.m16n8k16 with floating
// point type", 9.7.14.5.10 "Matrix Fragments for mma.m16n8k32"). The expectations restate the
// ISA figures register by register (lanes 4g..4g+3 share row g; register pairs step rows by 8 and
// columns by 8 or 16), a different form from the element-index formulas the code transcribes.
// Each map is exercised on a matrix whose every element is distinct (value = row * cols + col).
#include <gtest/gtest.h>

#include <set>
#include <vector>
#include <utility>

#include "k4j_emu/ptx_ops.h"

namespace k4j::emu::ptx {
namespace {

using Map3 = RowCol (*)(int, int, int);

// For every lane/register/element: the element read through the map from a distinct-valued
// matrix is the one the ISA figure names; every element is held exactly once.
void check_map(Map3 map, int rows, int cols, int regs, int elems,
               RowCol (*expected)(int lane, int reg, int elem)) {
  std::vector<int> X(rows * cols);
  for (int i = 0; i < rows * cols; ++i) X[i] = i;  // distinct: value = row * cols + col
  std::set<int> seen;
  for (int lane = 0; lane < kWarpSize; ++lane) {
    for (int r = 0; r < regs; ++r) {
      for (int e = 0; e < elems; ++e) {
        const RowCol got = map(lane, r, e);
        ASSERT_GE(got.row, 0);
        ASSERT_LT(got.row, rows);
        ASSERT_GE(got.col, 0);
        ASSERT_LT(got.col, cols);
        const RowCol want = expected(lane, r, e);
        EXPECT_EQ(X[got.row * cols + got.col], want.row * cols + want.col)
            << "lane " << lane << " reg " << r << " elem " << e;
        seen.insert(X[got.row * cols + got.col]);
      }
    }
  }
  EXPECT_EQ(static_cast<int>(seen.size()), rows * cols);  // a bijection onto the matrix
}

TEST(Fragments, M16n8k16A) {
  check_map(frag_m16n8k16_a, 16, 16, 4, 2, [](int lane, int r, int e) {
    return RowCol{lane / 4 + 8 * (r & 1), 2 * (lane % 4) + e + 8 * (r >> 1)};
  });
  // Figure "MMA .m16n8k16 fragment layout for matrix A": T0 holds a0,a1 = (0,0),(0,1),
  // a2,a3 = (8,0),(8,1), a4,a5 = (0,8),(0,9), a6,a7 = (8,8),(8,9); T31 holds a7 = (15,15).
  EXPECT_EQ(frag_m16n8k16_a(0, 1, 0).row, 8);
  EXPECT_EQ(frag_m16n8k16_a(0, 2, 1).col, 9);
  EXPECT_EQ(frag_m16n8k16_a(31, 3, 1).row, 15);
  EXPECT_EQ(frag_m16n8k16_a(31, 3, 1).col, 15);
}

TEST(Fragments, M16n8k16B) {
  check_map(frag_m16n8k16_b, 16, 8, 2, 2, [](int lane, int r, int e) {
    return RowCol{2 * (lane % 4) + e + 8 * r, lane / 4};
  });
  EXPECT_EQ(frag_m16n8k16_b(5, 1, 1).row, 11);  // T5: b3 = (2*1 + 1 + 8, 1)
  EXPECT_EQ(frag_m16n8k16_b(5, 1, 1).col, 1);
}

TEST(Fragments, M16n8k16C) {
  check_map([](int lane, int r, int) { return frag_m16n8k16_c(lane, r); }, 16, 8, 4, 1,
            [](int lane, int r, int) {
              return RowCol{lane / 4 + 8 * (r >> 1), 2 * (lane % 4) + (r & 1)};
            });
}

TEST(Fragments, M16n8k32A) {
  check_map(frag_m16n8k32_a, 16, 32, 4, 4, [](int lane, int r, int e) {
    return RowCol{lane / 4 + 8 * (r & 1), 4 * (lane % 4) + e + 16 * (r >> 1)};
  });
  EXPECT_EQ(frag_m16n8k32_a(31, 3, 3).row, 15);  // T31: a15 = (15, 31)
  EXPECT_EQ(frag_m16n8k32_a(31, 3, 3).col, 31);
  EXPECT_EQ(frag_m16n8k32_a(1, 2, 0).col, 20);  // T1: a8 = (0, 4 + 16)
}

TEST(Fragments, M16n8k32B) {
  check_map(frag_m16n8k32_b, 32, 8, 2, 4, [](int lane, int r, int e) {
    return RowCol{4 * (lane % 4) + e + 16 * r, lane / 4};
  });
  EXPECT_EQ(frag_m16n8k32_b(31, 1, 3).row, 31);
  EXPECT_EQ(frag_m16n8k32_b(31, 1, 3).col, 7);
}

TEST(Fragments, M16n8k32CSameAsM16n8k16) {
  check_map([](int lane, int r, int) { return frag_m16n8k32_c(lane, r); }, 16, 8, 4, 1,
            [](int lane, int r, int) {
              return RowCol{lane / 4 + 8 * (r >> 1), 2 * (lane % 4) + (r & 1)};
            });
}

}  // namespace
}  // namespace k4j::emu::ptx
