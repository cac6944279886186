// Fragment maps of mma.sync, transcribed from the PTX ISA formulas (element index i = reg * n + elem,
// groupID = lane >> 2, threadID_in_group = lane % 4).
#include "k4j_emu/ptx_ops.h"

#include <cassert>

namespace k4j::emu::ptx {
namespace {
int group_id(int lane) { return lane >> 2; }
int thread_in_group(int lane) { return lane % 4; }
}  // namespace

// PTX ISA 9.7.14.5.8 "Matrix Fragments for mma.m16n8k16 with floating point type", A (.f16/.bf16):
//   row = groupID for ai where 0 <= i < 2 || 4 <= i < 6, groupID + 8 otherwise
//   col = threadID_in_group * 2 + (i & 1) for i < 4, ... + 8 for i >= 4
RowCol frag_m16n8k16_a(int lane, int reg, int elem) {
  assert(lane >= 0 && lane < kWarpSize && reg >= 0 && reg < 4 && elem >= 0 && elem < 2);
  const int i = reg * 2 + elem;
  const int row = ((i < 2) || (i >= 4 && i < 6)) ? group_id(lane) : group_id(lane) + 8;
  const int col = thread_in_group(lane) * 2 + (i & 1) + (i >= 4 ? 8 : 0);
  return {row, col};
}

// Same section, B (.f16/.bf16):
//   row = threadID_in_group * 2 + (i & 1) for i < 2, ... + 8 for i >= 2;  col = groupID
RowCol frag_m16n8k16_b(int lane, int reg, int elem) {
  assert(lane >= 0 && lane < kWarpSize && reg >= 0 && reg < 2 && elem >= 0 && elem < 2);
  const int i = reg * 2 + elem;
  const int row = thread_in_group(lane) * 2 + (i & 1) + (i >= 2 ? 8 : 0);
  return {row, group_id(lane)};
}

// Same section, C/D (.f32, one element per register):
//   row = groupID for ci where i < 2, groupID + 8 for i >= 2;  col = threadID_in_group * 2 + (i & 1)
RowCol frag_m16n8k16_c(int lane, int reg) {
  assert(lane >= 0 && lane < kWarpSize && reg >= 0 && reg < 4);
  const int row = reg < 2 ? group_id(lane) : group_id(lane) + 8;
  return {row, thread_in_group(lane) * 2 + (reg & 1)};
}

// PTX ISA 9.7.14.5.10 "Matrix Fragments for mma.m16n8k32", A (.e4m3/.e5m2/.s8/.u8):
//   row = groupID for ai where 0 <= i < 4 || 8 <= i < 12, groupID + 8 otherwise
//   col = threadID_in_group * 4 + (i & 3) for i < 8, ... + 16 for i >= 8
RowCol frag_m16n8k32_a(int lane, int reg, int elem) {
  assert(lane >= 0 && lane < kWarpSize && reg >= 0 && reg < 4 && elem >= 0 && elem < 4);
  const int i = reg * 4 + elem;
  const int row = ((i < 4) || (i >= 8 && i < 12)) ? group_id(lane) : group_id(lane) + 8;
  const int col = thread_in_group(lane) * 4 + (i & 3) + (i >= 8 ? 16 : 0);
  return {row, col};
}

// Same section, B:
//   row = threadID_in_group * 4 + (i & 3) for i < 4, ... + 16 for i >= 4;  col = groupID
RowCol frag_m16n8k32_b(int lane, int reg, int elem) {
  assert(lane >= 0 && lane < kWarpSize && reg >= 0 && reg < 2 && elem >= 0 && elem < 4);
  const int i = reg * 4 + elem;
  const int row = thread_in_group(lane) * 4 + (i & 3) + (i >= 4 ? 16 : 0);
  return {row, group_id(lane)};
}

// Same section, C/D (.f32): the same formulas as for m16n8k16.
RowCol frag_m16n8k32_c(int lane, int reg) {
  assert(lane >= 0 && lane < kWarpSize && reg >= 0 && reg < 4);
  const int row = reg < 2 ? group_id(lane) : group_id(lane) + 8;
  return {row, thread_in_group(lane) * 2 + (reg & 1)};
}

}  // namespace k4j::emu::ptx
