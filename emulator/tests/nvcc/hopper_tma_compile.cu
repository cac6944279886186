// Compile-only check (no GPU needed): every Hopper TMA/mbarrier wrapper of
// cuda-kernels/common/ptx.cuh is instantiated, so nvcc and ptxas assemble each instruction for
// sm_90a, and the sm_80/sm_89 passes prove the guards keep older targets compiling (the wrappers trap
// there); native/src/k4j_tensor_map.h compiles as host code. Run by ctest as
// k4j_nvcc_hopper_tma_compile when nvcc is found. The semantics are tested on the emulated device
// (emulator/tests/hopper_tma.cu).
#include "common/ptx.cuh"
#include "k4j_tensor_map.h"

namespace ptx = k4j::kernels::ptx;
__global__ void ptx_tma_compile_check(const __grid_constant__ CUtensorMap ma, const __grid_constant__ CUtensorMap mb,
                                      float *out) {
  extern __shared__ __align__(1024) uint8_t smem[];
  __shared__ uint64_t bar;
  if (threadIdx.x == 0) {
    ptx::prefetch_tensormap(&ma);
    ptx::mbarrier_init(&bar, 1);
    ptx::fence_mbarrier_init();
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    ptx::mbarrier_arrive_expect_tx(&bar, 2 * 8192);
    ptx::tma_load_2d(smem, &ma, &bar, 0, 0);
    ptx::tma_load_3d(smem + 8192, &mb, &bar, 0, 0, 1);
    ptx::tma_load_4d(smem + 16384, &mb, &bar, 0, 0, 1, 2);
  }
  ptx::mbarrier_wait_parity(&bar, 0);
  bool t = ptx::mbarrier_try_wait_parity(&bar, 0);
  out[threadIdx.x] = smem[threadIdx.x] + t;
  __syncthreads();
  if (threadIdx.x == 0) ptx::mbarrier_arrive(&bar);
  ptx::fence_proxy_async_shared();
  __syncthreads();
  if (threadIdx.x == 0) {
    ptx::tma_store_2d(&ma, smem, 0, 0);
    ptx::tma_store_commit();
    ptx::tma_store_wait<0>();
    ptx::tma_store_wait<1>();
  }
}
int ptx_tma_compile_check_host(CUtensorMap *m, void *p) {
  return k4j::make_tensor_map_2d(m, k4j::TmaType::kFp8, p, 256, 256, 256, 128, 64, k4j::TmaSwizzle::k128B) +
         k4j::make_tensor_map_3d(m, k4j::TmaType::kBf16, p, 64, 64, 4, 128, 8192, 64, 64, 1, k4j::TmaSwizzle::k128B);
}
