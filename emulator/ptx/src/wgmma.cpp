// wgmma pieces (k4j_emu/wgmma_ops.h), transcribed from the PTX ISA sections named there.
#include <cassert>
#include <stdexcept>

#include "k4j_emu/wgmma_ops.h"

namespace k4j::emu::ptx {

uint64_t wgmma_desc_encode(const WgmmaDesc &d) {
  return static_cast<uint64_t>((d.start_address & 0x3FFFFu) >> 4) |
         (static_cast<uint64_t>((d.lbo >> 4) & 0x3FFFu) << 16) |
         (static_cast<uint64_t>((d.sbo >> 4) & 0x3FFFu) << 32) |
         (static_cast<uint64_t>(d.base_offset & 7u) << 49) |
         (static_cast<uint64_t>(static_cast<uint8_t>(d.swizzle) & 3u) << 62);
}

WgmmaDesc wgmma_desc_decode(uint64_t desc) {
  WgmmaDesc d;
  d.start_address = static_cast<uint32_t>(desc & 0x3FFF) << 4;
  d.lbo = static_cast<uint32_t>((desc >> 16) & 0x3FFF) << 4;
  d.sbo = static_cast<uint32_t>((desc >> 32) & 0x3FFF) << 4;
  d.base_offset = static_cast<uint32_t>((desc >> 49) & 7);
  d.swizzle = static_cast<WgmmaSwizzle>((desc >> 62) & 3);
  return d;
}

bool wgmma_desc_reserved_bits(uint64_t desc) {
  const uint64_t fields = 0x3FFFull | (0x3FFFull << 16) | (0x3FFFull << 32) | (7ull << 49) | (3ull << 62);
  return (desc & ~fields) != 0;
}

int swizzle_row_bytes(WgmmaSwizzle s) {
  switch (s) {
    case WgmmaSwizzle::k128B: return 128;
    case WgmmaSwizzle::k64B: return 64;
    case WgmmaSwizzle::k32B: return 32;
    default: return 0;
  }
}

int swizzle_repeat_bytes(WgmmaSwizzle s) { return 8 * swizzle_row_bytes(s); }

WgmmaSwizzle swizzle_from_bytes(int bytes) {
  switch (bytes) {
    case 0: return WgmmaSwizzle::kNone;
    case 32: return WgmmaSwizzle::k32B;
    case 64: return WgmmaSwizzle::k64B;
    case 128: return WgmmaSwizzle::k128B;
    default: throw std::invalid_argument("swizzle width must be 0, 32, 64 or 128 bytes");
  }
}

uint32_t swizzle_address(uint32_t address, WgmmaSwizzle s) {
  // b bits of 16-byte chunk index, XORed with the b address bits starting at bit 7.
  const int b = s == WgmmaSwizzle::k128B ? 3 : s == WgmmaSwizzle::k64B ? 2 : s == WgmmaSwizzle::k32B ? 1 : 0;
  const uint32_t mask = (1u << b) - 1;
  return address ^ (((address >> 7) & mask) << 4);
}

uint32_t wgmma_kmajor_address(const WgmmaDesc &d, int row, int kbyte) {
  assert(row >= 0 && kbyte >= 0 && kbyte < 32);
  const uint32_t r = static_cast<uint32_t>(row), k = static_cast<uint32_t>(kbyte);
  if (d.swizzle == WgmmaSwizzle::kNone)
    return d.start_address + (r / 8) * d.sbo + (k / 16) * d.lbo + (r % 8) * 16 + k % 16;
  const uint32_t t = static_cast<uint32_t>(swizzle_row_bytes(d.swizzle));
  return swizzle_address(d.start_address + (r / 8) * d.sbo + (r % 8) * t + k, d.swizzle);
}

uint32_t wgmma_mnmajor_address(const WgmmaDesc &d, int mn, int k, int elem_bytes) {
  assert(mn >= 0 && k >= 0 && (elem_bytes == 1 || elem_bytes == 2 || elem_bytes == 4));
  const uint32_t m = static_cast<uint32_t>(mn), kk = static_cast<uint32_t>(k), eb = static_cast<uint32_t>(elem_bytes);
  if (d.swizzle == WgmmaSwizzle::kNone) {
    const uint32_t t = 16 / eb;  // elements of MN in one 16-byte core-matrix row
    return d.start_address + (m / t) * d.sbo + (kk / 8) * d.lbo + (kk % 8) * 16 + (m % t) * eb;
  }
  const uint32_t s = static_cast<uint32_t>(swizzle_row_bytes(d.swizzle)), per_row = s / eb;
  return swizzle_address(d.start_address + (m / per_row) * d.lbo + (kk / 8) * d.sbo + (kk % 8) * s + (m % per_row) * eb,
                         d.swizzle);
}

RowCol frag_wgmma_m64_d(int thread, int reg) {
  assert(thread >= 0 && thread < 128 && reg >= 0 && reg < 128);
  const int warp = thread / 32, lane = thread % 32;
  return {16 * warp + lane / 4 + 8 * ((reg / 2) % 2), 8 * (reg / 4) + 2 * (lane % 4) + reg % 2};
}

RowCol frag_wgmma_m64k16_a(int thread, int reg, int elem) {
  assert(thread >= 0 && thread < 128 && reg >= 0 && reg < 4 && elem >= 0 && elem < 2);
  const int warp = thread / 32, lane = thread % 32, i = 2 * reg + elem;
  return {16 * warp + lane / 4 + 8 * ((i / 2) % 2), 8 * (i / 4) + 2 * (lane % 4) + i % 2};
}

namespace {

// Both products: every D element is independent (one K-long dot product plus C), so D is computed
// 16x8 tile by 16x8 tile (rows 16w..16w+15, columns 8j..8j+7) as the mma.sync.m16n8k{K} the
// numerics are defined on, packing A, B and C through that mma's fragment maps (Frag) and reading
// D back through them. Elem: the element code type (uint8_t FP8, uint16_t bf16); a[m * K + k],
// b[col * K + k].
template <int K, typename Elem, typename Mma>
void wgmma_by_mma_tiles(int n, const Elem *a, const Elem *b, const float *c, float *d, bool scale_d,
                        RowCol (*frag_a)(int, int, int), RowCol (*frag_b)(int, int, int), RowCol (*frag_c)(int, int),
                        Mma mma) {
  if (n < 8 || n > 256 || n % 8 != 0) throw std::invalid_argument("wgmma m64nNk*: N must be a multiple of 8 in [8, 256]");
  constexpr int kPerReg = 4 / static_cast<int>(sizeof(Elem));
  constexpr int kBits = 8 * static_cast<int>(sizeof(Elem));
  const int regs = n / 2;
  uint32_t fa[kWarpSize][4], fb[kWarpSize][2];
  float fc[kWarpSize][4], fd[kWarpSize][4];
  // Position of D element (row, col) in the c/d arrays, for the 16x8 tile being computed.
  auto slot = [regs](int row, int col) {
    // Inverse of frag_wgmma_m64_d: warp = row / 16; lane = 4 * (row % 8) + (col % 8) / 2;
    // reg = 4 * (col / 8) + 2 * ((row % 16) / 8) + col % 2.
    const int t = 32 * (row / 16) + 4 * (row % 8) + (col % 8) / 2;
    const int i = 4 * (col / 8) + 2 * ((row % 16) / 8) + col % 2;
    return t * regs + i;
  };
  for (int w = 0; w < 4; ++w) {
    for (int lane = 0; lane < kWarpSize; ++lane)
      for (int r = 0; r < 4; ++r) {
        uint32_t v = 0;
        for (int e = 0; e < kPerReg; ++e) {
          const RowCol rc = frag_a(lane, r, e);
          v |= static_cast<uint32_t>(a[(16 * w + rc.row) * K + rc.col]) << (kBits * e);
        }
        fa[lane][r] = v;
      }
    for (int j = 0; j < n / 8; ++j) {
      for (int lane = 0; lane < kWarpSize; ++lane) {
        for (int r = 0; r < 2; ++r) {
          uint32_t v = 0;
          for (int e = 0; e < kPerReg; ++e) {
            const RowCol rc = frag_b(lane, r, e);  // rc.row = k, rc.col = column in the tile
            v |= static_cast<uint32_t>(b[(8 * j + rc.col) * K + rc.row]) << (kBits * e);
          }
          fb[lane][r] = v;
        }
        for (int r = 0; r < 4; ++r) {
          const RowCol rc = frag_c(lane, r);
          // D = A * B: C is -0, the exact identity of the sum (a sum of -0 products stays -0).
          fc[lane][r] = scale_d ? c[slot(16 * w + rc.row, 8 * j + rc.col)] : -0.0f;
        }
      }
      mma(fa, fb, fc, fd);
      for (int lane = 0; lane < kWarpSize; ++lane)
        for (int r = 0; r < 4; ++r) {
          const RowCol rc = frag_c(lane, r);
          d[slot(16 * w + rc.row, 8 * j + rc.col)] = fd[lane][r];
        }
    }
  }
}

}  // namespace

void wgmma_m64nk32_fp8_f32(Fp8Type atype, Fp8Type btype, int n, const uint8_t *a, const uint8_t *b,
                           const float *c, float *d, bool scale_d, const Fp8MmaModel &model) {
  wgmma_by_mma_tiles<32>(n, a, b, c, d, scale_d, frag_m16n8k32_a, frag_m16n8k32_b, frag_m16n8k32_c,
                         [&](const uint32_t(*fa)[4], const uint32_t(*fb)[2], const float(*fc)[4], float(*fd)[4]) {
                           mma_m16n8k32_fp8_f32(atype, btype, fa, fb, fc, fd, model);
                         });
}

void wgmma_m64nk16_bf16_f32(int n, const uint16_t *a, const uint16_t *b, const float *c, float *d, bool scale_d) {
  wgmma_by_mma_tiles<16>(n, a, b, c, d, scale_d, frag_m16n8k16_a, frag_m16n8k16_b, frag_m16n8k16_c,
                         [](const uint32_t(*fa)[4], const uint32_t(*fb)[2], const float(*fc)[4], float(*fd)[4]) {
                           mma_m16n8k16_bf16_f32(fa, fb, fc, fd);
                         });
}

}  // namespace k4j::emu::ptx
