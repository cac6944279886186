// Compile-only check (no GPU needed): every Hopper wgmma wrapper of cuda-kernels/common/ptx.cuh is
// accepted by nvcc and ptxas for sm_90a, and the file still compiles for sm_80, sm_89 and the
// compute_90 PTX the library embeds (where the sm_90a-only wrappers trap). Run by ctest as
// k4j_nvcc_hopper_wgmma_compile when nvcc is found.
#include "common/ptx.cuh"

namespace ptx = k4j::kernels::ptx;

template <int N>
__device__ void one_wgmma(float *out, const uint8_t *a, const uint8_t *b) {
  float d[N / 2];
#pragma unroll
  for (int i = 0; i < N / 2; ++i) d[i] = 0.f;
  ptx::wgmma_fence_operand(d);
  ptx::wgmma_fence();
  ptx::wgmma_e4m3_m64k32<N>(d, ptx::wgmma_desc(a, 128, 16, 1024), ptx::wgmma_desc(b, 128, 16, 1024), 0);
  ptx::wgmma_e4m3_m64k32<N>(d, ptx::wgmma_desc(a + 32, 128, 16, 1024), ptx::wgmma_desc(b + 32, 128, 16, 1024), 1);
  ptx::wgmma_commit_group();
  ptx::wgmma_wait_group<0>();
  ptx::wgmma_fence_operand(d);
#pragma unroll
  for (int i = 0; i < N / 2; ++i) out[threadIdx.x * (N / 2) + i] = d[i];
}

// BF16: smem A and B with every transpose combination, and A from registers, chained (scale_d 0, 1).
template <int N>
__device__ void one_wgmma_bf16(float *out, const uint8_t *a, const uint8_t *b, const uint32_t (&ar)[4]) {
  float d[N / 2];
#pragma unroll
  for (int i = 0; i < N / 2; ++i) d[i] = 0.f;
  ptx::wgmma_fence_operand(d);
  ptx::wgmma_fence();
  const uint64_t da = ptx::wgmma_desc(a, 128, 16, 1024), db = ptx::wgmma_desc(b, 128, 8192, 1024);
  ptx::wgmma_bf16_m64k16_ss<N, 0, 0>(d, da, db, 0);
  ptx::wgmma_bf16_m64k16_ss<N, 0, 1>(d, da, db, 1);
  ptx::wgmma_bf16_m64k16_ss<N, 1, 0>(d, da, db, 1);
  ptx::wgmma_bf16_m64k16_ss<N, 1, 1>(d, da, db, 1);
  ptx::wgmma_bf16_m64k16_rs<N, 0>(d, ar, db, 1);
  ptx::wgmma_bf16_m64k16_rs<N, 1>(d, ar, db, 1);
  ptx::wgmma_commit_group();
  ptx::wgmma_wait_group<0>();
  ptx::wgmma_fence_operand(d);
#pragma unroll
  for (int i = 0; i < N / 2; ++i) out[threadIdx.x * (N / 2) + i] = d[i];
}

__global__ void __launch_bounds__(128) hopper_wgmma_bf16_wrappers(float *out, const uint32_t *regs) {
  extern __shared__ __align__(1024) uint8_t smem[];
  const uint32_t ar[4] = {regs[4 * threadIdx.x], regs[4 * threadIdx.x + 1], regs[4 * threadIdx.x + 2],
                          regs[4 * threadIdx.x + 3]};
  one_wgmma_bf16<8>(out, smem, smem + 8192, ar);
  one_wgmma_bf16<16>(out, smem, smem + 8192, ar);
  one_wgmma_bf16<64>(out, smem, smem + 8192, ar);
  one_wgmma_bf16<128>(out, smem, smem + 8192, ar);
  one_wgmma_bf16<256>(out, smem, smem + 8192, ar);
}

__global__ void __launch_bounds__(384) hopper_wgmma_wrappers(float *out, int *flags) {
  extern __shared__ __align__(1024) uint8_t smem[];
  const int wg = threadIdx.x / 128;
  if (wg == 0) {
    ptx::setmaxnreg_dec<40>();
    if (threadIdx.x / 32 == 0 && ptx::elect_one_sync()) flags[0] = 1;
    ptx::named_barrier_arrive(1, 384);
  } else {
    ptx::setmaxnreg_inc<232>();
    ptx::named_barrier_sync(1, 384);
    if (wg == 1) {
      one_wgmma<8>(out, smem, smem + 8192);
      one_wgmma<64>(out, smem, smem + 8192);
      one_wgmma<96>(out, smem, smem + 8192);
      one_wgmma<112>(out, smem, smem + 8192);
      one_wgmma<128>(out, smem, smem + 8192);
    } else {
      one_wgmma<144>(out, smem, smem + 8192);
      one_wgmma<160>(out, smem, smem + 8192);
      one_wgmma<192>(out, smem, smem + 8192);
      one_wgmma<256>(out, smem, smem + 8192);
    }
    ptx::named_barrier_sync(2, 256);
  }
}
