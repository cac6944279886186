/* Host-side helpers shared by every launcher: the thread-local error message, argument checks
 * and the per-device properties the launchers choose kernels by. Not part of the public ABI. */
#pragma once

#include <cuda_runtime.h>
#include <stdarg.h>
#include <stdint.h>

#include "k4j_launch.h"
#include "kernels4j.h"

namespace k4j {

/* Records the message for k4j_last_error() and returns `code`. */
int set_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void clear_error();

/* Properties of the current device, read once per device and cached (cheap on the hot path). */
struct DeviceInfo {
  int ordinal;
  int cc_major, cc_minor;
  int sm_count;
  int max_smem_optin;
  int l2_bytes;
};
/* Fills *info for the current device; returns K4J_OK or the CUDA error (message set). */
int current_device(DeviceInfo *info);

/* Whether this library can run its Hopper (TMA + wgmma) kernels: it holds the sm_90a image (the
 * emulator runs every kernel of its architecture) and the driver hands out cuTensorMapEncodeTiled.
 * The caller still checks the device (sm_90, shared memory). Defined in k4j_core.cu (it needs the
 * build's K4J_CUDA_ARCHS). */
bool hopper_kernels_available();

/* Status of the launch just made: the launch error, or K4J_OK. Never synchronises. */
int check_launch(const char *kernel);

inline bool aligned(k4j_dptr p, unsigned bytes) { return (p % bytes) == 0; }

}  // namespace k4j

/* Argument checks: on failure record "name: message" and return K4J_ERR_INVALID_ARGUMENT. */
#define K4J_REQUIRE(cond, ...)                                            \
  do {                                                                    \
    if (!(cond)) return ::k4j::set_error(K4J_ERR_INVALID_ARGUMENT, __VA_ARGS__); \
  } while (0)

#define K4J_REQUIRE_PTR(p, name)                                          \
  K4J_REQUIRE((p) != 0, "%s: null device pointer", name)

#define K4J_REQUIRE_ALIGNED(p, bytes, name)                               \
  K4J_REQUIRE(::k4j::aligned((p), (bytes)), "%s: device pointer 0x%llx is not %u-byte aligned", \
              name, (unsigned long long)(p), (unsigned)(bytes))

/* Evaluates a CUDA call and returns its error as the status (message set) when it fails. */
#define K4J_CUDA_TRY(call)                                                \
  do {                                                                    \
    cudaError_t k4j_e_ = (call);                                          \
    if (k4j_e_ != cudaSuccess)                                            \
      return ::k4j::set_error((int)k4j_e_, "%s: %s (%s)", #call, cudaGetErrorName(k4j_e_), \
                              cudaGetErrorString(k4j_e_));                \
  } while (0)
