// Negative controls: small kernels with one classic bug each, which the emulator must catch (and a
// correct twin of each, which it must pass). Compiled as emulated device code, like the kernels.
#include "emu_test_util.h"  // first: GoogleTest, then the emulated device language

#include <atomic>
#include <cmath>

#include "common/ptx.cuh"
#include "common/shared_memory.cuh"

using namespace k4j::emu::test;
namespace ptx = k4j::kernels::ptx;

namespace {

// ---- a missing cp.async.wait_group: the data has not landed when it is read
template <bool kWait>
__global__ void cp_async_kernel(const float *src, float *dst) {
  __shared__ __align__(16) float tile[4 * 32];
  ptx::cp_async_16(&tile[threadIdx.x * 4], src + threadIdx.x * 4, 16);
  ptx::cp_async_commit();
  if (kWait) ptx::cp_async_wait<0>();
  __syncthreads();
  dst[threadIdx.x] = tile[(threadIdx.x * 4 + 4) % 128];
}

TEST(NegativeControl, MissingCpAsyncWaitIsCaught) {
  DeviceBuffer<float> src(128), dst(32);
  src.upload(std::vector<float>(128, 1.5f));
  k4j::launch("cp_async_kernel<false>", cp_async_kernel<false>, 1, 32, 0, nullptr, src.p, dst.p);
  expect_report("read of uninitialized shared memory");
  k4j::launch("cp_async_kernel<true>", cp_async_kernel<true>, 1, 32, 0, nullptr, src.p, dst.p);
  expect_clean();
  for (float v : dst.download()) EXPECT_EQ(v, 1.5f);
}

// ---- a missing __syncthreads between a shared write and another thread's read
template <bool kSync>
__global__ void neighbour_kernel(const int *in, int *out) {
  __shared__ int s[64];
  s[threadIdx.x] = in[threadIdx.x];
  if (kSync) __syncthreads();
  out[threadIdx.x] = s[(threadIdx.x + 1) % 64];
}

TEST(NegativeControl, MissingSyncthreadsIsARace) {
  DeviceBuffer<int> in(64), out(64);
  std::vector<int> h(64);
  for (int i = 0; i < 64; ++i) h[i] = i * 3;
  in.upload(h);
  k4j::launch("neighbour_kernel<false>", neighbour_kernel<false>, 1, 64, 0, nullptr, in.p, out.p);
  expect_report("hazard on shared memory");  // thread order decides RAW or WAR
  k4j::launch("neighbour_kernel<true>", neighbour_kernel<true>, 1, 64, 0, nullptr, in.p, out.p);
  expect_clean();
  const std::vector<int> o = out.download();
  for (int i = 0; i < 64; ++i) EXPECT_EQ(o[i], ((i + 1) % 64) * 3);
}

// ---- a shared store one byte past the dynamic allocation
__global__ void smem_store_kernel(int extra) {
  K4J_DYNAMIC_SMEM(unsigned char, buf, 16);
  if (threadIdx.x == 0) buf[256 + extra - 1] = 1;  // the launch gives 256 bytes
}

TEST(NegativeControl, SharedStorePastTheAllocationIsCaught) {
  k4j::launch("smem_store_kernel", smem_store_kernel, 1, 32, 256, nullptr, 1);
  expect_report("outside the 256 bytes of dynamic shared memory");
  k4j::launch("smem_store_kernel", smem_store_kernel, 1, 32, 256, nullptr, 0);
  expect_clean();
}

// ---- a global read past the end of a tensor
__global__ void copy_kernel(const float *in, float *out, int n, int read_extra) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i + read_extra];
}

TEST(NegativeControl, GlobalReadPastTheTensorIsCaught) {
  DeviceBuffer<float> in(100), out(100);
  in.upload(std::vector<float>(100, 2.f));
  k4j::launch("copy_kernel", copy_kernel, 4, 32, 0, nullptr, in.p, out.p, 100, 1);
  expect_report("invalid read of 4 bytes at offset 400 of a 400-byte device allocation");
  k4j::launch("copy_kernel", copy_kernel, 4, 32, 0, nullptr, in.p, out.p, 100, 0);
  expect_clean();
}

// ---- an ldmatrix lane map off by one row (the last lane addresses the row past the tile)
template <int kOffset>
__global__ void ldmatrix_kernel(const uint16_t *in, uint32_t *out) {
  K4J_DYNAMIC_SMEM(uint16_t, tile, 16);  // 32 rows x 8 b16 = exactly 512 bytes
  for (int i = threadIdx.x; i < 32 * 8; i += 32) tile[i] = in[i];
  __syncthreads();
  uint32_t r[4];
  ptx::ldmatrix_x4(r, &tile[(threadIdx.x + kOffset) * 8]);
  for (int j = 0; j < 4; ++j) out[threadIdx.x * 4 + j] = r[j];
}

TEST(NegativeControl, LdmatrixLaneMapOffByOneIsCaught) {
  DeviceBuffer<uint16_t> in(256);
  DeviceBuffer<uint32_t> out(128);
  std::vector<uint16_t> h(256);
  for (int i = 0; i < 256; ++i) h[i] = (uint16_t)(1000 + i);
  in.upload(h);
  k4j::launch("ldmatrix_kernel<1>", ldmatrix_kernel<1>, 1, 32, 512, nullptr, in.p, out.p);
  expect_report("ldmatrix: lane 31 gives row address");
  k4j::launch("ldmatrix_kernel<0>", ldmatrix_kernel<0>, 1, 32, 512, nullptr, in.p, out.p);
  expect_clean();
  // PTX ISA ldmatrix: lane l holds row l/4, elements 2(l%4), 2(l%4)+1 of each of the 4 matrices.
  const std::vector<uint32_t> o = out.download();
  for (int l = 0; l < 32; ++l)
    for (int m = 0; m < 4; ++m) {
      const int row = m * 8 + l / 4, col = 2 * (l % 4);
      EXPECT_EQ(o[l * 4 + m], (uint32_t)h[row * 8 + col] | ((uint32_t)h[row * 8 + col + 1] << 16));
    }
}

// ---- a shuffle whose source lane is missing from the mask
__global__ void shfl_kernel(unsigned mask, int *out) {
  const int lane = threadIdx.x;
  if (mask & (1u << lane)) out[lane] = __shfl_xor_sync(mask, lane * 10, 16);
}

TEST(NegativeControl, ShuffleWithALaneMissingFromTheMaskIsCaught) {
  DeviceBuffer<int> out(32);
  k4j::launch("shfl_kernel", shfl_kernel, 1, 32, 0, nullptr, 0x7fffffffu, out.p);
  expect_report("which is not in the mask");
  k4j::launch("shfl_kernel", shfl_kernel, 1, 32, 0, nullptr, 0xffffffffu, out.p);
  expect_clean();
  const std::vector<int> o = out.download();
  for (int l = 0; l < 32; ++l) EXPECT_EQ(o[l], (l ^ 16) * 10);
}

// A lane named in the mask that never arrives (exited): reported, not a hang.
__global__ void absent_lane_kernel(int *out) {
  if (threadIdx.x == 5) return;
  out[threadIdx.x] = __shfl_down_sync(0xffffffffu, (int)threadIdx.x, 1);
}

TEST(NegativeControl, ALaneThatNeverTakesPartIsReported) {
  DeviceBuffer<int> out(32);
  k4j::launch("absent_lane_kernel", absent_lane_kernel, 1, 32, 0, nullptr, out.p);
  expect_report("lane 5");
}

// ---- FP8 MMA accumulation without the per-128-K promotion into FP32, at K = 4096
// One warp computes a 16x8 tile of A(16xK) * B(8xK)^T; A and B are given directly in fragment
// order (a[k/32][lane][4], b[k/32][lane][2]) so the test is about accumulation, not loading.
template <bool kPromote>
__global__ void fp8_dot_kernel(const uint32_t *a, const uint32_t *b, int k_steps, float *d) {
  const int lane = threadIdx.x;
  float acc[4] = {0, 0, 0, 0}, part[4] = {0, 0, 0, 0};
  for (int s = 0; s < k_steps; ++s) {
    uint32_t fa[4], fb[2];
    for (int j = 0; j < 4; ++j) fa[j] = a[(s * 32 + lane) * 4 + j];
    for (int j = 0; j < 2; ++j) fb[j] = b[(s * 32 + lane) * 2 + j];
    ptx::mma_e4m3_16832(kPromote ? part : acc, fa, fb);
    if (kPromote && (s + 1) % 4 == 0) {  // every 128 of K
      for (int j = 0; j < 4; ++j) {
        acc[j] += part[j];
        part[j] = 0;
      }
    }
  }
  for (int j = 0; j < 4; ++j) d[lane * 4 + j] = acc[j];
}

// Relative L2 error of the 16x8 result against the FP64 dot products of the same codes.
double fp8_dot_error(bool promote) {
  const int K = 4096, steps = K / 32;
  std::mt19937 rng(7);
  // Positive values in [1, 2): products do not cancel, so the sum grows and low bits matter.
  std::uniform_int_distribution<int> mant(0, 7);
  auto code = [&] { return (uint8_t)((7 << 3) | mant(rng)); };  // e4m3: exponent 7 (=2^0)
  std::vector<uint32_t> a((size_t)steps * 32 * 4), b((size_t)steps * 32 * 2);
  for (auto &w : a) w = code() | code() << 8 | code() << 16 | (uint32_t)code() << 24;
  for (auto &w : b) w = code() | code() << 8 | code() << 16 | (uint32_t)code() << 24;
  DeviceBuffer<uint32_t> da(a.size()), db(b.size());
  DeviceBuffer<float> dd(128);
  da.upload(a);
  db.upload(b);
  if (promote) k4j::launch("fp8_dot_kernel<true>", fp8_dot_kernel<true>, 1, 32, 0, nullptr, da.p, db.p, steps, dd.p);
  else k4j::launch("fp8_dot_kernel<false>", fp8_dot_kernel<false>, 1, 32, 0, nullptr, da.p, db.p, steps, dd.p);
  const std::vector<float> d = dd.download();
  // The reference, through the fragment maps of the PTX ISA (m16n8k32): element (row, k) of A.
  auto dec = [](uint8_t c) { return k4j::emu::ptx::e4m3_to_float(c); };
  auto a_at = [&](int row, int k) {
    const int s = k / 32, kk = k % 32;
    for (int lane = 0; lane < 32; ++lane)
      for (int r = 0; r < 4; ++r)
        for (int e = 0; e < 4; ++e) {
          const auto rc = k4j::emu::ptx::frag_m16n8k32_a(lane, r, e);
          if (rc.row == row && rc.col == kk) return dec((uint8_t)(a[(s * 32 + lane) * 4 + r] >> (8 * e)));
        }
    return 0.f;
  };
  auto b_at = [&](int k, int col) {
    const int s = k / 32, kk = k % 32;
    for (int lane = 0; lane < 32; ++lane)
      for (int r = 0; r < 2; ++r)
        for (int e = 0; e < 4; ++e) {
          const auto rc = k4j::emu::ptx::frag_m16n8k32_b(lane, r, e);
          if (rc.row == kk && rc.col == col) return dec((uint8_t)(b[(s * 32 + lane) * 2 + r] >> (8 * e)));
        }
    return 0.f;
  };
  double num = 0, den = 0;
  for (int lane = 0; lane < 32; ++lane)
    for (int r = 0; r < 4; ++r) {
      const auto rc = k4j::emu::ptx::frag_m16n8k32_c(lane, r);
      if (rc.row != 0 && rc.row != 9) continue;  // two rows keep the FP64 reference quick
      double ref = 0;
      for (int k = 0; k < K; ++k) ref += (double)a_at(rc.row, k) * b_at(k, rc.col);
      num += (d[lane * 4 + r] - ref) * (d[lane * 4 + r] - ref);
      den += ref * ref;
    }
  return std::sqrt(num / den);
}

TEST(NegativeControl, Fp8GemmWithoutPer128Promotion) {
  ASSERT_EQ(k4j_emu_set_option("fp8Accumulation", "hopper"), 0);
  const double unpromoted = fp8_dot_error(false), promoted = fp8_dot_error(true);
  // The check gate of the FP8 GEMM (diff < 1e-5) corresponds to a relative L2 error of ~4e-3.
  EXPECT_GT(unpromoted, 1e-3) << "a 22-bit accumulator over K = 4096 must lose precision";
  EXPECT_LT(promoted, 1e-4);
  ASSERT_EQ(k4j_emu_set_option("fp8Accumulation", "fp32"), 0);
  EXPECT_LT(fp8_dot_error(false), 1e-5) << "full FP32 accumulation (the other model) keeps it";
  ASSERT_EQ(k4j_emu_set_option("fp8Accumulation", "hopper"), 0);
}

}  // namespace
