// ldmatrix.sync.aligned.m8n8.{x1,x2,x4}[.trans].shared.b16, PTX ISA 9.7.14.5.15 "Warp-level matrix
// load instruction: ldmatrix": threads 8j..8j+7 supply the row addresses addr(8j)..addr(8j+7) of
// matrix j; each row is eight 16-bit elements; lane i receives row i/4, elements 2*(i%4) and
// 2*(i%4)+1 (Figure "ldmatrix fragment layout for one 8x8 Matrix with 16-bit elements"); .trans
// loads the matrix in column-major format, i.e. lane i receives the transpose's elements.
#include <stdexcept>

#include "k4j_emu/ptx_ops.h"

namespace k4j::emu::ptx {
namespace {
void check_num(int num) {
  if (num != 1 && num != 2 && num != 4)
    throw std::invalid_argument("ldmatrix: num must be 1, 2 or 4");
}

// Element `col` of a row: little-endian b16 (the byte order of shared memory on the GPU).
uint32_t element(const uint8_t *row, int col) {
  return static_cast<uint32_t>(row[2 * col]) | (static_cast<uint32_t>(row[2 * col + 1]) << 8);
}
}  // namespace

int ldmatrix_rows(int num) {
  check_num(num);
  return 8 * num;
}

void ldmatrix(int num, bool trans, const uint8_t *const *row_addr, uint32_t (*out)[4]) {
  check_num(num);
  for (int j = 0; j < num; ++j) {
    const uint8_t *const *rows = row_addr + 8 * j;  // rows 0..7 of matrix j
    for (int lane = 0; lane < kWarpSize; ++lane) {
      const int r = lane / 4;
      const int c0 = 2 * (lane % 4);
      uint32_t lo, hi;
      if (!trans) {
        lo = element(rows[r], c0);
        hi = element(rows[r], c0 + 1);
      } else {  // element (r, c) of the transpose is element (c, r) of the stored matrix
        lo = element(rows[c0], r);
        hi = element(rows[c0 + 1], r);
      }
      out[lane][j] = lo | (hi << 16);
    }
  }
}

}  // namespace k4j::emu::ptx
