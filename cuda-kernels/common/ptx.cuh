// The one home of every inline-PTX instruction the kernels use. On the GPU each wrapper is the
// instruction; in the CPU emulator (K4J_EMULATOR) each is its emulated twin (emulator/src, written
// from the PTX ISA section named here).
#pragma once
#include <cuda.h>  // CUtensorMap (a type only: nothing here calls the driver)
#include <stdint.h>

namespace k4j::kernels::ptx {

// cp.async.cg.shared.global [dst], [src], 16, src_bytes (PTX ISA "Data Movement and Conversion
// Instructions: cp.async"): bytes [src_bytes, 16) of dst are zero-filled and not read; the data is
// there only after cp.async.wait_group (and visible to other threads after a barrier).
__device__ __forceinline__ void cp_async_16(void *smem, const void *gmem, int src_bytes) {
#ifdef K4J_EMULATOR
  ::k4j::emu::cp_async_16(smem, gmem, src_bytes);
#else
  const uint32_t s = (uint32_t)__cvta_generic_to_shared(smem);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(src_bytes) : "memory");
#endif
}

// cp.async.commit_group (PTX ISA "cp.async.commit_group").
__device__ __forceinline__ void cp_async_commit() {
#ifdef K4J_EMULATOR
  ::k4j::emu::cp_async_commit();
#else
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

// cp.async.wait_group N: waits until at most N of the most recent groups are pending.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#ifdef K4J_EMULATOR
  ::k4j::emu::cp_async_wait(N);
#else
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

// ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16 (PTX ISA "ldmatrix"): lanes 8i..8i+7 give the
// row addresses of matrix i; lane l receives row l/4, elements 2(l%4), 2(l%4)+1 of each matrix.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void *smem) {
#ifdef K4J_EMULATOR
  ::k4j::emu::ldmatrix(4, false, smem, r);
#else
  const uint32_t s = (uint32_t)__cvta_generic_to_shared(smem);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(s));
#endif
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void *smem) {
#ifdef K4J_EMULATOR
  ::k4j::emu::ldmatrix(4, true, smem, r);
#else
  const uint32_t s = (uint32_t)__cvta_generic_to_shared(smem);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(s));
#endif
}

// mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32, d += a * b (PTX ISA "Matrix Fragments for
// mma.m16n8k16 with floating point type").
__device__ __forceinline__ void mma_f16_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#ifdef K4J_EMULATOR
  const uint32_t b[2] = {b0, b1};
  ::k4j::emu::mma_16816(::k4j::emu::MmaKind::kF16, d, a, b);
#else
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32, d += a * b.
__device__ __forceinline__ void mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#ifdef K4J_EMULATOR
  const uint32_t b[2] = {b0, b1};
  ::k4j::emu::mma_16816(::k4j::emu::MmaKind::kBf16, d, a, b);
#else
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

// mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 (sm_89+), d += a * b (PTX ISA "Matrix
// Fragments for mma.m16n8k32"). Callers guard it with K4J_ARCH >= 890.
__device__ __forceinline__ void mma_e4m3_16832(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#ifdef K4J_EMULATOR
  ::k4j::emu::mma_16832(::k4j::emu::MmaKind::kE4m3, d, a, b);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  __trap();  // not reached: the sm_80 path never calls it
#endif
}

// --- Hopper: TMA and mbarrier ---
// PTX ISA 8.x sections cited by title ("Parallel Synchronization and Communication Instructions:
// mbarrier" = 9.7.12.15, "Data Movement and Conversion Instructions: cp.async.bulk.tensor" =
// 9.7.9.25.5.1, "bulk wait_group" = 9.7.9.25.6). sm_90 instructions: other GPU passes trap.
// The emulated twins are in emulator/src/mbarrier.cpp and emulator/src/tma.cpp.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define K4J_PTX_SM90 1
#endif

// mbarrier.init.shared::cta.b64 [bar], count: the current phase starts with `count` pending
// arrivals and tx-count 0 (count in [1, 2^20 - 1]). bar: an 8-byte aligned shared-memory word.
__device__ __forceinline__ void mbarrier_init(uint64_t *bar, uint32_t arrive_count) {
#ifdef K4J_EMULATOR
  ::k4j::emu::mbarrier_init(bar, arrive_count);
#elif defined(K4J_PTX_SM90)
  const uint32_t b = (uint32_t)__cvta_generic_to_shared(bar);
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(b), "r"(arrive_count) : "memory");
#else
  __trap();
#endif
}

// fence.mbarrier_init.release.cluster ("Membar/Fence"): makes mbarrier.init visible to the async
// proxy (TMA) and to other threads of the cluster before they use the barrier.
__device__ __forceinline__ void fence_mbarrier_init() {
#ifdef K4J_EMULATOR
  ::k4j::emu::fence_mbarrier_init();
#elif defined(K4J_PTX_SM90)
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#else
  __trap();
#endif
}

// mbarrier.arrive.shared::cta.b64 _, [bar]: one arrival (release semantics at CTA scope).
__device__ __forceinline__ void mbarrier_arrive(uint64_t *bar) {
#ifdef K4J_EMULATOR
  ::k4j::emu::mbarrier_arrive(bar);
#elif defined(K4J_PTX_SM90)
  const uint32_t b = (uint32_t)__cvta_generic_to_shared(bar);
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(b) : "memory");
#else
  __trap();
#endif
}

// mbarrier.arrive.expect_tx.shared::cta.b64 _, [bar], tx: expect-tx(tx) (tx-count += tx) then one
// arrival. The phase completes when the pending arrivals and the tx-count both reach zero.
__device__ __forceinline__ void mbarrier_arrive_expect_tx(uint64_t *bar, uint32_t tx_bytes) {
#ifdef K4J_EMULATOR
  ::k4j::emu::mbarrier_arrive_expect_tx(bar, tx_bytes);
#elif defined(K4J_PTX_SM90)
  const uint32_t b = (uint32_t)__cvta_generic_to_shared(bar);
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(b), "r"(tx_bytes) : "memory");
#else
  __trap();
#endif
}

// mbarrier.try_wait.parity.shared::cta.b64 p, [bar], parity: true once the phase with the given
// parity has completed (acquire semantics); may return false after a system-dependent time.
// Parity 0 waits for the completion of the even phases (the first phase after init is phase 0).
__device__ __forceinline__ bool mbarrier_try_wait_parity(uint64_t *bar, uint32_t phase_parity) {
#ifdef K4J_EMULATOR
  return ::k4j::emu::mbarrier_try_wait_parity(bar, phase_parity);
#elif defined(K4J_PTX_SM90)
  const uint32_t b = (uint32_t)__cvta_generic_to_shared(bar);
  uint32_t done;
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
      "selp.u32 %0, 1, 0, p;\n"
      "}\n"
      : "=r"(done)
      : "r"(b), "r"(phase_parity)
      : "memory");
  return done != 0;
#else
  __trap();
  return false;
#endif
}

// Waits until the phase with the given parity has completed: a loop on try_wait (the emulator
// suspends the thread inside try_wait, so the loop makes progress there too).
__device__ __forceinline__ void mbarrier_wait_parity(uint64_t *bar, uint32_t phase_parity) {
  while (!mbarrier_try_wait_parity(bar, phase_parity)) {
  }
}

// fence.proxy.async.shared::cta ("Membar/Fence"): orders this thread's generic-proxy accesses of
// shared memory with later async-proxy (TMA) accesses, e.g. smem written by st.shared before a
// TMA store reads it.
__device__ __forceinline__ void fence_proxy_async_shared() {
#ifdef K4J_EMULATOR
  ::k4j::emu::fence_proxy_async_shared();
#elif defined(K4J_PTX_SM90)
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#else
  __trap();
#endif
}

// cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [dst], [map,
// {c0, c1}], [bar]: the box of `map` at element coordinates (c0 innermost, c1) lands in shared
// memory at dst (128-byte aligned, 1024 for 128B swizzle), out-of-bounds elements zero-filled;
// on completion the box's bytes are signalled to bar as complete-tx. Issued by one thread.
__device__ __forceinline__ void tma_load_2d(void *smem_dst, const CUtensorMap *map, uint64_t *bar, int32_t c0,
                                            int32_t c1) {
#ifdef K4J_EMULATOR
  const int32_t c[2] = {c0, c1};
  ::k4j::emu::tma_load(smem_dst, map, bar, 2, c);
#elif defined(K4J_PTX_SM90)
  const uint32_t d = (uint32_t)__cvta_generic_to_shared(smem_dst);
  const uint32_t b = (uint32_t)__cvta_generic_to_shared(bar);
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4}], "
      "[%2];\n" ::"r"(d),
      "l"(map), "r"(b), "r"(c0), "r"(c1)
      : "memory");
#else
  __trap();
#endif
}

// The 3-D form (c0 innermost, c1, c2).
__device__ __forceinline__ void tma_load_3d(void *smem_dst, const CUtensorMap *map, uint64_t *bar, int32_t c0,
                                            int32_t c1, int32_t c2) {
#ifdef K4J_EMULATOR
  const int32_t c[3] = {c0, c1, c2};
  ::k4j::emu::tma_load(smem_dst, map, bar, 3, c);
#elif defined(K4J_PTX_SM90)
  const uint32_t d = (uint32_t)__cvta_generic_to_shared(smem_dst);
  const uint32_t b = (uint32_t)__cvta_generic_to_shared(bar);
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4, %5}], "
      "[%2];\n" ::"r"(d),
      "l"(map), "r"(b), "r"(c0), "r"(c1), "r"(c2)
      : "memory");
#else
  __trap();
#endif
}

// cp.async.bulk.tensor.2d.global.shared::cta.tile.bulk_group [map, {c0, c1}], [src]: the box in
// shared memory at src (laid out as a load of the same map would) is written to global memory;
// out-of-bounds elements are not written. Tracked by the bulk async-groups below; issue a
// fence_proxy_async_shared() after the st.shared that filled src.
__device__ __forceinline__ void tma_store_2d(const CUtensorMap *map, const void *smem_src, int32_t c0, int32_t c1) {
#ifdef K4J_EMULATOR
  const int32_t c[2] = {c0, c1};
  ::k4j::emu::tma_store(map, smem_src, 2, c);
#elif defined(K4J_PTX_SM90)
  const uint32_t s = (uint32_t)__cvta_generic_to_shared(smem_src);
  asm volatile("cp.async.bulk.tensor.2d.global.shared::cta.tile.bulk_group [%0, {%2, %3}], [%1];\n" ::"l"(map),
               "r"(s), "r"(c0), "r"(c1)
               : "memory");
#else
  __trap();
#endif
}

// cp.async.bulk.commit_group: the bulk stores issued since the last commit form one group.
__device__ __forceinline__ void tma_store_commit() {
#ifdef K4J_EMULATOR
  ::k4j::emu::tma_store_commit();
#elif defined(K4J_PTX_SM90)
  asm volatile("cp.async.bulk.commit_group;\n" ::: "memory");
#else
  __trap();
#endif
}

// cp.async.bulk.wait_group.read N: waits until at most N of the most recent bulk groups still
// read their shared-memory source (after it the source may be overwritten; the global writes may
// still be in flight: they are visible after kernel end, or after wait_group without .read).
template <int N>
__device__ __forceinline__ void tma_store_wait() {
#ifdef K4J_EMULATOR
  ::k4j::emu::tma_store_wait_read(N);
#elif defined(K4J_PTX_SM90)
  asm volatile("cp.async.bulk.wait_group.read %0;\n" ::"n"(N) : "memory");
#else
  __trap();
#endif
}

// prefetch.tensormap [map] ("Data Movement and Conversion Instructions: prefetch"): brings the
// tensor map (a __grid_constant__ kernel parameter, generic address) into the descriptor cache.
__device__ __forceinline__ void prefetch_tensormap(const CUtensorMap *map) {
#ifdef K4J_EMULATOR
  ::k4j::emu::prefetch_tensormap(map);
#elif defined(K4J_PTX_SM90)
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(map) : "memory");
#else
  __trap();
#endif
}

#undef K4J_PTX_SM90

}  // namespace k4j::kernels::ptx

// The architecture the device code is compiled for: __CUDA_ARCH__ on the GPU, the emulated
// device's (K4J_EMU_ARCH) in the emulator, 0 in host passes.
#ifndef K4J_ARCH
#if defined(K4J_EMULATOR)
#define K4J_ARCH K4J_EMU_ARCH
#elif defined(__CUDA_ARCH__)
#define K4J_ARCH __CUDA_ARCH__
#else
#define K4J_ARCH 0
#endif
#endif
