// The CUDA device-side language for the CPU emulator: force-included (g++ -include) into every
// kernel and launcher translation unit of the emulated build, so that cuda-kernels/ and native/src/
// compile unchanged as host C++. Each CUDA thread runs as a fiber of the emulator (emulator/src);
// everything a kernel can observe about other threads (barriers, warp collectives, shared memory,
// atomics, async copies) goes through the runtime declared in k4j_emu/runtime.h.
#pragma once
#ifndef K4J_EMULATOR
#error "k4j_emu/device.h is for the emulated build (K4J_EMULATOR) only"
#endif

#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <math_constants.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "k4j_emu/runtime.h"

// Execution-space keywords: plain host functions here.
#undef __global__
#define __global__
#undef __device__
#define __device__
#undef __host__
#define __host__
#undef __launch_bounds__
#define __launch_bounds__(...)
// Kernel parameters are values copied for the launch (a CUtensorMap too): nothing to mark.
#undef __grid_constant__
#define __grid_constant__
#undef __noinline__
#define __noinline__ __attribute__((noinline))
// Static shared memory: one static per declaration. Only one block executes at a time, so that is
// exactly the block's copy; the sanitizers know it by its place (the data segment of the device
// code's module, see emulator/src/sanitizer.cpp). `used`: other threads write it between barriers,
// so the compiler must not assume that a call (a barrier) leaves it unchanged.
#undef __shared__
#define __shared__ static __attribute__((aligned(16), used))

// Built-in variables: read from the running fiber (out of line: the sanitizer must not see them).
#define threadIdx (::k4j::emu::thread_idx())
#define blockIdx (::k4j::emu::block_idx())
#define blockDim (::k4j::emu::block_dim())
#define gridDim (::k4j::emu::grid_dim())
constexpr int warpSize = 32;

// Barriers and fences.
inline void __syncthreads() { ::k4j::emu::syncthreads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { ::k4j::emu::syncwarp(mask); }
inline void __threadfence() { ::k4j::emu::fence(); }
inline void __threadfence_block() { ::k4j::emu::fence(); }
inline void __threadfence_system() { ::k4j::emu::fence(); }

// Warp collectives (CUDA C++ Programming Guide, "Warp Shuffle Functions", "Warp Vote Functions",
// "Warp Match Functions"): exchanged among exactly the lanes of the mask.
template <typename T>
inline T k4j_emu_shfl(::k4j::emu::ShflMode mode, unsigned mask, T v, int arg, int width) {
  static_assert(std::is_trivially_copyable<T>::value && sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = ::k4j::emu::shfl(mode, mask, bits, sizeof(T), arg, width);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}
template <typename T>
inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
  return k4j_emu_shfl(::k4j::emu::ShflMode::kIdx, mask, v, src, width);
}
template <typename T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  return k4j_emu_shfl(::k4j::emu::ShflMode::kUp, mask, v, (int)delta, width);
}
template <typename T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  return k4j_emu_shfl(::k4j::emu::ShflMode::kDown, mask, v, (int)delta, width);
}
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  return k4j_emu_shfl(::k4j::emu::ShflMode::kXor, mask, v, lane_mask, width);
}
inline unsigned __ballot_sync(unsigned mask, int pred) { return ::k4j::emu::vote(::k4j::emu::VoteMode::kBallot, mask, pred != 0); }
inline int __any_sync(unsigned mask, int pred) { return (int)::k4j::emu::vote(::k4j::emu::VoteMode::kAny, mask, pred != 0); }
inline int __all_sync(unsigned mask, int pred) { return (int)::k4j::emu::vote(::k4j::emu::VoteMode::kAll, mask, pred != 0); }
template <typename T>
inline unsigned __match_any_sync(unsigned mask, T v) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "__match_any_sync takes 32- or 64-bit values");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return ::k4j::emu::match_any(mask, bits);
}
inline unsigned __activemask() { return ::k4j::emu::activemask(); }

// Atomics: performed by the runtime (one block runs at a time, so they are trivially atomic); the
// sanitizer records them as atomic accesses, which never race with each other.
#define K4J_EMU_ATOMIC(name, op, T)                                                   \
  inline T name(T *p, T v) { return ::k4j::emu::atomic_rmw<T>(p, ::k4j::emu::AtomicOp::op, v); }
K4J_EMU_ATOMIC(atomicAdd, kAdd, int)
K4J_EMU_ATOMIC(atomicAdd, kAdd, unsigned)
K4J_EMU_ATOMIC(atomicAdd, kAdd, unsigned long long)
K4J_EMU_ATOMIC(atomicAdd, kAdd, float)
K4J_EMU_ATOMIC(atomicAdd, kAdd, double)
K4J_EMU_ATOMIC(atomicSub, kSub, int)
K4J_EMU_ATOMIC(atomicSub, kSub, unsigned)
K4J_EMU_ATOMIC(atomicOr, kOr, int)
K4J_EMU_ATOMIC(atomicOr, kOr, unsigned)
K4J_EMU_ATOMIC(atomicOr, kOr, unsigned long long)
K4J_EMU_ATOMIC(atomicAnd, kAnd, int)
K4J_EMU_ATOMIC(atomicAnd, kAnd, unsigned)
K4J_EMU_ATOMIC(atomicMax, kMax, int)
K4J_EMU_ATOMIC(atomicMax, kMax, unsigned)
K4J_EMU_ATOMIC(atomicMin, kMin, int)
K4J_EMU_ATOMIC(atomicMin, kMin, unsigned)
K4J_EMU_ATOMIC(atomicExch, kExch, int)
K4J_EMU_ATOMIC(atomicExch, kExch, unsigned)
K4J_EMU_ATOMIC(atomicExch, kExch, float)
#undef K4J_EMU_ATOMIC
inline int atomicCAS(int *p, int cmp, int v) { return ::k4j::emu::atomic_cas<int>(p, cmp, v); }
inline unsigned atomicCAS(unsigned *p, unsigned cmp, unsigned v) { return ::k4j::emu::atomic_cas<unsigned>(p, cmp, v); }
inline unsigned long long atomicCAS(unsigned long long *p, unsigned long long cmp, unsigned long long v) {
  return ::k4j::emu::atomic_cas<unsigned long long>(p, cmp, v);
}

// Loads through the read-only path: an ordinary (checked) load here.
template <typename T>
inline T __ldg(const T *p) { return *p; }

// Integer and bit intrinsics (CUDA Math API, "Integer Intrinsics").
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned __brev(unsigned x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0F0F0F0Fu) | ((x & 0x0F0F0F0Fu) << 4);
  x = ((x >> 8) & 0x00FF00FFu) | ((x & 0x00FF00FFu) << 8);
  return (x >> 16) | (x << 16);
}
inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s) { return ::k4j::emu::ptx::byte_perm(x, y, s); }

// Float intrinsics: the exact ones are exact here too; the approximate ones (__expf, __fdividef,
// rsqrtf...) use the host's libm, so their last bits differ from the GPU's (checks use tolerances).
inline float __uint_as_float(unsigned x) { float f; std::memcpy(&f, &x, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned x; std::memcpy(&x, &f, 4); return x; }
inline float __int_as_float(int x) { float f; std::memcpy(&f, &x, 4); return f; }
inline int __float_as_int(float f) { int x; std::memcpy(&x, &f, 4); return x; }
inline double __longlong_as_double(long long x) { double d; std::memcpy(&d, &x, 8); return d; }
inline long long __double_as_longlong(double d) { long long x; std::memcpy(&x, &d, 8); return x; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __expf(float a) { return std::exp(a); }
inline float __logf(float a) { return std::log(a); }
inline float __log2f(float a) { return std::log2(a); }
inline float __powf(float a, float b) { return std::pow(a, b); }
inline float __saturatef(float a) { return std::isnan(a) ? 0.f : (a < 0.f ? 0.f : (a > 1.f ? 1.f : a)); }
inline float rsqrtf(float a) { return 1.0f / std::sqrt(a); }

// CUDA's overloaded min/max for device code.
template <typename A, typename B>
inline auto min(A a, B b) -> typename std::common_type<A, B>::type {
  using C = typename std::common_type<A, B>::type;
  return (C)b < (C)a ? (C)b : (C)a;
}
template <typename A, typename B>
inline auto max(A a, B b) -> typename std::common_type<A, B>::type {
  using C = typename std::common_type<A, B>::type;
  return (C)a < (C)b ? (C)b : (C)a;
}
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }

// CUDA's math functions in the global namespace, as device code sees them.
using std::isfinite;
using std::isinf;
using std::isnan;

// The runtime's templated overload (cuda_runtime.h declares it for nvcc only).
template <typename T>
inline cudaError_t cudaFuncSetAttribute(T *entry, cudaFuncAttribute attr, int value) {
  return ::cudaFuncSetAttribute(reinterpret_cast<const void *>(entry), attr, value);
}

// Generic -> shared address (used only by the PTX wrappers' GPU branch; kept for completeness).
inline size_t __cvta_generic_to_shared(const void *p) { return (size_t)p; }
