// Byte permutes: CUDA's __byte_perm and PTX prmt.b32 in its default (generic) mode, PTX ISA "Data
// Movement and Conversion Instructions: prmt": bytes {b, a} = {b7..b4, b3..b0}; for each target
// byte a 4-bit selector: the 3 lsbs pick the source byte, the msb replicates its sign bit.
#include "k4j_emu/ptx_ops.h"

namespace k4j::emu::ptx {
namespace {
uint32_t pick(uint64_t pair, uint32_t index) {
  return static_cast<uint32_t>(pair >> (8 * index)) & 0xFFu;
}
}  // namespace

uint32_t byte_perm(uint32_t x, uint32_t y, uint32_t s) {
  const uint64_t pair = (static_cast<uint64_t>(y) << 32) | x;
  uint32_t r = 0;
  for (int n = 0; n < 4; ++n) r |= pick(pair, (s >> (4 * n)) & 0x7u) << (8 * n);
  return r;
}

uint32_t prmt(uint32_t x, uint32_t y, uint32_t s) {
  const uint64_t pair = (static_cast<uint64_t>(y) << 32) | x;
  uint32_t r = 0;
  for (int n = 0; n < 4; ++n) {
    const uint32_t sel = (s >> (4 * n)) & 0xFu;
    uint32_t byte = pick(pair, sel & 0x7u);
    if (sel & 0x8u) byte = (byte & 0x80u) ? 0xFFu : 0x00u;
    r |= byte << (8 * n);
  }
  return r;
}

}  // namespace k4j::emu::ptx
