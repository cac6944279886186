// Pure host C++17 models of the Hopper warpgroup MMA (wgmma) pieces the CPU emulator needs: the
// shared-memory matrix descriptor, the swizzle address maps, the K-major and MN-major canonical
// layouts, the accumulator and .bf16 A register fragment maps, the m64nNk32 FP8 and m64nNk16 BF16
// products. No CUDA headers, no emulator state: the
// emulator (emulator/src/wgmma.cpp) gathers the operands through these maps and scatters D.
//
// References are to the PTX ISA by section title ("Asynchronous Warpgroup Level Matrix
// Multiply-Accumulate Instructions", 9.7.15 in PTX ISA 8.x).
#ifndef K4J_EMU_WGMMA_OPS_H
#define K4J_EMU_WGMMA_OPS_H

#include <cstdint>

#include "k4j_emu/ptx_ops.h"

namespace k4j::emu::ptx {

// ---------------------------------------------------------------------------------------------
// "Matrix Descriptor Format" (wgmma): a 64-bit value
//   bits 13..0  matrix start address, encoded as (address & 0x3FFFF) >> 4
//   bits 29..16 leading dimension byte offset (LBO), encoded >> 4
//   bits 45..32 stride dimension byte offset (SBO), encoded >> 4
//   bits 51..49 matrix base offset
//   bits 63..62 swizzle mode: 0 none (interleave), 1 128-byte, 2 64-byte, 3 32-byte
// all other bits 0.
// ---------------------------------------------------------------------------------------------
enum class WgmmaSwizzle : uint8_t { kNone = 0, k128B = 1, k64B = 2, k32B = 3 };

struct WgmmaDesc {
  uint32_t start_address = 0;  // bytes in the shared window, multiple of 16, < 2^18
  uint32_t lbo = 0;            // bytes, multiple of 16, < 2^18
  uint32_t sbo = 0;            // bytes, multiple of 16, < 2^18
  uint32_t base_offset = 0;    // 0..7
  WgmmaSwizzle swizzle = WgmmaSwizzle::kNone;
};

// Encodes the fields (values are masked to their widths: bits 3..0 of the byte quantities and
// address bits 18 and above are not representable, as in the hardware format).
uint64_t wgmma_desc_encode(const WgmmaDesc &d);
// Decodes; the byte quantities come back as multiples of 16. Reserved bits are ignored.
WgmmaDesc wgmma_desc_decode(uint64_t desc);
// True when bits outside the fields are set (bits 15..14, 31..30, 48..46, 61..52).
bool wgmma_desc_reserved_bits(uint64_t desc);

// Swizzle width in bytes (the length of a swizzled row: 128, 64, 32; 0 for kNone) and the byte span
// after which the pattern repeats (8 rows of 128 B = 1024, then 512 and 256; 0 for kNone).
int swizzle_row_bytes(WgmmaSwizzle s);
int swizzle_repeat_bytes(WgmmaSwizzle s);
// WgmmaSwizzle for 0/32/64/128; throws std::invalid_argument otherwise.
WgmmaSwizzle swizzle_from_bytes(int bytes);

// The swizzle address map of the shared memory matrix layouts (the same one TMA's
// CU_TENSOR_MAP_SWIZZLE_{32,64,128}B modes write): the 16-byte chunk index held in address bits
// [4, 4+b) is XORed with address bits [7, 7+b), b = 3, 2, 1 for 128, 64, 32-byte swizzle. For
// 128 B: inside each 1024-byte atom of eight 128-byte rows, chunk c of row r moves to chunk
// c ^ (r % 8). A bijection on every aligned span of swizzle_repeat_bytes; kNone is the identity.
uint32_t swizzle_address(uint32_t address, WgmmaSwizzle s);

// "Shared Memory Matrix Layout" (wgmma), K-major, for one k32 step of 8-bit elements (32 bytes of
// K per row): the shared-window address of byte `kbyte` (0..31) of row `row` (an M row of A or an
// N row of B) for the operand the descriptor describes:
//   kNone:      core matrices of 8 rows x 16 bytes, each 128 contiguous bytes;
//               start + (row / 8) * SBO + (kbyte / 16) * LBO + (row % 8) * 16 + kbyte % 16
//   swizzled:   8-row atoms of rows swizzle_row_bytes(s) long (LBO unused: 32 bytes of K never
//               leave one row); swizzle_address(start + (row / 8) * SBO + (row % 8) * T + kbyte)
uint32_t wgmma_kmajor_address(const WgmmaDesc &d, int row, int kbyte);

// "Shared Memory Matrix Layout" (wgmma), MN-major (imm-trans-a / imm-trans-b = 1), subsection
// "Canonical Layouts" (PTX ISA 8.x 9.7.15.5.1.2.1.3; CuTe notation, T = 16 / elem_bytes elements of
// 128 bits): the shared-window address of element (mn, k) (mn: M row of A or N column of B, k: K
// index inside the instruction's K extent) of an operand with elem_bytes-byte elements:
//   kNone ((T,1,m),(8,k)):((1,T,SBO),(1T,LBO)): core matrices of 8 K-rows x 16 bytes (T elements
//         of MN), 128 contiguous bytes each; the next T of MN is SBO away, the next 8 of K LBO away:
//         start + (mn / T) * SBO + (k / 8) * LBO + (k % 8) * 16 + (mn % T) * elem_bytes
//   swizzled, S = swizzle_row_bytes ((T,S/16,m),(8,k)):((1,T,LBO),(S/16*T,SBO)): atoms of 8 K-rows
//         of S bytes (S / elem_bytes elements of MN each); the next atom along MN is LBO away, along
//         K SBO away; the swizzle applies to the resulting address:
//         swizzle_address(start + (mn / (S/eb)) * LBO + (k / 8) * SBO + (k % 8) * S + (mn % (S/eb)) * eb)
// Element sizes 1, 2 or 4 bytes (assert).
uint32_t wgmma_mnmajor_address(const WgmmaDesc &d, int mn, int k, int elem_bytes);

// "Register Fragments and Shared Memory Matrix Layouts", accumulator D of wgmma .m64nNk* with .f32
// (N/2 registers per thread): thread t (0..127) of the warpgroup, register i (0..N/2-1) holds
//   row = 16 * (t / 32) + (t % 32) / 4 + 8 * ((i / 2) % 2),  col = 8 * (i / 4) + 2 * (t % 4) + i % 2.
RowCol frag_wgmma_m64_d(int thread, int reg);

// "Register Fragments" (wgmma), A of .m64nNk16 with .f16/.bf16 from registers: 4 registers of two
// 16-bit elements per thread; thread t (0..127), register r (0..3), element e (0 low half, 1 high)
// holds A element i = 2r + e at row = 16 * (t / 32) + (t % 32) / 4 + 8 * (i / 2 % 2),
// col (K) = 8 * (i / 4) + 2 * (t % 4) + i % 2: each warp's 16 rows as the mma.m16n8k16 A fragment.
RowCol frag_wgmma_m64k16_a(int thread, int reg, int elem);

// wgmma.mma_async.sync.aligned.m64n{n}k16.f32.bf16.bf16 on gathered operands:
//   a[m * 16 + k] (m < 64, k < 16): A's bf16 codes, row-major; b[col * 16 + k] (col < n): B's bf16
//   codes, K-major (the caller gathers either major-ness into this form); c, d, scale_d as for the
//   FP8 form below. Numerics: each D element is one k16 dot product plus C, exactly as
//   mma.sync.m16n8k16.bf16 computes it (through mma_m16n8k16_bf16_f32: products exact, the sum
//   rounded once to FP32). n: a multiple of 8 in [8, 256] (std::invalid_argument otherwise).
void wgmma_m64nk16_bf16_f32(int n, const uint16_t *a, const uint16_t *b, const float *c, float *d, bool scale_d);

// wgmma.mma_async.sync.aligned.m64n{n}k32.f32.{atype}.{btype} on gathered operands:
//   a[m * 32 + k]  (m < 64, k < 32): A's element codes, row-major;
//   b[col * 32 + k] (col < n): B's element codes, column col's 32 K values contiguous (K-major);
//   c[t * (n/2) + i], d[t * (n/2) + i]: the 128 threads' accumulator registers (frag_wgmma_m64_d);
//   scale_d false: D = A * B, true: D = A * B + C. d may alias c.
// Numerics: each D element is one k32 dot product plus C, exactly as mma.sync.m16n8k32 computes
// it (the same Fp8MmaModel, through mma_m16n8k32_fp8_f32: one home for the FP8 accumulation model).
// n: a multiple of 8 in [8, 256] (std::invalid_argument otherwise). Allocates nothing.
void wgmma_m64nk32_fp8_f32(Fp8Type atype, Fp8Type btype, int n, const uint8_t *a, const uint8_t *b,
                           const float *c, float *d, bool scale_d, const Fp8MmaModel &model);

}  // namespace k4j::emu::ptx

#endif  // K4J_EMU_WGMMA_OPS_H
