// The Hopper warpgroup instructions on the emulated sm_90: wgmma through the ptx.cuh wrappers
// (tiles placed in shared memory as TMA would, every swizzle mode, several N, K chained over k32
// steps) against a scalar reference; the async rule (accumulators change only at wgmma.wait_group);
// elect.sync, setmaxnreg and named barriers; and the negative controls: an accumulator read before
// wgmma.wait_group, a warpgroup with a missing warp, a stage overwritten before the wait, a missing
// wgmma.fence, mismatched named-barrier counts.
#include "emu_test_util.h"  // first: GoogleTest, then the emulated device language

#include <cmath>
#include <cstring>

#include "common/ptx.cuh"
#include "common/shared_memory.cuh"

using namespace k4j::emu::test;
namespace ptx = k4j::kernels::ptx;

namespace {

// ---- operand placement, written from the PTX ISA's "Shared Memory Matrix Layout" (independently
// of the emulator's address maps): swizzled K-major tiles are rows of T bytes in 8-row atoms, the
// 16-byte chunk index within each T-byte row XORed with the 128-byte line index within the 8*T-byte
// pattern; interleaved (no swizzle) tiles are 8x16-byte core matrices (K halves 128 bytes apart,
// 8-row groups 256 bytes apart) per k32 step.
__device__ __host__ inline int place(int t, int rows, int r, int k) {
  if (t == 0) return (k / 32) * rows * 32 + (r / 8) * 256 + ((k % 32) / 16) * 128 + (r % 8) * 16 + k % 16;
  const int x = r * t + k;
  const int line = (x % (8 * t)) / 128, chunk = (x % t) / 16;
  return x - chunk * 16 + (chunk ^ (line % (t / 16))) * 16;
}
__device__ inline uint64_t desc_at(int t, uint8_t *tile, int rows, int ks) {
  if (t == 0) return ptx::wgmma_desc(tile + ks * rows * 32, 0, 128, 256);
  return ptx::wgmma_desc(tile + 32 * ks, t, 0, 8 * t);  // advance along K inside the swizzled row
}
int k_extent(int t) { return t == 0 ? 64 : t; }  // two k32 steps without swizzle, T/32 with
int b_offset(int k) { return 64 * k; }           // B after A: a multiple of 1024 for K >= 16

// Thread t, register i of the m64nN accumulator (PTX ISA "Register Fragments and Shared Memory
// Matrix Layouts", wgmma D): row 16*(t/32) + (t%32)/4 + 8*((i/2)%2), column 8*(i/4) + 2*(t%4) + i%2.
int frag_row(int t, int i) { return 16 * (t / 32) + (t % 32) / 4 + 8 * ((i / 2) % 2); }
int frag_col(int t, int i) { return 8 * (i / 4) + 2 * (t % 4) + i % 2; }

// Small kernels: A of ones (e4m3 0x38), 64 rows of the 128-byte swizzle (8192 bytes)
// at 0, B (8 rows) at 8192; every product of a k32 step is 1, so D = 32 (+ C).
constexpr int kSmallSmem = 9216;
__device__ inline void fill_ones(uint8_t *smem) {
  for (int i = threadIdx.x; i < kSmallSmem; i += blockDim.x) smem[i] = 0x38;
  __syncthreads();
}
__device__ inline uint64_t small_a(uint8_t *smem) { return ptx::wgmma_desc(smem, 128, 0, 1024); }
__device__ inline uint64_t small_b(uint8_t *smem) { return ptx::wgmma_desc(smem + 8192, 128, 0, 1024); }

// One warpgroup computes D (64 x N) = A (64 x K) * B^T (B is N x K, K-major), K in k32 steps.
// kEarlyRead: the bug of reading the accumulators before wgmma.wait_group.
template <int N, int T, bool kEarlyRead = false>
__global__ void wgmma_tile_kernel(const uint8_t *A, const uint8_t *B, float *out) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  const int K = T == 0 ? 64 : T;
  for (int i = threadIdx.x; i < 64 * K; i += blockDim.x) smem[place(T, 64, i / K, i % K)] = A[i];
  for (int i = threadIdx.x; i < N * K; i += blockDim.x) smem[64 * K + place(T, N, i / K, i % K)] = B[i];
  __syncthreads();
  float d[N / 2];
  for (int i = 0; i < N / 2; ++i) d[i] = -1.f;
  ptx::wgmma_fence_operand(d);
  ptx::wgmma_fence();
  for (int ks = 0; ks < K / 32; ++ks)
    ptx::wgmma_e4m3_m64k32<N>(d, desc_at(T, smem, 64, ks), desc_at(T, smem + 64 * K, N, ks), ks > 0);
  ptx::wgmma_commit_group();
  if (!kEarlyRead) ptx::wgmma_wait_group<0>();
  ptx::wgmma_fence_operand(d);
  for (int i = 0; i < N / 2; ++i) out[threadIdx.x * (N / 2) + i] = d[i];
  if (kEarlyRead) ptx::wgmma_wait_group<0>();
}

// Operands whose every product and sum is exact under both FP8 accumulation models (small
// multiples of 1/2: the result is the same float for any summation order and truncation).
struct Problem {
  int n, k;
  std::vector<uint8_t> a, b;
  std::vector<float> want;  // [thread][reg]
  Problem(int n_, int k_, uint32_t seed) : n(n_), k(k_), a(64 * k_), b(n_ * k_), want(128 * (n_ / 2)) {
    static const float vals[] = {-2.f, -1.5f, -1.f, -0.5f, 0.f, 0.5f, 1.f, 1.5f, 2.f};
    static const uint8_t codes[] = {0xC0, 0xBC, 0xB8, 0xB0, 0x00, 0x30, 0x38, 0x3C, 0x40};  // e4m3
    std::mt19937 rng(seed);
    std::vector<float> af(a.size()), bf(b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      const int j = rng() % 9;
      a[i] = codes[j];
      af[i] = vals[j];
    }
    for (size_t i = 0; i < b.size(); ++i) {
      const int j = rng() % 9;
      b[i] = codes[j];
      bf[i] = vals[j];
    }
    for (int t = 0; t < 128; ++t)
      for (int i = 0; i < n / 2; ++i) {
        double s = 0;
        for (int kk = 0; kk < k; ++kk) s += (double)af[frag_row(t, i) * k + kk] * bf[frag_col(t, i) * k + kk];
        want[t * (n / 2) + i] = (float)s;
      }
  }
};

template <int N, int T>
void run_tile(uint32_t seed) {
  const int k = k_extent(T);
  Problem p(N, k, seed);
  DeviceBuffer<uint8_t> a(p.a.size()), b(p.b.size());
  DeviceBuffer<float> out(p.want.size());
  a.upload(p.a);
  b.upload(p.b);
  k4j::launch("wgmma_tile_kernel", wgmma_tile_kernel<N, T>, 1, 128, b_offset(k) + N * k, nullptr, a.p, b.p, out.p);
  expect_clean();
  const std::vector<float> got = out.download();
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) bad += got[i] != p.want[i];
  EXPECT_EQ(bad, 0) << "N=" << N << " swizzle=" << T;
}

TEST(HopperWgmma, TilesMatchAScalarReferenceForEverySwizzleModeAndSeveralN) {
  run_tile<64, 128>(1);
  run_tile<96, 128>(2);
  run_tile<112, 128>(3);
  run_tile<128, 128>(4);
  run_tile<256, 128>(5);
  run_tile<8, 64>(6);
  run_tile<144, 64>(7);
  run_tile<16, 32>(8);
  run_tile<160, 32>(9);
  run_tile<24, 0>(10);
  run_tile<192, 0>(11);
}

// ---- the async rule, and its negative control: the accumulators before wgmma.wait_group hold
// what they held before the wgmma (here -1), so the early reader's result fails the check.
TEST(HopperWgmma, AccumulatorsChangeOnlyAtWaitGroup) {
  Problem p(64, 128, 21);
  DeviceBuffer<uint8_t> a(p.a.size()), b(p.b.size());
  DeviceBuffer<float> out(p.want.size());
  a.upload(p.a);
  b.upload(p.b);
  k4j::launch("wgmma_tile_kernel<early read>", wgmma_tile_kernel<64, 128, true>, 1, 128, b_offset(128) + 64 * 128,
              nullptr, a.p, b.p, out.p);
  expect_clean();  // reading registers early is no sanitizer matter: the values are simply stale
  std::vector<float> got = out.download();
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], -1.f);
    bad += got[i] != p.want[i];
  }
  EXPECT_GT(bad, (int)got.size() / 2);  // the check this kernel would face fails
  k4j::launch("wgmma_tile_kernel", wgmma_tile_kernel<64, 128, false>, 1, 128, b_offset(128) + 64 * 128, nullptr, a.p,
              b.p, out.p);
  expect_clean();
  got = out.download();
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], p.want[i]);
}

// wait_group N leaves the N most recent groups pending: two groups on two accumulators.
__global__ void wait_group_kernel(float *out) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  fill_ones(smem);
  float d1[4], d2[4];
  for (int i = 0; i < 4; ++i) d1[i] = d2[i] = 5.f;
  ptx::wgmma_fence();
  const uint64_t da = small_a(smem), db = small_b(smem);
  ptx::wgmma_e4m3_m64k32<8>(d1, da, db, 1);  // 5 + 32
  ptx::wgmma_commit_group();
  ptx::wgmma_e4m3_m64k32<8>(d2, da, db, 0);  // 32
  ptx::wgmma_e4m3_m64k32<8>(d2, da, db, 1);  // 64: chained on the pending result
  ptx::wgmma_commit_group();
  ptx::wgmma_wait_group<1>();
  out[threadIdx.x * 4 + 0] = d1[0];
  out[threadIdx.x * 4 + 1] = d2[0];
  ptx::wgmma_wait_group<0>();
  out[threadIdx.x * 4 + 2] = d1[1];
  out[threadIdx.x * 4 + 3] = d2[3];
}

TEST(HopperWgmma, WaitGroupRetiresOnlyTheOlderGroups) {
  DeviceBuffer<float> out(128 * 4);
  k4j::launch("wait_group_kernel", wait_group_kernel, 1, 128, kSmallSmem, nullptr, out.p);
  expect_clean();
  const std::vector<float> o = out.download();
  for (int t = 0; t < 128; ++t) {
    EXPECT_EQ(o[t * 4 + 0], 37.f);
    EXPECT_EQ(o[t * 4 + 1], 5.f);  // the second group is still pending
    EXPECT_EQ(o[t * 4 + 2], 37.f);
    EXPECT_EQ(o[t * 4 + 3], 64.f);
  }
}

// ---- negative controls
// A warpgroup with a missing warp: warp 3 leaves before the wgmma (or the block has 3 warps).
__global__ void missing_warp_kernel(int leave) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  fill_ones(smem);
  if (leave && threadIdx.x / 32 == 3) return;
  float d[4] = {0.f, 0.f, 0.f, 0.f};
  ptx::wgmma_fence();
  ptx::wgmma_e4m3_m64k32<8>(d, small_a(smem), small_b(smem), 0);
  ptx::wgmma_commit_group();
  ptx::wgmma_wait_group<0>();
}

TEST(HopperWgmmaNegative, AWarpgroupWithAMissingWarpIsReported) {
  k4j::launch("missing_warp_kernel", missing_warp_kernel, 1, 128, kSmallSmem, nullptr, 1);
  expect_report("warp 3");
  k4j::launch("missing_warp_kernel", missing_warp_kernel, 1, 96, kSmallSmem, nullptr, 0);
  expect_report("is incomplete");
  k4j::launch("missing_warp_kernel", missing_warp_kernel, 1, 128, kSmallSmem, nullptr, 0);
  expect_clean();
}

// A stage overwritten between the wgmma and its wgmma.wait_group (the producer's bug of refilling
// a buffer still being read): thread 0 (whose reads racecheck records for the warpgroup) rewrites A.
template <bool kOverwriteEarly>
__global__ void overwrite_kernel(float *out) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  fill_ones(smem);
  float d[4];
  ptx::wgmma_fence();
  ptx::wgmma_e4m3_m64k32<8>(d, small_a(smem), small_b(smem), 0);
  ptx::wgmma_commit_group();
  if (kOverwriteEarly && threadIdx.x == 0) smem[5] = 0x40;
  ptx::wgmma_wait_group<0>();
  if (!kOverwriteEarly && threadIdx.x == 0) smem[5] = 0x40;
  out[threadIdx.x] = d[0];
}

TEST(HopperWgmmaNegative, AnOperandOverwrittenBeforeTheWaitIsARace) {
  DeviceBuffer<float> out(128);
  k4j::launch("overwrite_kernel<early>", overwrite_kernel<true>, 1, 128, kSmallSmem, nullptr, out.p);
  expect_report("overwrites an operand of a wgmma.mma_async of warpgroup 0 that it has not waited for");
  k4j::launch("overwrite_kernel<after wait>", overwrite_kernel<false>, 1, 128, kSmallSmem, nullptr, out.p);
  expect_clean();
  for (float v : out.download()) EXPECT_EQ(v, 32.f);
}

// wgmma.fence missing before the first wgmma, or after the accumulators were rewritten.
template <int kCase>
__global__ void fence_kernel(float *out) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  fill_ones(smem);
  float d[4] = {0.f, 0.f, 0.f, 0.f};
  const uint64_t da = small_a(smem), db = small_b(smem);
  if (kCase != 0) ptx::wgmma_fence();
  ptx::wgmma_e4m3_m64k32<8>(d, da, db, 0);
  ptx::wgmma_commit_group();
  ptx::wgmma_wait_group<0>();
  ptx::wgmma_fence_operand(d);
  d[0] *= 2.f;  // promotion-like register work
  if (kCase == 2) ptx::wgmma_fence();
  ptx::wgmma_e4m3_m64k32<8>(d, da, db, 1);
  ptx::wgmma_commit_group();
  ptx::wgmma_wait_group<0>();
  out[threadIdx.x] = d[0];
}

TEST(HopperWgmmaNegative, AMissingWgmmaFenceIsReported) {
  DeviceBuffer<float> out(128);
  k4j::launch("fence_kernel<no fence>", fence_kernel<0>, 1, 128, kSmallSmem, nullptr, out.p);
  expect_report("before its first wgmma.mma_async");
  k4j::launch("fence_kernel<no fence after register writes>", fence_kernel<1>, 1, 128, kSmallSmem, nullptr, out.p);
  expect_report("after its accumulator registers were written");
  k4j::launch("fence_kernel<fenced>", fence_kernel<2>, 1, 128, kSmallSmem, nullptr, out.p);
  expect_clean();
  for (float v : out.download()) EXPECT_EQ(v, 96.f);
}

// Descriptors the emulator refuses loudly: outside dynamic shared memory, a swizzled tile not
// aligned to its pattern, a K step leaving the swizzled row.
template <int kCase>
__global__ void bad_desc_kernel() {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  __shared__ uint8_t static_tile[64];
  fill_ones(smem);
  float d[4];
  uint64_t da = small_a(smem);
  if (kCase == 0) da = ptx::wgmma_desc(static_tile, 0, 128, 256);
  if (kCase == 1) da = ptx::wgmma_desc(smem + 256, 128, 0, 1024);
  if (kCase == 2) da = ptx::wgmma_desc(smem + 112, 128, 0, 1024);
  ptx::wgmma_fence();
  ptx::wgmma_e4m3_m64k32<8>(d, da, small_b(smem), 0);
  ptx::wgmma_commit_group();
  ptx::wgmma_wait_group<0>();
}

TEST(HopperWgmmaNegative, BadDescriptorsAreReported) {
  k4j::launch("bad_desc_kernel<static>", bad_desc_kernel<0>, 1, 128, kSmallSmem, nullptr);
  expect_report("not in the launch's dynamic shared memory");
  k4j::launch("bad_desc_kernel<misaligned>", bad_desc_kernel<1>, 1, 128, kSmallSmem, nullptr);
  expect_report("bytes into a 1024-byte swizzle pattern");
  k4j::launch("bad_desc_kernel<row overrun>", bad_desc_kernel<2>, 1, 128, kSmallSmem, nullptr);
  expect_report("would leave the row");
  k4j::launch("bad_desc_kernel<ok>", bad_desc_kernel<3>, 1, 128, kSmallSmem, nullptr);
  expect_clean();
}

// ---- elect.sync
template <bool kDivergent>
__global__ void elect_kernel(int *count, int *lane_of) {
  const int lane = threadIdx.x % 32;
  if (kDivergent && lane < 5) return;
  if (ptx::elect_one_sync()) {
    atomicAdd(count, 1);
    lane_of[threadIdx.x / 32] = lane;
  }
}

TEST(HopperElect, OneLaneOfEachWarpTheLowest) {
  DeviceBuffer<int> count(1), lane_of(3);
  count.upload({0});
  lane_of.upload({-1, -1, -1});
  k4j::launch("elect_kernel", elect_kernel<false>, 1, 96, 0, nullptr, count.p, lane_of.p);
  expect_clean();
  EXPECT_EQ(count.download()[0], 3);
  for (int l : lane_of.download()) EXPECT_EQ(l, 0);
  k4j::launch("elect_kernel<divergent>", elect_kernel<true>, 1, 32, 0, nullptr, count.p, lane_of.p);
  expect_report("elect.sync");
}

// ---- setmaxnreg
template <int kCase>
__global__ void setmaxnreg_kernel(int *out) {
  if (threadIdx.x / 128 == 0) ptx::setmaxnreg_dec<40>();
  else if (kCase == 1 && threadIdx.x / 32 == 5) ptx::setmaxnreg_inc<224>();
  else ptx::setmaxnreg_inc<232>();
  if (kCase == 2 && threadIdx.x < 128) ::k4j::emu::setmaxnreg(false, 20);  // below 24 (the wrapper static_asserts)
  out[threadIdx.x] = 1;
}

TEST(HopperSetmaxnreg, ValidatesTheIsaConstraints) {
  DeviceBuffer<int> out(256);
  k4j::launch("setmaxnreg_kernel", setmaxnreg_kernel<0>, 1, 256, 0, nullptr, out.p);
  expect_clean();
  for (int v : out.download()) EXPECT_EQ(v, 1);
  k4j::launch("setmaxnreg_kernel<non-uniform>", setmaxnreg_kernel<1>, 1, 256, 0, nullptr, out.p);
  expect_report("must be the same across the warpgroup");
  k4j::launch("setmaxnreg_kernel<20>", setmaxnreg_kernel<2>, 1, 256, 0, nullptr, out.p);
  expect_report("multiple of 8 in [24, 256]");
}

// ---- named barriers: warpgroup 1 produces, warpgroup 0 (which runs first here) must wait.
template <int kCase>
__global__ void named_barrier_kernel(int *out) {
  K4J_DYNAMIC_SMEM(int, s, 16);
  const int wg = threadIdx.x / 128;
  if (wg == 1) {
    s[threadIdx.x - 128] = 3 * (int)threadIdx.x;
    ptx::named_barrier_arrive(1, kCase == 1 ? 128 : 256);
  } else {
    ptx::named_barrier_sync(1, 256);
    out[threadIdx.x] = s[127 - threadIdx.x];
  }
  if (kCase == 2 && wg == 0) ptx::named_barrier_sync(2, 256);  // warpgroup 1 never comes
}

TEST(HopperNamedBarrier, SyncWaitsForArrivingProducers) {
  DeviceBuffer<int> out(256);
  k4j::launch("named_barrier_kernel", named_barrier_kernel<0>, 1, 256, 512, nullptr, out.p);
  expect_clean();
  const std::vector<int> o = out.download();
  for (int t = 0; t < 128; ++t) EXPECT_EQ(o[t], 3 * (128 + 127 - t));
}

TEST(HopperNamedBarrierNegative, MismatchedCountsAndMissingArrivalsAreReported) {
  DeviceBuffer<int> out(256);
  k4j::launch("named_barrier_kernel<mismatch>", named_barrier_kernel<1>, 1, 256, 512, nullptr, out.p);
  expect_report("mismatched thread counts");
  k4j::launch("named_barrier_kernel<never completes>", named_barrier_kernel<2>, 1, 256, 512, nullptr, out.p);
  expect_report("named barrier 2 waits for 256 threads, 128 arrived");
}

// Two consumer warpgroups, each its own 64 rows of A, the same B; a named barrier among the 256
// consumer threads before the epilogue; thread 0 of each warpgroup elected to count.
__global__ void two_warpgroups_kernel(const uint8_t *A, const uint8_t *B, float *out, int *elected) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  for (int i = threadIdx.x; i < 128 * 128; i += blockDim.x) smem[place(128, 128, i / 128, i % 128)] = A[i];
  for (int i = threadIdx.x; i < 64 * 128; i += blockDim.x) smem[16384 + place(128, 64, i / 128, i % 128)] = B[i];
  __syncthreads();
  const int wg = threadIdx.x / 128;
  ptx::setmaxnreg_inc<232>();
  float d[32];
  ptx::wgmma_fence();
  for (int ks = 0; ks < 4; ++ks)
    ptx::wgmma_e4m3_m64k32<64>(d, desc_at(128, smem + wg * 8192, 64, ks), desc_at(128, smem + 16384, 64, ks), ks > 0);
  ptx::wgmma_commit_group();
  ptx::wgmma_wait_group<0>();
  ptx::named_barrier_sync(3, 256);
  if (threadIdx.x % 128 < 32 && ptx::elect_one_sync()) atomicAdd(elected, 1);
  for (int i = 0; i < 32; ++i) out[threadIdx.x * 32 + i] = d[i];
}

TEST(HopperWgmma, TwoWarpgroupsWithSetmaxnregNamedBarrierAndElect) {
  Problem p0(64, 128, 31), p1(64, 128, 32);
  std::vector<uint8_t> a(p0.a);
  a.insert(a.end(), p1.a.begin(), p1.a.end());
  // Both warpgroups use p0's B (the reference below recomputes every element).
  DeviceBuffer<uint8_t> da(a.size()), db(p0.b.size());
  DeviceBuffer<float> out(256 * 32);
  DeviceBuffer<int> elected(1);
  da.upload(a);
  db.upload(p0.b);
  elected.upload({0});
  k4j::launch("two_warpgroups_kernel", two_warpgroups_kernel, 1, 256, 16384 + 8192, nullptr, da.p, db.p, out.p,
              elected.p);
  expect_clean();
  EXPECT_EQ(elected.download()[0], 2);
  const std::vector<float> o = out.download();
  auto dec = [](uint8_t c) { return ::k4j::emu::ptx::e4m3_to_float(c); };
  int bad = 0;
  for (int t = 0; t < 256; ++t)
    for (int i = 0; i < 32; ++i) {
      const int row = 64 * (t / 128) + frag_row(t % 128, i), col = frag_col(t % 128, i);
      double s = 0;
      for (int k = 0; k < 128; ++k) s += (double)dec(a[row * 128 + k]) * dec(p0.b[col * 128 + k]);
      bad += o[t * 32 + i] != (float)s;
    }
  EXPECT_EQ(bad, 0);
}

}  // namespace
