/* The one launch path of every kernel, shared by the GPU build (a <<<>>> launch) and the CPU
 * emulator build (the emulator's launch, which runs the same kernel function as fibers). The
 * launch error is left for check_launch() (cudaGetLastError), as a <<<>>> launch leaves it. */
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <tuple>
#include <utility>

namespace k4j {

template <typename... P, typename... A>
inline void launch(const char *name, void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                   A &&...args) {
#ifdef K4J_EMULATOR
  // The arguments are converted to the kernel's parameter types now, as a <<<>>> launch does.
  auto call = [kernel, params = std::tuple<P...>(std::forward<A>(args)...)]() { std::apply(kernel, params); };
  using B = emu::LaunchBodyOf<decltype(call)>;
  emu::launch(name, reinterpret_cast<const void *>(kernel), grid, block, smem, stream,
              new (emu::param_alloc(sizeof(B))) B(std::move(call)), sizeof(B));
#else
  (void)name;
  kernel<<<grid, block, smem, stream>>>(std::forward<A>(args)...);
#endif
}

// --- Hopper: clusters. The same launch with a thread-block cluster dimension (CUDA programming
// guide, "Thread Block Clusters": cudaLaunchKernelEx with cudaLaunchAttributeClusterDimension). The
// grid must be a whole number of clusters; a cluster of {1, 1, 1} is the plain launch above. The
// launch error is left for check_launch() (cudaGetLastError), as with launch().
template <typename... P, typename... A>
inline void launch_cluster(const char *name, void (*kernel)(P...), dim3 grid, dim3 block, dim3 cluster, size_t smem,
                           cudaStream_t stream, A &&...args) {
  if (cluster.x * cluster.y * cluster.z == 1) {
    launch(name, kernel, grid, block, smem, stream, std::forward<A>(args)...);
    return;
  }
#ifdef K4J_EMULATOR
  auto call = [kernel, params = std::tuple<P...>(std::forward<A>(args)...)]() { std::apply(kernel, params); };
  using B = emu::LaunchBodyOf<decltype(call)>;
  emu::launch(name, reinterpret_cast<const void *>(kernel), grid, block, smem, stream,
              new (emu::param_alloc(sizeof(B))) B(std::move(call)), sizeof(B), cluster);
#else
  (void)name;
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeClusterDimension;
  attr[0].val.clusterDim.x = cluster.x;
  attr[0].val.clusterDim.y = cluster.y;
  attr[0].val.clusterDim.z = cluster.z;
  config.attrs = attr;
  config.numAttrs = 1;
  // Its error is also recorded as the last error, which check_launch() reads.
  (void)cudaLaunchKernelEx(&config, kernel, std::forward<A>(args)...);
#endif
}

// Raises Kernel's dynamic shared-memory limit to `bytes` once per device (needed above 48 KB). Java
// threads call the launchers concurrently: the flag is atomic (a plain bool would be a data race) and
// set only after the attribute call succeeded (release), so a thread that sees it (acquire) launches
// after the attribute is in place. Two threads may both set the attribute; they set the same value.
// Not a stream operation: graph capture is unaffected.
template <auto Kernel>
inline cudaError_t raise_dynamic_smem_once(int device, int bytes) {
  constexpr int kMaxDevices = 64;
  static std::atomic<bool> done[kMaxDevices];
  const bool slot = device >= 0 && device < kMaxDevices;
  if (slot && done[device].load(std::memory_order_acquire)) return cudaSuccess;
  const cudaError_t e = cudaFuncSetAttribute(Kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  if (e == cudaSuccess && slot) done[device].store(true, std::memory_order_release);
  return e;
}

}  // namespace k4j
