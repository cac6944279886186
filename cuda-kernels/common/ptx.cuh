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
// K4J_PTX_SM90 guards every sm_90 instruction from here to the end of the namespace.
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
// memory at dst, out-of-bounds elements zero-filled; on completion the box's bytes (out-of-bounds
// ones included) are signalled to bar as complete-tx. Issued by one thread. dst: 128-byte aligned,
// and aligned to the swizzle pattern's repeat (1024 bytes for 128B; the emulator also requires 512
// / 256 for 64B / 32B) so the pattern starts at the box's first byte.
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

// cp.async.bulk.tensor.4d (as tma_load_3d): coordinates c0 (innermost) .. c3 of a rank-4 map.
__device__ __forceinline__ void tma_load_4d(void *smem_dst, const CUtensorMap *map, uint64_t *bar, int32_t c0,
                                            int32_t c1, int32_t c2, int32_t c3) {
#ifdef K4J_EMULATOR
  const int32_t c[4] = {c0, c1, c2, c3};
  ::k4j::emu::tma_load(smem_dst, map, bar, 4, c);
#elif defined(K4J_PTX_SM90)
  const uint32_t d = (uint32_t)__cvta_generic_to_shared(smem_dst);
  const uint32_t b = (uint32_t)__cvta_generic_to_shared(bar);
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4, %5, "
      "%6}], [%2];\n" ::"r"(d),
      "l"(map), "r"(b), "r"(c0), "r"(c1), "r"(c2), "r"(c3)
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

// --- Hopper: wgmma ---
// PTX ISA "Asynchronous Warpgroup Level Matrix Multiply-Accumulate Instructions" (wgmma, sections
// cited by title; 9.7.15 in PTX ISA 8.x): a warpgroup is 4 consecutive warps, the first
// one's index a multiple of 4; every wgmma instruction is executed by all 128 of its threads.
// wgmma and setmaxnreg need sm_90a (__CUDA_ARCH_FEAT_SM90_ALL); elect.sync needs sm_90.

// Shared-memory matrix descriptor, PTX ISA "Matrix Descriptor Format" (wgmma): bits 13..0 the
// start address >> 4 (shared window, 18 bits), 29..16 the leading-dimension byte offset >> 4 (LBO:
// between core matrices adjacent in K; unused by K-major swizzled layouts), 45..32 the stride-
// dimension byte offset >> 4 (SBO: between 8-row groups in M/N), 51..49 the base offset (0 here:
// callers align swizzled tiles to the pattern's repeat, 1024/512/256 B for 128/64/32-byte swizzle),
// 63..62 the layout: 0 interleave (no swizzle), 1 128B, 2 64B, 3 32B swizzle. K-major descriptors
// may be advanced along K inside a swizzle row by adding (bytes >> 4) to the start address.
// MN-major operands (the BF16 forms' TRANS_A/TRANS_B = 1; PTX ISA "Shared Memory Matrix Layout",
// "Leading/Stride Dimension Byte Offset" and "Canonical Layouts"): with a swizzle of S bytes, atoms of
// 8 K-rows of S bytes (S/2 BF16 elements of M/N each, the 16-byte chunks swizzled as for K-major);
// LBO = bytes between atoms adjacent in M/N, SBO = bytes between atoms adjacent in K (8 K apart).
// Without swizzle (interleave): core matrices of 8 K-rows x 16 bytes (8 elements of M/N), 128
// contiguous bytes; SBO = bytes between core matrices adjacent in M/N, LBO = between those 8 K apart.
__device__ __forceinline__ uint64_t wgmma_desc(const void *smem, int swizzle_bytes, uint32_t lbo_bytes,
                                               uint32_t sbo_bytes) {
#ifdef K4J_EMULATOR
  return ::k4j::emu::wgmma_desc(smem, swizzle_bytes, lbo_bytes, sbo_bytes);
#else
  const uint32_t addr = (uint32_t)__cvta_generic_to_shared(smem);
  const uint64_t layout = swizzle_bytes == 128 ? 1 : swizzle_bytes == 64 ? 2 : swizzle_bytes == 32 ? 3 : 0;
  return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)((lbo_bytes >> 4) & 0x3FFF) << 16) |
         ((uint64_t)((sbo_bytes >> 4) & 0x3FFF) << 32) | (layout << 62);
#endif
}

// wgmma.fence.sync.aligned (PTX ISA "wgmma.fence"): before the first wgmma.mma_async,
// and between any other access to a wgmma's accumulator registers and that wgmma.
__device__ __forceinline__ void wgmma_fence() {
#ifdef K4J_EMULATOR
  ::k4j::emu::wgmma_fence();
#elif defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#else
  __trap();
#endif
}

// wgmma.commit_group.sync.aligned (PTX ISA "wgmma.commit_group"): the warpgroup's uncommitted wgmma.mma_async
// operations become one wgmma-group.
__device__ __forceinline__ void wgmma_commit_group() {
#ifdef K4J_EMULATOR
  ::k4j::emu::wgmma_commit_group();
#elif defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#else
  __trap();
#endif
}

// wgmma.wait_group.sync.aligned N (PTX ISA "wgmma.wait_group"): waits until at most N of the most recent
// wgmma-groups are pending. Only then do the accumulator registers hold the results and may the
// operands' shared memory be overwritten. Follow it with wgmma_fence_operand on the accumulators
// read next, so that the compiler does not move those reads above the wait.
template <int N>
__device__ __forceinline__ void wgmma_wait_group() {
  static_assert(N >= 0, "wgmma.wait_group takes a non-negative immediate");
#ifdef K4J_EMULATOR
  ::k4j::emu::wgmma_wait_group(N);
#elif defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#else
  __trap();
#endif
}

// Register-level ordering for the compiler only (no instruction): the accumulators are read and
// written here, so no access to them moves across it. The wgmma asm statements name d, but the
// wait does not: put this after wgmma_wait_group (and before the first wgmma of a tile).
template <int R>
__device__ __forceinline__ void wgmma_fence_operand(float (&d)[R]) {
#ifndef K4J_EMULATOR
#pragma unroll
  for (int i = 0; i < R; ++i) asm volatile("" : "+f"(d[i])::"memory");
#else
  (void)d;
#endif
}

// wgmma.mma_async.sync.aligned.m64n{N}k32.f32.e4m3.e4m3 d, a-desc, b-desc, p, 1, 1 (PTX ISA
// "wgmma.mma_async"; layouts: "Register Fragments and Shared Memory Matrix Layouts"): A (64x32) and B (32xN) from shared memory, both K-major (FP8 has no transpose);
// scale_d = 0: D = A*B, else D = A*B + D. Thread t of the warpgroup (warp w = t/32, lane l) holds
// in d[i] the element row 16w + l/4 + 8*((i/2)%2), column 8*(i/4) + 2*(l%4) + i%2.
#ifndef K4J_EMULATOR
template <int N>
__device__ __forceinline__ void wgmma_e4m3_m64k32_asm(float (&d)[N / 2], uint64_t desc_a, uint64_t desc_b,
                                                      int scale_d);
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// One specialisation per N: the asm operand list names the N/2 accumulators one by one.
#define K4J_WGMMA_R4 "%0, %1, %2, %3"
#define K4J_WGMMA_R8 K4J_WGMMA_R4 ", %4, %5, %6, %7"
#define K4J_WGMMA_R12 K4J_WGMMA_R8 ", %8, %9, %10, %11"
#define K4J_WGMMA_R16 K4J_WGMMA_R12 ", %12, %13, %14, %15"
#define K4J_WGMMA_R20 K4J_WGMMA_R16 ", %16, %17, %18, %19"
#define K4J_WGMMA_R24 K4J_WGMMA_R20 ", %20, %21, %22, %23"
#define K4J_WGMMA_R28 K4J_WGMMA_R24 ", %24, %25, %26, %27"
#define K4J_WGMMA_R32 K4J_WGMMA_R28 ", %28, %29, %30, %31"
#define K4J_WGMMA_R36 K4J_WGMMA_R32 ", %32, %33, %34, %35"
#define K4J_WGMMA_R40 K4J_WGMMA_R36 ", %36, %37, %38, %39"
#define K4J_WGMMA_R44 K4J_WGMMA_R40 ", %40, %41, %42, %43"
#define K4J_WGMMA_R48 K4J_WGMMA_R44 ", %44, %45, %46, %47"
#define K4J_WGMMA_R52 K4J_WGMMA_R48 ", %48, %49, %50, %51"
#define K4J_WGMMA_R56 K4J_WGMMA_R52 ", %52, %53, %54, %55"
#define K4J_WGMMA_R60 K4J_WGMMA_R56 ", %56, %57, %58, %59"
#define K4J_WGMMA_R64 K4J_WGMMA_R60 ", %60, %61, %62, %63"
#define K4J_WGMMA_R68 K4J_WGMMA_R64 ", %64, %65, %66, %67"
#define K4J_WGMMA_R72 K4J_WGMMA_R68 ", %68, %69, %70, %71"
#define K4J_WGMMA_R76 K4J_WGMMA_R72 ", %72, %73, %74, %75"
#define K4J_WGMMA_R80 K4J_WGMMA_R76 ", %76, %77, %78, %79"
#define K4J_WGMMA_R84 K4J_WGMMA_R80 ", %80, %81, %82, %83"
#define K4J_WGMMA_R88 K4J_WGMMA_R84 ", %84, %85, %86, %87"
#define K4J_WGMMA_R92 K4J_WGMMA_R88 ", %88, %89, %90, %91"
#define K4J_WGMMA_R96 K4J_WGMMA_R92 ", %92, %93, %94, %95"
#define K4J_WGMMA_R100 K4J_WGMMA_R96 ", %96, %97, %98, %99"
#define K4J_WGMMA_R104 K4J_WGMMA_R100 ", %100, %101, %102, %103"
#define K4J_WGMMA_R108 K4J_WGMMA_R104 ", %104, %105, %106, %107"
#define K4J_WGMMA_R112 K4J_WGMMA_R108 ", %108, %109, %110, %111"
#define K4J_WGMMA_R116 K4J_WGMMA_R112 ", %112, %113, %114, %115"
#define K4J_WGMMA_R120 K4J_WGMMA_R116 ", %116, %117, %118, %119"
#define K4J_WGMMA_R124 K4J_WGMMA_R120 ", %120, %121, %122, %123"
#define K4J_WGMMA_R128 K4J_WGMMA_R124 ", %124, %125, %126, %127"
#define K4J_WGMMA_D4 "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
#define K4J_WGMMA_D8 K4J_WGMMA_D4, "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])
#define K4J_WGMMA_D12 K4J_WGMMA_D8, "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11])
#define K4J_WGMMA_D16 K4J_WGMMA_D12, "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
#define K4J_WGMMA_D20 K4J_WGMMA_D16, "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19])
#define K4J_WGMMA_D24 K4J_WGMMA_D20, "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23])
#define K4J_WGMMA_D28 K4J_WGMMA_D24, "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27])
#define K4J_WGMMA_D32 K4J_WGMMA_D28, "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
#define K4J_WGMMA_D36 K4J_WGMMA_D32, "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35])
#define K4J_WGMMA_D40 K4J_WGMMA_D36, "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39])
#define K4J_WGMMA_D44 K4J_WGMMA_D40, "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43])
#define K4J_WGMMA_D48 K4J_WGMMA_D44, "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47])
#define K4J_WGMMA_D52 K4J_WGMMA_D48, "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51])
#define K4J_WGMMA_D56 K4J_WGMMA_D52, "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55])
#define K4J_WGMMA_D60 K4J_WGMMA_D56, "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59])
#define K4J_WGMMA_D64 K4J_WGMMA_D60, "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
#define K4J_WGMMA_D68 K4J_WGMMA_D64, "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67])
#define K4J_WGMMA_D72 K4J_WGMMA_D68, "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71])
#define K4J_WGMMA_D76 K4J_WGMMA_D72, "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75])
#define K4J_WGMMA_D80 K4J_WGMMA_D76, "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79])
#define K4J_WGMMA_D84 K4J_WGMMA_D80, "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83])
#define K4J_WGMMA_D88 K4J_WGMMA_D84, "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87])
#define K4J_WGMMA_D92 K4J_WGMMA_D88, "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91])
#define K4J_WGMMA_D96 K4J_WGMMA_D92, "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95])
#define K4J_WGMMA_D100 K4J_WGMMA_D96, "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99])
#define K4J_WGMMA_D104 K4J_WGMMA_D100, "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103])
#define K4J_WGMMA_D108 K4J_WGMMA_D104, "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107])
#define K4J_WGMMA_D112 K4J_WGMMA_D108, "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111])
#define K4J_WGMMA_D116 K4J_WGMMA_D112, "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115])
#define K4J_WGMMA_D120 K4J_WGMMA_D116, "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119])
#define K4J_WGMMA_D124 K4J_WGMMA_D120, "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123])
#define K4J_WGMMA_D128 K4J_WGMMA_D124, "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
#define K4J_WGMMA_E4M3_ASM(N, R, IA, IB, IS)                                                                \
  template <>                                                                                             \
  __device__ __forceinline__ void wgmma_e4m3_m64k32_asm<N>(float (&d)[N / 2], uint64_t desc_a, uint64_t desc_b, \
                                                           int scale_d) {                                 \
    asm volatile(                                                                                         \
        "{\n.reg .pred p;\nsetp.ne.b32 p, %" #IS ", 0;\n"                                                 \
        "wgmma.mma_async.sync.aligned.m64n" #N "k32.f32.e4m3.e4m3 {" K4J_WGMMA_R##R "}, %" #IA ", %" #IB \
        ", p, 1, 1;\n}\n"                                                                                 \
        : K4J_WGMMA_D##R                                                                                  \
        : "l"(desc_a), "l"(desc_b), "r"(scale_d));                                                        \
  }
K4J_WGMMA_E4M3_ASM(8, 4, 4, 5, 6)
K4J_WGMMA_E4M3_ASM(16, 8, 8, 9, 10)
K4J_WGMMA_E4M3_ASM(24, 12, 12, 13, 14)
K4J_WGMMA_E4M3_ASM(32, 16, 16, 17, 18)
K4J_WGMMA_E4M3_ASM(40, 20, 20, 21, 22)
K4J_WGMMA_E4M3_ASM(48, 24, 24, 25, 26)
K4J_WGMMA_E4M3_ASM(56, 28, 28, 29, 30)
K4J_WGMMA_E4M3_ASM(64, 32, 32, 33, 34)
K4J_WGMMA_E4M3_ASM(72, 36, 36, 37, 38)
K4J_WGMMA_E4M3_ASM(80, 40, 40, 41, 42)
K4J_WGMMA_E4M3_ASM(88, 44, 44, 45, 46)
K4J_WGMMA_E4M3_ASM(96, 48, 48, 49, 50)
K4J_WGMMA_E4M3_ASM(104, 52, 52, 53, 54)
K4J_WGMMA_E4M3_ASM(112, 56, 56, 57, 58)
K4J_WGMMA_E4M3_ASM(120, 60, 60, 61, 62)
K4J_WGMMA_E4M3_ASM(128, 64, 64, 65, 66)
K4J_WGMMA_E4M3_ASM(136, 68, 68, 69, 70)
K4J_WGMMA_E4M3_ASM(144, 72, 72, 73, 74)
K4J_WGMMA_E4M3_ASM(152, 76, 76, 77, 78)
K4J_WGMMA_E4M3_ASM(160, 80, 80, 81, 82)
K4J_WGMMA_E4M3_ASM(168, 84, 84, 85, 86)
K4J_WGMMA_E4M3_ASM(176, 88, 88, 89, 90)
K4J_WGMMA_E4M3_ASM(184, 92, 92, 93, 94)
K4J_WGMMA_E4M3_ASM(192, 96, 96, 97, 98)
K4J_WGMMA_E4M3_ASM(200, 100, 100, 101, 102)
K4J_WGMMA_E4M3_ASM(208, 104, 104, 105, 106)
K4J_WGMMA_E4M3_ASM(216, 108, 108, 109, 110)
K4J_WGMMA_E4M3_ASM(224, 112, 112, 113, 114)
K4J_WGMMA_E4M3_ASM(232, 116, 116, 117, 118)
K4J_WGMMA_E4M3_ASM(240, 120, 120, 121, 122)
K4J_WGMMA_E4M3_ASM(248, 124, 124, 125, 126)
K4J_WGMMA_E4M3_ASM(256, 128, 128, 129, 130)
#undef K4J_WGMMA_E4M3_ASM
#endif  // __CUDA_ARCH_FEAT_SM90_ALL
#endif  // !K4J_EMULATOR

template <int N>
__device__ __forceinline__ void wgmma_e4m3_m64k32(float (&d)[N / 2], uint64_t desc_a, uint64_t desc_b, int scale_d) {
  static_assert(N >= 8 && N <= 256 && N % 8 == 0, "wgmma m64nNk32: N is a multiple of 8 in [8, 256]");
#ifdef K4J_EMULATOR
  ::k4j::emu::wgmma_e4m3_m64k32(N, d, desc_a, desc_b, scale_d);
#elif defined(__CUDA_ARCH_FEAT_SM90_ALL)
  wgmma_e4m3_m64k32_asm<N>(d, desc_a, desc_b, scale_d);
#else
  __trap();
#endif
}

// elect.sync _|p, 0xffffffff (PTX ISA "Parallel Synchronization and Communication
// Instructions: elect.sync", sm_90): true in exactly one lane of the
// warp (all 32 lanes must execute it).
__device__ __forceinline__ bool elect_one_sync() {
#ifdef K4J_EMULATOR
  return ::k4j::emu::elect_one_sync();
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  uint32_t pred = 0;
  asm volatile(
      "{\n.reg .pred p;\nelect.sync _|p, 0xffffffff;\nselp.u32 %0, 1, 0, p;\n}\n"
      : "=r"(pred));
  return pred != 0;
#else
  __trap();
  return false;
#endif
}

// setmaxnreg.{inc,dec}.sync.aligned.u32 R (PTX ISA "Miscellaneous Instructions:
// setmaxnreg", sm_90a): the warpgroup's
// per-thread register budget becomes R (a multiple of 8 in [24, 256], the same for the warpgroup).
template <int R>
__device__ __forceinline__ void setmaxnreg_inc() {
  static_assert(R >= 24 && R <= 256 && R % 8 == 0, "setmaxnreg: a multiple of 8 in [24, 256]");
#ifdef K4J_EMULATOR
  ::k4j::emu::setmaxnreg(true, R);
#elif defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(R));
#else
  __trap();
#endif
}
template <int R>
__device__ __forceinline__ void setmaxnreg_dec() {
  static_assert(R >= 24 && R <= 256 && R % 8 == 0, "setmaxnreg: a multiple of 8 in [24, 256]");
#ifdef K4J_EMULATOR
  ::k4j::emu::setmaxnreg(false, R);
#elif defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(R));
#else
  __trap();
#endif
}

// bar.sync id, count / bar.arrive id, count (PTX ISA "Parallel Synchronization and
// Communication Instructions: bar, barrier"): named barrier id
// (0..15; 0 is __syncthreads' own) completes when `count` threads (a multiple of 32) have arrived;
// sync waits for that, arrive does not.
__device__ __forceinline__ void named_barrier_sync(int id, int thread_count) {
#ifdef K4J_EMULATOR
  ::k4j::emu::named_barrier(true, id, thread_count);
#else
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(thread_count) : "memory");
#endif
}
__device__ __forceinline__ void named_barrier_arrive(int id, int thread_count) {
#ifdef K4J_EMULATOR
  ::k4j::emu::named_barrier(false, id, thread_count);
#else
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(thread_count) : "memory");
#endif
}


// --- Hopper: wgmma BF16 ---
// wgmma.mma_async.sync.aligned.m64n{N}k16.f32.bf16.bf16 (PTX ISA "wgmma.mma_async"; layouts:
// "Register Fragments and Shared Memory Matrix Layouts"), imm-scale-a = imm-scale-b = 1. scale_d =
// 0: D = A*B, else D = A*B + D; d: the same accumulator fragment as the e4m3 form (N/2 floats).
// _ss: A (64x16) and B (16xN) from shared-memory descriptors (wgmma_desc); TRANS_x = 0: K-major,
// 1: MN-major (imm-trans-a / imm-trans-b). _rs: A from registers: a[r] holds A elements i = 2r
// (low half) and 2r + 1 (high half) of thread t (warp w = t/32, lane l) at row 16w + l/4 +
// 8*((i/2)%2), K column 8*(i/4) + 2*(l%4) + i%2 (the accumulator map of an m64n16 tile); the
// registers must stay unchanged until the wgmma's wgmma.wait_group.
#if !defined(K4J_EMULATOR) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
// One specialisation per N: the asm operand list names the N/2 accumulators one by one (the
// K4J_WGMMA_R*/D* lists of the e4m3 form); the transposes are immediates ("n").
template <int N>
struct WgmmaBf16Asm;
#define K4J_WGMMA_BF16_ASM(N, R, IA, IB, IS, ITA, ITB, A0, A1, A2, A3, JB, JS, JT)                                 \
  template <>                                                                                                    \
  struct WgmmaBf16Asm<N> {                                                                                       \
    template <int TA, int TB>                                                                                    \
    __device__ static __forceinline__ void ss(float (&d)[N / 2], uint64_t desc_a, uint64_t desc_b, int scale_d) { \
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %" #IS ", 0;\n"                                             \
                   "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32.bf16.bf16 {" K4J_WGMMA_R##R "}, %" #IA        \
                   ", %" #IB ", p, 1, 1, %" #ITA ", %" #ITB ";\n}\n"                                              \
                   : K4J_WGMMA_D##R                                                                              \
                   : "l"(desc_a), "l"(desc_b), "r"(scale_d), "n"(TA), "n"(TB));                                  \
    }                                                                                                            \
    template <int TB>                                                                                            \
    __device__ static __forceinline__ void rs(float (&d)[N / 2], const uint32_t (&a)[4], uint64_t desc_b,        \
                                              int scale_d) {                                                     \
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %" #JS ", 0;\n"                                             \
                   "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32.bf16.bf16 {" K4J_WGMMA_R##R "}, {%" #A0      \
                   ", %" #A1 ", %" #A2 ", %" #A3 "}, %" #JB ", p, 1, 1, %" #JT ";\n}\n"                          \
                   : K4J_WGMMA_D##R                                                                              \
                   : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(scale_d), "n"(TB));            \
    }                                                                                                            \
  };
K4J_WGMMA_BF16_ASM(8, 4, 4, 5, 6, 7, 8, 4, 5, 6, 7, 8, 9, 10)
K4J_WGMMA_BF16_ASM(16, 8, 8, 9, 10, 11, 12, 8, 9, 10, 11, 12, 13, 14)
K4J_WGMMA_BF16_ASM(24, 12, 12, 13, 14, 15, 16, 12, 13, 14, 15, 16, 17, 18)
K4J_WGMMA_BF16_ASM(32, 16, 16, 17, 18, 19, 20, 16, 17, 18, 19, 20, 21, 22)
K4J_WGMMA_BF16_ASM(40, 20, 20, 21, 22, 23, 24, 20, 21, 22, 23, 24, 25, 26)
K4J_WGMMA_BF16_ASM(48, 24, 24, 25, 26, 27, 28, 24, 25, 26, 27, 28, 29, 30)
K4J_WGMMA_BF16_ASM(56, 28, 28, 29, 30, 31, 32, 28, 29, 30, 31, 32, 33, 34)
K4J_WGMMA_BF16_ASM(64, 32, 32, 33, 34, 35, 36, 32, 33, 34, 35, 36, 37, 38)
K4J_WGMMA_BF16_ASM(72, 36, 36, 37, 38, 39, 40, 36, 37, 38, 39, 40, 41, 42)
K4J_WGMMA_BF16_ASM(80, 40, 40, 41, 42, 43, 44, 40, 41, 42, 43, 44, 45, 46)
K4J_WGMMA_BF16_ASM(88, 44, 44, 45, 46, 47, 48, 44, 45, 46, 47, 48, 49, 50)
K4J_WGMMA_BF16_ASM(96, 48, 48, 49, 50, 51, 52, 48, 49, 50, 51, 52, 53, 54)
K4J_WGMMA_BF16_ASM(104, 52, 52, 53, 54, 55, 56, 52, 53, 54, 55, 56, 57, 58)
K4J_WGMMA_BF16_ASM(112, 56, 56, 57, 58, 59, 60, 56, 57, 58, 59, 60, 61, 62)
K4J_WGMMA_BF16_ASM(120, 60, 60, 61, 62, 63, 64, 60, 61, 62, 63, 64, 65, 66)
K4J_WGMMA_BF16_ASM(128, 64, 64, 65, 66, 67, 68, 64, 65, 66, 67, 68, 69, 70)
K4J_WGMMA_BF16_ASM(136, 68, 68, 69, 70, 71, 72, 68, 69, 70, 71, 72, 73, 74)
K4J_WGMMA_BF16_ASM(144, 72, 72, 73, 74, 75, 76, 72, 73, 74, 75, 76, 77, 78)
K4J_WGMMA_BF16_ASM(152, 76, 76, 77, 78, 79, 80, 76, 77, 78, 79, 80, 81, 82)
K4J_WGMMA_BF16_ASM(160, 80, 80, 81, 82, 83, 84, 80, 81, 82, 83, 84, 85, 86)
K4J_WGMMA_BF16_ASM(168, 84, 84, 85, 86, 87, 88, 84, 85, 86, 87, 88, 89, 90)
K4J_WGMMA_BF16_ASM(176, 88, 88, 89, 90, 91, 92, 88, 89, 90, 91, 92, 93, 94)
K4J_WGMMA_BF16_ASM(184, 92, 92, 93, 94, 95, 96, 92, 93, 94, 95, 96, 97, 98)
K4J_WGMMA_BF16_ASM(192, 96, 96, 97, 98, 99, 100, 96, 97, 98, 99, 100, 101, 102)
K4J_WGMMA_BF16_ASM(200, 100, 100, 101, 102, 103, 104, 100, 101, 102, 103, 104, 105, 106)
K4J_WGMMA_BF16_ASM(208, 104, 104, 105, 106, 107, 108, 104, 105, 106, 107, 108, 109, 110)
K4J_WGMMA_BF16_ASM(216, 108, 108, 109, 110, 111, 112, 108, 109, 110, 111, 112, 113, 114)
K4J_WGMMA_BF16_ASM(224, 112, 112, 113, 114, 115, 116, 112, 113, 114, 115, 116, 117, 118)
K4J_WGMMA_BF16_ASM(232, 116, 116, 117, 118, 119, 120, 116, 117, 118, 119, 120, 121, 122)
K4J_WGMMA_BF16_ASM(240, 120, 120, 121, 122, 123, 124, 120, 121, 122, 123, 124, 125, 126)
K4J_WGMMA_BF16_ASM(248, 124, 124, 125, 126, 127, 128, 124, 125, 126, 127, 128, 129, 130)
K4J_WGMMA_BF16_ASM(256, 128, 128, 129, 130, 131, 132, 128, 129, 130, 131, 132, 133, 134)
#undef K4J_WGMMA_BF16_ASM
#endif  // !K4J_EMULATOR && __CUDA_ARCH_FEAT_SM90_ALL

template <int N, int TRANS_A, int TRANS_B>
__device__ __forceinline__ void wgmma_bf16_m64k16_ss(float (&d)[N / 2], uint64_t desc_a, uint64_t desc_b,
                                                     int scale_d) {
  static_assert(N >= 8 && N <= 256 && N % 8 == 0, "wgmma m64nNk16: N is a multiple of 8 in [8, 256]");
  static_assert((TRANS_A == 0 || TRANS_A == 1) && (TRANS_B == 0 || TRANS_B == 1), "imm-trans-a/b are 0 or 1");
#ifdef K4J_EMULATOR
  ::k4j::emu::wgmma_bf16_m64k16(N, d, desc_a, nullptr, desc_b, TRANS_A, TRANS_B, scale_d);
#elif defined(__CUDA_ARCH_FEAT_SM90_ALL)
  WgmmaBf16Asm<N>::template ss<TRANS_A, TRANS_B>(d, desc_a, desc_b, scale_d);
#else
  __trap();
#endif
}

template <int N, int TRANS_B>
__device__ __forceinline__ void wgmma_bf16_m64k16_rs(float (&d)[N / 2], const uint32_t (&a)[4], uint64_t desc_b,
                                                     int scale_d) {
  static_assert(N >= 8 && N <= 256 && N % 8 == 0, "wgmma m64nNk16: N is a multiple of 8 in [8, 256]");
  static_assert(TRANS_B == 0 || TRANS_B == 1, "imm-trans-b is 0 or 1");
#ifdef K4J_EMULATOR
  ::k4j::emu::wgmma_bf16_m64k16(N, d, 0, a, desc_b, 0, TRANS_B, scale_d);
#elif defined(__CUDA_ARCH_FEAT_SM90_ALL)
  WgmmaBf16Asm<N>::template rs<TRANS_B>(d, a, desc_b, scale_d);
#else
  __trap();
#endif
}

// --- Hopper: clusters ---
// Thread-block clusters (PTX ISA 8.x: "Cluster of Cooperative Thread Arrays", "Special Registers"
// %cluster_ctarank / %cluster_nctarank / %clusterid, "barrier.cluster", "mapa", "mbarrier.arrive"
// with .shared::cluster, "cp.async.bulk.tensor" with .multicast::cluster; CUDA programming guide,
// "Thread Block Clusters", "Distributed Shared Memory"). Launched through k4j::launch_cluster
// (native/src/k4j_launch.h). sm_90 instructions (the multicast needs sm_90a); other GPU passes trap.
// The emulated twins are in emulator/src/cluster.cpp (and the multicast in emulator/src/tma.cpp).

// %cluster_ctarank: the CTA's linear rank within its cluster, in [0, %cluster_nctarank).
__device__ __forceinline__ uint32_t cluster_ctarank() {
#ifdef K4J_EMULATOR
  return ::k4j::emu::cluster_ctarank();
#elif defined(K4J_PTX_SM90)
  uint32_t r;
  asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(r));
  return r;
#else
  __trap();
  return 0;
#endif
}

// %cluster_nctarank: the number of CTAs in the cluster (1 for a launch without clusters).
__device__ __forceinline__ uint32_t cluster_nctarank() {
#ifdef K4J_EMULATOR
  return ::k4j::emu::cluster_nctarank();
#elif defined(K4J_PTX_SM90)
  uint32_t r;
  asm volatile("mov.u32 %0, %%cluster_nctarank;\n" : "=r"(r));
  return r;
#else
  __trap();
  return 0;
#endif
}

// %clusterid.x: the cluster's index along x in the grid of clusters.
__device__ __forceinline__ uint32_t cluster_id_x() {
#ifdef K4J_EMULATOR
  return ::k4j::emu::cluster_id().x;
#elif defined(K4J_PTX_SM90)
  uint32_t r;
  asm volatile("mov.u32 %0, %%clusterid.x;\n" : "=r"(r));
  return r;
#else
  __trap();
  return 0;
#endif
}

// barrier.cluster.arrive.release: this thread's arrival; its earlier memory accesses are released
// to the threads whose barrier.cluster.wait.acquire observes the phase. Each thread arrives once
// and then waits once per phase; the wait returns when every non-exited thread of the cluster has
// arrived. Not .aligned: callers may be divergent.
__device__ __forceinline__ void cluster_arrive() {
#ifdef K4J_EMULATOR
  ::k4j::emu::cluster_arrive();
#elif defined(K4J_PTX_SM90)
  asm volatile("barrier.cluster.arrive.release;\n" ::: "memory");
#else
  __trap();
#endif
}
__device__ __forceinline__ void cluster_wait() {
#ifdef K4J_EMULATOR
  ::k4j::emu::cluster_wait();
#elif defined(K4J_PTX_SM90)
  asm volatile("barrier.cluster.wait.acquire;\n" ::: "memory");
#else
  __trap();
#endif
}
// Both: a full barrier over every thread of the cluster.
__device__ __forceinline__ void cluster_sync() {
  cluster_arrive();
  cluster_wait();
}

// mapa.u64 d, a, rank: the generic address of the location in CTA `rank` of the cluster that
// corresponds to the shared-memory location `p` of this CTA (distributed shared memory; ordinary
// loads and stores reach it).
template <typename T>
__device__ __forceinline__ T *mapa_shared(T *p, uint32_t rank) {
#ifdef K4J_EMULATOR
  return static_cast<T *>(::k4j::emu::mapa(p, rank));
#elif defined(K4J_PTX_SM90)
  uint64_t d;
  asm volatile("mapa.u64 %0, %1, %2;\n" : "=l"(d) : "l"(p), "r"(rank));
  return reinterpret_cast<T *>(d);
#else
  __trap();
  return p;
#endif
}

// mbarrier.arrive.release.cluster.shared::cluster.b64 _, [mapa(bar, rank)]: one arrival on the
// mbarrier at bar's offset in CTA `rank` (a remote barrier returns no state).
__device__ __forceinline__ void mbarrier_arrive_cluster(uint64_t *bar, uint32_t rank) {
#ifdef K4J_EMULATOR
  ::k4j::emu::mbarrier_arrive_cluster(bar, rank);
#elif defined(K4J_PTX_SM90)
  const uint32_t b = (uint32_t)__cvta_generic_to_shared(bar);
  asm volatile(
      "{\n.reg .b32 remote;\nmapa.shared::cluster.u32 remote, %0, %1;\n"
      "mbarrier.arrive.release.cluster.shared::cluster.b64 _, [remote];\n}\n" ::"r"(b),
      "r"(rank)
      : "memory");
#else
  __trap();
#endif
}

// cp.async.bulk.tensor.{2,3}d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.multicast::cluster
// [dst], [map, coords], [bar], mask: like tma_load_2d/3d, but the box lands at dst's CTA-relative
// offset in every CTA whose rank bit is set in the 16-bit mask, and each such CTA's mbarrier at bar's
// offset receives the complete-tx of the box's bytes (each destination must expect them). sm_90a.
__device__ __forceinline__ void tma_load_2d_multicast(void *smem_dst, const CUtensorMap *map, uint64_t *bar,
                                                      uint16_t mask, int32_t c0, int32_t c1) {
#ifdef K4J_EMULATOR
  const int32_t c[2] = {c0, c1};
  ::k4j::emu::tma_load_multicast(smem_dst, map, bar, mask, 2, c);
#elif defined(__CUDA_ARCH_FEAT_SM90_ALL)
  const uint32_t d = (uint32_t)__cvta_generic_to_shared(smem_dst);
  const uint32_t b = (uint32_t)__cvta_generic_to_shared(bar);
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.multicast::cluster [%0], "
      "[%1, {%4, %5}], [%2], %3;\n" ::"r"(d),
      "l"(map), "r"(b), "h"(mask), "r"(c0), "r"(c1)
      : "memory");
#else
  __trap();
#endif
}
__device__ __forceinline__ void tma_load_3d_multicast(void *smem_dst, const CUtensorMap *map, uint64_t *bar,
                                                      uint16_t mask, int32_t c0, int32_t c1, int32_t c2) {
#ifdef K4J_EMULATOR
  const int32_t c[3] = {c0, c1, c2};
  ::k4j::emu::tma_load_multicast(smem_dst, map, bar, mask, 3, c);
#elif defined(__CUDA_ARCH_FEAT_SM90_ALL)
  const uint32_t d = (uint32_t)__cvta_generic_to_shared(smem_dst);
  const uint32_t b = (uint32_t)__cvta_generic_to_shared(bar);
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.multicast::cluster [%0], "
      "[%1, {%4, %5, %6}], [%2], %3;\n" ::"r"(d),
      "l"(map), "r"(b), "h"(mask), "r"(c0), "r"(c1), "r"(c2)
      : "memory");
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
