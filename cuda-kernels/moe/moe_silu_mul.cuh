// SiLU-and-multiply between the two grouped GEMMs of an MoE layer, with the FP8 re-quantisation
// of the result fused: gateUp[rows, 2 * I] BF16 holds the gate in columns [0, I) and the up
// projection in [I, 2I) (vLLM's silu_and_mul / DeepGEMM's layout); h = silu(gate) * up in FP32
// (silu(g) = g / (1 + expf(-g))), then e4m3 + 1x128 scales (or BF16). Rows that hold no token
// (mIndices < 0, or past counts[g] in the masked layout) are skipped and left untouched.
// Grid (rows, ceil(I / (threads * 16))).
#pragma once
#include "moe/moe_common.cuh"

namespace k4j::kernels::moe {

constexpr int kSiluThreads = 128;

struct SiluParams {
  const uint16_t *gate_up;  // [G * M, 2I]
  int64_t rows_per_group;   // M
  int64_t inter;            // I
  const int *m_indices;     // optional, [G * M] (contiguous layout, G == 1)
  const int *counts;        // optional, [G] (masked layout)
  void *out;                // [G * M, I] e4m3 or BF16
  float *scales;            // fp8: [G][I/128][alignUp(M, 4)]
  int pow2;
  uint32_t *err;
};

__device__ __forceinline__ float silu_mul(float g, float u) { return g / (1.0f + expf(-g)) * u; }

template <bool kFp8>
__global__ void __launch_bounds__(kSiluThreads) silu_mul_kernel(const SiluParams p) {
  const int64_t row = blockIdx.x;
  const int64_t g = row / p.rows_per_group;
  const int64_t m = row - g * p.rows_per_group;
  // Block-uniform skips, before any shuffle.
  if (p.m_indices != nullptr && p.m_indices[row] < 0) return;
  if (p.counts != nullptr) {
    int c = p.counts[g];
    if (c < 0 || c > p.rows_per_group) {
      if (m == 0 && blockIdx.y == 0 && threadIdx.x == 0)
        raise_device_error(p.err, K4J_DEVERR_LENGTH_OUT_OF_RANGE);
      c = c < 0 ? 0 : (int)p.rows_per_group;
    }
    if (m >= c) return;
  }
  const int64_t i0 = ((int64_t)blockIdx.y * blockDim.x + threadIdx.x) * kVec;
  const bool active = i0 < p.inter;
  float h[kVec];
#pragma unroll
  for (int i = 0; i < kVec; ++i) h[i] = 0.0f;
  if (active) {
    const uint16_t *src = p.gate_up + row * 2 * p.inter + i0;
    float gv[kVec], uv[kVec];
    bf16x8_to_float(ldg16(src), gv);
    bf16x8_to_float(ldg16(src + 8), gv + 8);
    bf16x8_to_float(ldg16(src + p.inter), uv);
    bf16x8_to_float(ldg16(src + p.inter + 8), uv + 8);
#pragma unroll
    for (int i = 0; i < kVec; ++i) h[i] = silu_mul(gv[i], uv[i]);
  }
  if constexpr (kFp8) {
    uint4 q;
    const float s = quantize16(h, p.pow2 != 0, q);  // every lane: it shuffles
    if (!active) return;
    stg16(static_cast<uint8_t *>(p.out) + row * p.inter + i0, q);
    if ((threadIdx.x & (kLanesPerGroup - 1)) == 0) {
      const int num_kb = (int)(p.inter / kGroup);
      p.scales[scale_offset(row, (int)(i0 / kGroup), p.rows_per_group, num_kb, align_up64(p.rows_per_group, 4))] = s;
    }
  } else {
    if (!active) return;
    uint16_t *dst = static_cast<uint16_t *>(p.out) + row * p.inter + i0;
    stg16(dst, float8_to_bf16x8(h));
    stg16(dst + 8, float8_to_bf16x8(h + 8));
  }
}

}  // namespace k4j::kernels::moe
