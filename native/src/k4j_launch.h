/* The one launch path of every kernel, shared by the GPU build (a <<<>>> launch) and the CPU
 * emulator build (the emulator's launch, which runs the same kernel function as fibers). The
 * launch error is left for check_launch() (cudaGetLastError), as a <<<>>> launch leaves it. */
#pragma once

#include <cuda_runtime.h>

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

}  // namespace k4j
