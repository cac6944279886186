// Arguments of the FP8 GEMM kernels, shared by the host launchers and every kernel family.
#pragma once
#include <stdint.h>

namespace k4j::kernels::gemm {

// How output rows map to problems (docs/CONTRACT.md section 2).
enum class GemmMode : int {
  kDense = 0,       // one problem, rows [0, m)
  kContiguous = 1,  // rows [0, m) of A/D, expert of row r = m_indices[r] (-1: padding, skipped)
  kEnds = 2,        // rows [0, m), expert of row r = first g with group_ends[g] > r (clamped)
  kMasked = 3,      // blockIdx.z = group g, rows [0, min(masked_m[g], m)) of A[g]/D[g]
};

struct GemmParams {
  const uint8_t *a;   // e4m3 [rows, k] (masked: [groups, m, k])
  const uint8_t *b;   // e4m3 [groups, n, k]
  const float *sa;    // MN-major [ceil(k/128)][sa_ld] (masked: one such array per group)
  const float *sb;    // [groups][ceil(n/128)][ceil(k/128)]
  const float *c;     // optional FP32, same shape as d
  void *d;            // BF16 or FP32 [rows, n] (masked: [groups, m, n])
  const int *m_indices;
  const int *group_ends;
  const int *masked_m;
  uint32_t *err_flags;
  int m;              // rows (dense/contiguous/ends: all rows; masked: maxM per group)
  int n, k;
  int groups;
  int sa_ld;          // alignUp(m, 4)
  int d_fp32;         // 1: D is FP32, 0: BF16
};

}  // namespace k4j::kernels::gemm
