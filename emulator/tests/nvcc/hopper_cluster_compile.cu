// Compile-only check (no GPU needed): every Hopper cluster wrapper of cuda-kernels/common/ptx.cuh is
// instantiated, so nvcc and ptxas assemble each instruction for sm_90a, and the sm_80/sm_89 passes
// prove the guards keep older targets compiling (the wrappers trap there); k4j::launch_cluster
// (native/src/k4j_launch.h) compiles as host code. Run by ctest as k4j_nvcc_hopper_cluster_compile
// when nvcc is found. The semantics are tested on the emulated device (emulator/tests/hopper_cluster.cu).
#include "common/ptx.cuh"
#include "k4j_launch.h"

namespace ptx = k4j::kernels::ptx;
__global__ void ptx_cluster_compile_check(const __grid_constant__ CUtensorMap ma, const __grid_constant__ CUtensorMap mb,
                                          int *out) {
  extern __shared__ __align__(1024) uint8_t smem[];
  uint64_t *bar = reinterpret_cast<uint64_t *>(smem + 16384);
  const uint32_t rank = ptx::cluster_ctarank();
  if (threadIdx.x == 0) {
    ptx::mbarrier_init(bar, 1 + ptx::cluster_nctarank());
    ptx::fence_mbarrier_init();
  }
  ptx::cluster_sync();
  if (threadIdx.x == 0) {
    ptx::mbarrier_arrive_expect_tx(bar, 2 * 8192);
    ptx::tma_load_2d_multicast(smem, &ma, bar, 0x3, 0, (int)rank);
    ptx::tma_load_3d_multicast(smem + 8192, &mb, bar, 0x3, 0, 0, (int)ptx::cluster_id_x());
    ptx::mbarrier_arrive_cluster(bar, rank ^ 1);
  }
  ptx::mbarrier_wait_parity(bar, 0);
  ptx::cluster_arrive();
  const int *peer = ptx::mapa_shared(reinterpret_cast<const int *>(smem), rank ^ 1);
  ptx::cluster_wait();
  out[threadIdx.x] = peer[threadIdx.x];
  ptx::cluster_sync();
}
void ptx_cluster_compile_check_host(const CUtensorMap &a, const CUtensorMap &b, int *out) {
  k4j::launch_cluster("ptx_cluster_compile_check", ptx_cluster_compile_check, dim3(4), dim3(128), dim3(2), 20000,
                      nullptr, a, b, out);
}
