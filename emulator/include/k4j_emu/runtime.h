// The emulator's runtime interface seen by emulated device code and launchers. Implemented in
// emulator/src (compiled without sanitizer instrumentation).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <tuple>
#include <utility>

#include "k4j_emu/ptx_ops.h"

namespace k4j::emu {

// ---- built-in variables of the running CUDA thread
uint3 thread_idx();
uint3 block_idx();
dim3 block_dim();
dim3 grid_dim();

// ---- synchronisation
void syncthreads();
void syncwarp(unsigned mask);
void fence();

enum class ShflMode { kIdx, kUp, kDown, kXor };
uint64_t shfl(ShflMode mode, unsigned mask, uint64_t value, unsigned bytes, int arg, int width);
enum class VoteMode { kBallot, kAny, kAll };
unsigned vote(VoteMode mode, unsigned mask, bool pred);
unsigned match_any(unsigned mask, uint64_t value);
unsigned activemask();

// ---- atomics (global or shared memory)
enum class AtomicOp { kAdd, kSub, kOr, kAnd, kMax, kMin, kExch };
void atomic_access(const void *p, unsigned bytes);  // sanitizer bookkeeping of one atomic access
// Not instrumented: the access is reported once, as atomic, by atomic_access.
template <typename T>
__attribute__((no_sanitize_address)) T atomic_rmw(T *p, AtomicOp op, T v) {
  atomic_access(p, sizeof(T));
  const T old = *p;
  T r = old;
  switch (op) {
    case AtomicOp::kAdd: r = old + v; break;
    case AtomicOp::kSub: r = old - v; break;
    case AtomicOp::kExch: r = v; break;
    case AtomicOp::kMax: r = old < v ? v : old; break;
    case AtomicOp::kMin: r = v < old ? v : old; break;
    case AtomicOp::kOr:
      if constexpr (std::is_integral<T>::value) r = old | v;
      break;
    case AtomicOp::kAnd:
      if constexpr (std::is_integral<T>::value) r = old & v;
      break;
  }
  *p = r;
  return old;
}
template <typename T>
__attribute__((no_sanitize_address)) T atomic_cas(T *p, T cmp, T v) {
  atomic_access(p, sizeof(T));
  const T old = *p;
  if (old == cmp) *p = v;
  return old;
}

// ---- dynamic shared memory of the running block (exactly the launch's bytes)
void *dynamic_smem();

// ---- PTX twins used by cuda-kernels/common/ptx.cuh (PTX ISA sections cited there and in src/)
void cp_async_16(void *smem_dst, const void *gmem_src, int src_bytes);  // cp.async.cg.shared.global 16
void cp_async_commit();                                                  // cp.async.commit_group
void cp_async_wait(int n);                                               // cp.async.wait_group n
void ldmatrix(int num, bool trans, const void *row_addr, uint32_t *regs);  // ldmatrix.sync.aligned.m8n8
enum class MmaKind { kF16, kBf16, kE4m3, kE5m2 };
void mma_16816(MmaKind kind, float *d, const uint32_t *a, const uint32_t *b);  // d += a * b, m16n8k16
void mma_16832(MmaKind kind, float *d, const uint32_t *a, const uint32_t *b);  // d += a * b, m16n8k32

// ---- Hopper: TMA and mbarrier (emulator/src/mbarrier.cpp, emulator/src/tma.cpp; PTX ISA sections
// cited in cuda-kernels/common/ptx.cuh). Tensor maps are the CUtensorMap the emulator's
// cuTensorMapEncodeTiled wrote (its decoded form, see tma.cpp).
void mbarrier_init(uint64_t *bar, uint32_t arrive_count);
void mbarrier_arrive(uint64_t *bar);
void mbarrier_arrive_expect_tx(uint64_t *bar, uint32_t tx_bytes);
bool mbarrier_try_wait_parity(uint64_t *bar, uint32_t phase_parity);
void fence_mbarrier_init();
void fence_proxy_async_shared();
void tma_load(void *smem_dst, const void *tensor_map, uint64_t *bar, int rank, const int32_t *coords);
void tma_store(const void *tensor_map, const void *smem_src, int rank, const int32_t *coords);
void tma_store_commit();
void tma_store_wait_read(int n);
void prefetch_tensormap(const void *tensor_map);

// ---- Hopper: wgmma, elect.sync, setmaxnreg, named barriers (emulator/src/wgmma.cpp; PTX ISA sections
// cited in cuda-kernels/common/ptx.cuh). wgmma operands must lie in the launch's dynamic shared memory.
uint64_t wgmma_desc(const void *smem, int swizzle_bytes, uint32_t lbo_bytes, uint32_t sbo_bytes);
void wgmma_fence();
void wgmma_commit_group();
void wgmma_wait_group(int n);
void wgmma_e4m3_m64k32(int n, float *d, uint64_t desc_a, uint64_t desc_b, int scale_d);  // d: n/2 floats
// m64nNk16 bf16: A from desc_a (trans_a: MN-major) or, when a_regs is not null, from the thread's 4
// registers (read at issue); B from desc_b (trans_b: MN-major). d: n/2 floats.
void wgmma_bf16_m64k16(int n, float *d, uint64_t desc_a, const uint32_t *a_regs, uint64_t desc_b, int trans_a,
                       int trans_b, int scale_d);
bool elect_one_sync();
void setmaxnreg(bool inc, int regs);
void named_barrier(bool sync, int id, int thread_count);

// ---- Hopper: thread-block clusters (emulator/src/cluster.cpp, tma.cpp; PTX ISA sections cited in
// cuda-kernels/common/ptx.cuh). A launch without a cluster dimension is a cluster of one CTA.
unsigned cluster_ctarank();    // %cluster_ctarank
unsigned cluster_nctarank();   // %cluster_nctarank
uint3 cluster_id();            // %clusterid
dim3 cluster_dim();            // %cluster_nctaid
void cluster_arrive();         // barrier.cluster.arrive.release
void cluster_wait();           // barrier.cluster.wait.acquire
void *mapa(const void *p, unsigned rank);  // mapa.u64: the same shared-memory location in CTA `rank`
void mbarrier_arrive_cluster(uint64_t *bar, unsigned rank);  // mbarrier.arrive.release.cluster.shared::cluster
void tma_load_multicast(void *smem_dst, const void *tensor_map, uint64_t *bar, uint16_t cta_mask, int rank,
                        const int32_t *coords);

// ---- launches
// The kernel body of one launch, run by every CUDA thread of the grid. Its bytes are the launch's
// parameter space: the sanitizer lets that launch's threads read them, as CUDA's param space.
struct LaunchBody {
  virtual void run() = 0;
  virtual ~LaunchBody() = default;
};
void *param_alloc(size_t bytes);
// cluster: the cluster dimension (cudaLaunchAttributeClusterDimension); {1, 1, 1}: none.
cudaError_t launch(const char *name, const void *func, dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                   LaunchBody *body, size_t body_bytes, dim3 cluster = dim3(1, 1, 1));

template <typename F>
struct LaunchBodyOf final : LaunchBody {
  F f;
  explicit LaunchBodyOf(F &&fn) : f(std::move(fn)) {}
  void run() override { f(); }
};

}  // namespace k4j::emu
