// The one home of every inline-PTX instruction the kernels use. On the GPU each wrapper is the
// instruction; in the CPU emulator (K4J_EMULATOR) each is its emulated twin (emulator/src, written
// from the PTX ISA section named here).
#pragma once
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
