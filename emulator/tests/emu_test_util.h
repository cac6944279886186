// Helpers of the emulator's own tests: device buffers, launches through the product's launch path
// (native/src/k4j_launch.h), and the sanitizer reports a launch left behind.
#pragma once
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

// After GoogleTest and the standard headers (its __noinline__ would clash with theirs).
#include "k4j_emu/device.h"

#include "k4j_launch.h"

extern "C" const char *k4j_emu_take_reports(void);
extern "C" int k4j_emu_set_option(const char *key, const char *value);

namespace k4j::emu::test {

template <typename T>
struct DeviceBuffer {
  T *p = nullptr;
  size_t n = 0;
  explicit DeviceBuffer(size_t count) : n(count) { EXPECT_EQ(cudaMalloc((void **)&p, count * sizeof(T)), cudaSuccess); }
  ~DeviceBuffer() { cudaFree(p); }
  void upload(const std::vector<T> &h) { ASSERT_EQ(cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess); }
  std::vector<T> download() const {
    std::vector<T> h(n);
    EXPECT_EQ(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return h;
  }
};

// Waits for the device; returns the sync status and moves the sanitizer reports into *reports.
inline cudaError_t sync(std::string *reports) {
  cudaError_t e = cudaDeviceSynchronize();
  *reports = k4j_emu_take_reports();
  return e;
}

// Expects the device work so far to have failed with a report containing `needle`.
inline void expect_report(const char *needle) {
  std::string r;
  EXPECT_EQ(sync(&r), cudaErrorLaunchFailure);
  EXPECT_NE(r.find(needle), std::string::npos) << "reports: " << r;
}

// Expects the device work so far to have run clean.
inline void expect_clean() {
  std::string r;
  EXPECT_EQ(sync(&r), cudaSuccess);
  EXPECT_EQ(r, "");
}

}  // namespace k4j::emu::test
