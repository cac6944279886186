// Pure host C++17 models of the PTX warp-level instructions the CPU emulator executes: mma.sync
// (m16n8k16 f16/bf16, m16n8k32 e4m3/e5m2), ldmatrix, prmt / __byte_perm, and the exact decoders of
// the element formats they read. No CUDA headers: the emulator gathers every lane's register
// operands into arrays indexed [lane] (32 lanes), calls these functions, and scatters the results.
//
// References are to the PTX ISA by section title, with the PTX ISA 8.x numbers (9.x renumbers
// 9.7.14 as 9.7.15).
#ifndef K4J_EMU_PTX_OPS_H
#define K4J_EMU_PTX_OPS_H

#include <cstdint>

namespace k4j::emu::ptx {

constexpr int kWarpSize = 32;

// ---------------------------------------------------------------------------------------------
// Fragment maps: which element (row, col) of a matrix lane `lane` holds in register `reg`, element
// `elem` (elem = position inside the 32-bit register, low to high). Straight from the ISA's
// "row = ..., col = ..." formulas; the element index i of the ISA is i = reg * per_reg + elem.
// Arguments outside their ranges are a caller bug (checked by assert in debug builds).
// ---------------------------------------------------------------------------------------------
struct RowCol {
  int row;
  int col;
};

// PTX ISA 9.7.14.5.8, "Matrix Fragments for mma.m16n8k16 with floating point type" (.f16/.bf16):
// A is 16x16 (4 regs x 2 halves), B is 16x8 (2 regs x 2 halves), C/D .f32 is 16x8 (4 regs).
RowCol frag_m16n8k16_a(int lane, int reg, int elem);
RowCol frag_m16n8k16_b(int lane, int reg, int elem);
RowCol frag_m16n8k16_c(int lane, int reg);

// PTX ISA 9.7.14.5.10, "Matrix Fragments for mma.m16n8k32" (.e4m3/.e5m2, also .s8/.u8):
// A is 16x32 (4 regs x 4 bytes), B is 32x8 (2 regs x 4 bytes), C/D .f32 is 16x8 (4 regs; same map
// as m16n8k16).
RowCol frag_m16n8k32_a(int lane, int reg, int elem);
RowCol frag_m16n8k32_b(int lane, int reg, int elem);
RowCol frag_m16n8k32_c(int lane, int reg);

// ---------------------------------------------------------------------------------------------
// Element decoders (exact; every code of the 8/16-bit formats is representable in float).
// ---------------------------------------------------------------------------------------------
// OCP FP8 E4M3 ("e4m3fn" as PTX .e4m3): bias 7, no infinities, 0x7F/0xFF are NaN, max 448.
float e4m3_to_float(uint8_t code);
// OCP FP8 E5M2 (PTX .e5m2): bias 15, IEEE-like infinities and NaNs, max 57344.
float e5m2_to_float(uint8_t code);
// IEEE binary16.
float f16_to_float(uint16_t bits);
// bfloat16 (the high half of a binary32).
float bf16_to_float(uint16_t bits);

// ---------------------------------------------------------------------------------------------
// mma.sync.aligned (PTX ISA 9.7.14.5, "Matrix multiply-accumulate operation using mma
// instruction"), row.col, f32 accumulators. Operands per lane:
// a[lane][reg], b[lane][reg], c[lane][reg], d[lane][reg]; d may alias c. Each call uses about
// 10 KiB of stack (the decoded tile) and allocates nothing.
// ---------------------------------------------------------------------------------------------

// mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32. Model (not a hardware
// guarantee): each product is exact, the 16 products and c are summed exactly and rounded once to
// FP32 (round to nearest even). NaN/Inf inputs propagate as in IEEE arithmetic.
void mma_m16n8k16_f16_f32(const uint32_t (*a)[4], const uint32_t (*b)[2], const float (*c)[4],
                          float (*d)[4]);
void mma_m16n8k16_bf16_f32(const uint32_t (*a)[4], const uint32_t (*b)[2], const float (*c)[4],
                           float (*d)[4]);

// FP8 MMA accumulation model. kHopper (the default): the Hopper tensor-core behaviour reported in
// the ISCA'25 DeepSeek-V3 hardware paper, as parameterised by Fp8MmaModel below. kFp32: the 32
// products and c summed exactly and rounded once to FP32.
enum class Fp8Accum { kHopper, kFp32 };

// The configurable FP8 accumulation model (see README.md). Defaults = the published description:
//  1. the 32 products are exact; the largest exponent E among the non-zero addends is found
//     (the addends are the 32 products, plus c when align_with_c);
//  2. each addend is truncated toward zero to a multiple of 2^(E - product_fraction_bits), i.e. to
//     its highest product_fraction_bits fraction bits once aligned to E;
//  3. the truncated addends are summed exactly (when !align_with_c, c is then added exactly);
//  4. the sum is truncated toward zero to a float with 8 exponent bits and accum_mantissa_bits
//     mantissa bits (FP22 by default: 1 + 8 + 13), which FP32 holds exactly. Magnitudes of 2^128
//     or more become infinities.
struct Fp8MmaModel {
  Fp8Accum accum = Fp8Accum::kHopper;
  int product_fraction_bits = 13;  // 1..60
  int accum_mantissa_bits = 13;    // 1..23
  bool align_with_c = true;
};

// mma.sync.aligned.m16n8k32.row.col.f32.{e4m3,e5m2}.{e4m3,e5m2}.f32 (sm_89+).
void mma_m16n8k32_e4m3_f32(const uint32_t (*a)[4], const uint32_t (*b)[2], const float (*c)[4],
                           float (*d)[4], Fp8Accum accum = Fp8Accum::kHopper);
void mma_m16n8k32_e5m2_f32(const uint32_t (*a)[4], const uint32_t (*b)[2], const float (*c)[4],
                           float (*d)[4], Fp8Accum accum = Fp8Accum::kHopper);

// The general form: A and B element types chosen separately (PTX allows .e4m3.e5m2 mixes) and the
// full model. The two functions above call it with the default model parameters.
enum class Fp8Type { kE4M3, kE5M2 };
void mma_m16n8k32_fp8_f32(Fp8Type atype, Fp8Type btype, const uint32_t (*a)[4],
                          const uint32_t (*b)[2], const float (*c)[4], float (*d)[4],
                          const Fp8MmaModel &model);

// ---------------------------------------------------------------------------------------------
// ldmatrix.sync.aligned.m8n8.{x1,x2,x4}[.trans].shared.b16 (PTX ISA 9.7.14.5.15): num in {1,2,4};
// lane i supplies row_addr[i] (only lanes 0..8*num-1 matter: lanes 8j..8j+7 give rows 0..7 of
// matrix j); each row is 16 contiguous bytes (eight b16 elements, little-endian). Lane i receives
// in out[i][j] elements (row i/4, cols 2*(i%4), 2*(i%4)+1) of matrix j, low half first; with
// .trans, of the transposed matrix. Only out[lane][j] for j < num is written.
// Throws std::invalid_argument when num is not 1, 2 or 4.
void ldmatrix(int num, bool trans, const uint8_t *const *row_addr, uint32_t (*out)[4]);
// Which lanes' row addresses ldmatrix reads (lanes 0..n-1, so the caller can bounds-check them):
// returns 8*num. Throws std::invalid_argument when num is not 1, 2 or 4.
int ldmatrix_rows(int num);

// ---------------------------------------------------------------------------------------------
// Byte permutes over the pair {y, x} = bytes 7..0 (x supplies bytes 0..3).
// ---------------------------------------------------------------------------------------------
// CUDA __byte_perm(x, y, s): result byte n = byte s<4n+2:4n> of the pair; bit 3 of each nibble
// and the high 16 bits of s are ignored.
uint32_t byte_perm(uint32_t x, uint32_t y, uint32_t s);
// prmt.b32 d, x, y, s in the default (generic) mode (PTX ISA "Data Movement and Conversion
// Instructions: prmt"): as byte_perm, but
// when bit 3 of a selector nibble is set, the result byte is the selected byte's sign bit
// replicated over 8 bits (0x00 or 0xFF).
uint32_t prmt(uint32_t x, uint32_t y, uint32_t s);

}  // namespace k4j::emu::ptx

#endif  // K4J_EMU_PTX_OPS_H
