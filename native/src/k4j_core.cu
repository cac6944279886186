// Library information, the thread-local error message, host-side FP8/BF16 conversions and fill.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <stdio.h>
#include <string.h>

#include <atomic>
#include <mutex>

#include "../../cuda-kernels/common/fill.cuh"
#include "k4j_internal.h"
#include "k4j_tensor_map.h"

#ifndef K4J_CUDA_ARCHS
#define K4J_CUDA_ARCHS "unknown"
#endif

namespace {
thread_local char g_last_error[1024];
}

namespace k4j {

bool hopper_kernels_available() {
#if defined(K4J_EMULATOR)
  const bool code = true;
#else
  const bool code = strstr(K4J_CUDA_ARCHS, "sm_90a") != nullptr;
#endif
  cudaError_t err;
  cudaDriverEntryPointQueryResult query;
  return code && tensor_map_detail::encode_fn(&err, &query) != nullptr;
}

int set_error(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_last_error, sizeof g_last_error, fmt, ap);
  va_end(ap);
  return code;
}

void clear_error() { g_last_error[0] = '\0'; }

int current_device(DeviceInfo *info) {
  // Attributes are fixed for the life of the process: read them once per ordinal. Java threads call
  // this concurrently: the entry is published with release/acquire, written once under a lock (two
  // plain writes of the same entry would still be a data race).
  constexpr int kMaxDevices = 64;
  static DeviceInfo cache[kMaxDevices];
  static std::atomic<bool> valid[kMaxDevices];
  static std::mutex fill;
  int dev = 0;
  K4J_CUDA_TRY(cudaGetDevice(&dev));
  const bool slot = dev >= 0 && dev < kMaxDevices;
  if (slot && valid[dev].load(std::memory_order_acquire)) {
    *info = cache[dev];
    return K4J_OK;
  }
  DeviceInfo d{};
  d.ordinal = dev;
  K4J_CUDA_TRY(cudaDeviceGetAttribute(&d.cc_major, cudaDevAttrComputeCapabilityMajor, dev));
  K4J_CUDA_TRY(cudaDeviceGetAttribute(&d.cc_minor, cudaDevAttrComputeCapabilityMinor, dev));
  K4J_CUDA_TRY(cudaDeviceGetAttribute(&d.sm_count, cudaDevAttrMultiProcessorCount, dev));
  K4J_CUDA_TRY(cudaDeviceGetAttribute(&d.max_smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  K4J_CUDA_TRY(cudaDeviceGetAttribute(&d.l2_bytes, cudaDevAttrL2CacheSize, dev));
  if (slot) {
    std::lock_guard<std::mutex> g(fill);
    if (!valid[dev].load(std::memory_order_relaxed)) {
      cache[dev] = d;
      valid[dev].store(true, std::memory_order_release);
    }
  }
  *info = d;
  return K4J_OK;
}

int check_launch(const char *kernel) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    return set_error((int)e, "%s launch failed: %s (%s)", kernel, cudaGetErrorName(e),
                     cudaGetErrorString(e));
  return K4J_OK;
}

}  // namespace k4j

extern "C" {

K4J_API int k4j_abi_version(void) { return K4J_ABI_VERSION; }
K4J_API const char *k4j_version_string(void) { return K4J_VERSION_STRING; }
K4J_API const char *k4j_cuda_archs(void) { return K4J_CUDA_ARCHS; }
K4J_API int k4j_cuda_build_version(void) { return CUDART_VERSION; }
K4J_API const char *k4j_last_error(void) { return g_last_error; }

K4J_API int k4j_host_f32_to_e4m3(const float *in, uint8_t *out, int64_t n, int saturate) {
  K4J_REQUIRE(in != nullptr && out != nullptr, "in/out: null host pointer");
  K4J_REQUIRE(n >= 0, "n: must be >= 0, got %lld", (long long)n);
  const __nv_saturation_t sat = saturate ? __NV_SATFINITE : __NV_NOSAT;
  for (int64_t i = 0; i < n; ++i) out[i] = __nv_cvt_float_to_fp8(in[i], sat, __NV_E4M3);
  return K4J_OK;
}

K4J_API int k4j_host_e4m3_to_f32(const uint8_t *in, float *out, int64_t n) {
  K4J_REQUIRE(in != nullptr && out != nullptr, "in/out: null host pointer");
  K4J_REQUIRE(n >= 0, "n: must be >= 0, got %lld", (long long)n);
  for (int64_t i = 0; i < n; ++i) {
    __half_raw h = __nv_cvt_fp8_to_halfraw(in[i], __NV_E4M3);
    out[i] = __half2float(__half(h));
  }
  return K4J_OK;
}

K4J_API int k4j_host_f32_to_bf16(const float *in, uint16_t *out, int64_t n) {
  K4J_REQUIRE(in != nullptr && out != nullptr, "in/out: null host pointer");
  K4J_REQUIRE(n >= 0, "n: must be >= 0, got %lld", (long long)n);
  for (int64_t i = 0; i < n; ++i) {
    __nv_bfloat16 b = __float2bfloat16_rn(in[i]);
    memcpy(&out[i], &b, sizeof(uint16_t));
  }
  return K4J_OK;
}

K4J_API int k4j_fill(k4j_dptr dst, int64_t n, int elem_size, uint32_t pattern, k4j_stream stream) {
  K4J_REQUIRE(n >= 0, "n: must be >= 0, got %lld", (long long)n);
  if (n == 0) return K4J_OK;
  K4J_REQUIRE_PTR(dst, "dst");
  K4J_REQUIRE(elem_size == 1 || elem_size == 2 || elem_size == 4,
              "elemSize: must be 1, 2 or 4, got %d", elem_size);
  K4J_REQUIRE_ALIGNED(dst, (unsigned)elem_size, "dst");
  cudaStream_t s = (cudaStream_t)stream;
  const int threads = 256;
  const int64_t want = (n + threads - 1) / threads;
  // Grid-stride: 1024 blocks of 256 threads keep a GPU's memory system busy; more only adds blocks
  // (and, on the CPU emulated device, a fiber per element).
  const int blocks = (int)(want < 1024 ? want : 1024);
  using namespace k4j::kernels;
  switch (elem_size) {
    case 1: k4j::launch("fill_kernel<uint8_t>", fill_kernel<uint8_t>, blocks, threads, 0, s, (uint8_t *)dst, n, (uint8_t)pattern); break;
    case 2: k4j::launch("fill_kernel<uint16_t>", fill_kernel<uint16_t>, blocks, threads, 0, s, (uint16_t *)dst, n, (uint16_t)pattern); break;
    default: k4j::launch("fill_kernel<uint32_t>", fill_kernel<uint32_t>, blocks, threads, 0, s, (uint32_t *)dst, n, pattern); break;
  }
  return k4j::check_launch("fill");
}

}  // extern "C"
