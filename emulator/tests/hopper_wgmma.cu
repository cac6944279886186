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
// Operands written by generic stores: each writer fences them into the async proxy (wgmma reads
// there; PTX ISA "Async Proxy" of wgmma), then a barrier orders them before the wgmma.
__device__ inline void fill_ones(uint8_t *smem) {
  for (int i = threadIdx.x; i < kSmallSmem; i += blockDim.x) smem[i] = 0x38;
  ptx::fence_proxy_async_shared();
  __syncthreads();
}
__device__ inline uint64_t small_a(uint8_t *smem) { return ptx::wgmma_desc(smem, 128, 0, 1024); }
__device__ inline uint64_t small_b(uint8_t *smem) { return ptx::wgmma_desc(smem + 8192, 128, 0, 1024); }

// One warpgroup computes D (64 x N) = A (64 x K) * B^T (B is N x K, K-major), K in k32 steps.
// kEarlyRead: the bug of reading the accumulators before wgmma.wait_group; kNoProxyFence: the bug of
// writing the operands with generic stores and no fence.proxy.async.
template <int N, int T, bool kEarlyRead = false, bool kNoProxyFence = false>
__global__ void wgmma_tile_kernel(const uint8_t *A, const uint8_t *B, float *out) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  const int K = T == 0 ? 64 : T;
  for (int i = threadIdx.x; i < 64 * K; i += blockDim.x) smem[place(T, 64, i / K, i % K)] = A[i];
  for (int i = threadIdx.x; i < N * K; i += blockDim.x) smem[64 * K + place(T, N, i / K, i % K)] = B[i];
  if (!kNoProxyFence) ptx::fence_proxy_async_shared();
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

TEST(HopperWgmmaNegative, OperandsWrittenWithoutFenceProxyAsyncAreReported) {
  Problem p(64, 128, 22);
  DeviceBuffer<uint8_t> a(p.a.size()), b(p.b.size());
  DeviceBuffer<float> out(p.want.size());
  a.upload(p.a);
  b.upload(p.b);
  k4j::launch("wgmma_tile_kernel<no fence.proxy.async>", wgmma_tile_kernel<64, 128, false, true>, 1, 128,
              b_offset(128) + 64 * 128, nullptr, a.p, b.p, out.p);
  expect_report("wgmma.mma_async (an operand) reads shared memory");
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

// A stage overwritten between the wgmma and its wgmma.wait_group: thread 5 of the warpgroup rewrites
// a byte of A before its own wait (a race), or after it (fine: the op has completed for it).
template <bool kOverwriteEarly>
__global__ void overwrite_kernel(float *out) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  fill_ones(smem);
  float d[4];
  ptx::wgmma_fence();
  ptx::wgmma_e4m3_m64k32<8>(d, small_a(smem), small_b(smem), 0);
  ptx::wgmma_commit_group();
  if (kOverwriteEarly && threadIdx.x == 5) smem[5] = 0x40;
  ptx::wgmma_wait_group<0>();
  if (!kOverwriteEarly && threadIdx.x == 5) smem[5] = 0x40;
  out[threadIdx.x] = d[0];
}

TEST(HopperWgmmaNegative, AnOperandOverwrittenBeforeTheWaitIsARace) {
  DeviceBuffer<float> out(128);
  k4j::launch("overwrite_kernel<early>", overwrite_kernel<true>, 1, 128, kSmallSmem, nullptr, out.p);
  expect_report("thread 5 overwrites an operand of a wgmma.mma_async of warpgroup 0 before waiting for it");
  k4j::launch("overwrite_kernel<after wait>", overwrite_kernel<false>, 1, 128, kSmallSmem, nullptr, out.p);
  expect_clean();
  for (float v : out.download()) EXPECT_EQ(v, 32.f);
}

// The producer's bug: warpgroup 0 refills a stage that warpgroup 1's wgmma still reads, released by
// a named barrier that warpgroup 1 passes before (bug) or after (fine) its wgmma.wait_group.
template <bool kReleaseBeforeWait>
__global__ void refill_kernel(float *out) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  fill_ones(smem);
  if (threadIdx.x >= 128) {
    float d[4];
    ptx::wgmma_fence();
    ptx::wgmma_e4m3_m64k32<8>(d, small_a(smem), small_b(smem), 0);
    ptx::wgmma_commit_group();
    if (!kReleaseBeforeWait) ptx::wgmma_wait_group<0>();
    ptx::named_barrier_arrive(1, 256);  // "stage free"
    ptx::named_barrier_sync(2, 256);    // "next stage full"
    ptx::wgmma_wait_group<0>();
    out[threadIdx.x - 128] = d[0];
  } else {
    ptx::named_barrier_sync(1, 256);
    if (threadIdx.x == 0) smem[16] = 0x40;  // the refill (row 0, K byte 16 of A)
    ptx::named_barrier_arrive(2, 256);
  }
}

TEST(HopperWgmmaNegative, AStageRefilledBeforeTheWgmmaCompletedIsARace) {
  DeviceBuffer<float> out(128);
  k4j::launch("refill_kernel<release before wait>", refill_kernel<true>, 1, 256, kSmallSmem, nullptr, out.p);
  expect_report("thread 0 overwrites an operand of a wgmma.mma_async of warpgroup 1 with nothing ordering");
  k4j::launch("refill_kernel<release after wait>", refill_kernel<false>, 1, 256, kSmallSmem, nullptr, out.p);
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
  if (kCase == 3 && threadIdx.x >= 128) ptx::setmaxnreg_inc<200>();  // after inc 232
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
  k4j::launch("setmaxnreg_kernel<inc below the count>", setmaxnreg_kernel<3>, 1, 256, 0, nullptr, out.p);
  expect_report("must not lower the count");
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
  if (kCase == 3 && wg == 1) ptx::named_barrier_arrive(1, 256);  // a second arrival, same phase
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
  k4j::launch("named_barrier_kernel<arrives twice>", named_barrier_kernel<3>, 1, 256, 512, nullptr, out.p);
  expect_report("arrives again before the barrier completed");
}

// Two consumer warpgroups, each its own 64 rows of A, the same B; a named barrier among the 256
// consumer threads before the epilogue; thread 0 of each warpgroup elected to count.
__global__ void two_warpgroups_kernel(const uint8_t *A, const uint8_t *B, float *out, int *elected) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  for (int i = threadIdx.x; i < 128 * 128; i += blockDim.x) smem[place(128, 128, i / 128, i % 128)] = A[i];
  for (int i = threadIdx.x; i < 64 * 128; i += blockDim.x) smem[16384 + place(128, 64, i / 128, i % 128)] = B[i];
  ptx::fence_proxy_async_shared();
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

// ---- with TMA: tiles loaded by cp.async.bulk.tensor with the 128-byte swizzle feed the wgmma
// descriptors directly (one swizzle map: what TMA writes is what wgmma reads); a producer that
// refills a stage the consumer released before its wgmma.wait_group is a race.
#include "k4j_tensor_map.h"

namespace {

// Warpgroup 0's thread 0 produces: A (64 x 128) and B (64 x 128) into stage 0, then, once the
// consumer released the stage, B2 over B. Warpgroup 1 consumes: D = A * B^T over 4 k32 steps.
__global__ void tma_wgmma_kernel(const __grid_constant__ CUtensorMap ma, const __grid_constant__ CUtensorMap mb,
                                 const __grid_constant__ CUtensorMap mb2, int release_early, float *out) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  __shared__ uint64_t full, empty;
  if (threadIdx.x == 0) {
    ptx::mbarrier_init(&full, 1);
    ptx::mbarrier_init(&empty, 1);
    ptx::fence_mbarrier_init();
  }
  __syncthreads();
  if (threadIdx.x < 128) {
    if (threadIdx.x == 0) {
      ptx::mbarrier_arrive_expect_tx(&full, 2 * 8192);
      ptx::tma_load_2d(smem, &ma, &full, 0, 0);
      ptx::tma_load_2d(smem + 8192, &mb, &full, 0, 0);
      ptx::mbarrier_wait_parity(&empty, 0);
      ptx::mbarrier_arrive_expect_tx(&full, 8192);
      ptx::tma_load_2d(smem + 8192, &mb2, &full, 0, 0);  // the next "stage" reuses B's buffer
    }
    return;
  }
  ptx::mbarrier_wait_parity(&full, 0);
  float d[32];
  ptx::wgmma_fence();
  for (int ks = 0; ks < 4; ++ks)
    ptx::wgmma_e4m3_m64k32<64>(d, desc_at(128, smem, 64, ks), desc_at(128, smem + 8192, 64, ks), ks > 0);
  ptx::wgmma_commit_group();
  if (release_early && threadIdx.x == 128) ptx::mbarrier_arrive(&empty);  // the bug: before the wait
  ptx::wgmma_wait_group<0>();
  ptx::wgmma_fence_operand(d);
  if (!release_early && threadIdx.x == 128) ptx::mbarrier_arrive(&empty);
  for (int i = 0; i < 32; ++i) out[(threadIdx.x - 128) * 32 + i] = d[i];
  ptx::mbarrier_wait_parity(&full, 1);
}

TEST(HopperWgmmaTma, SwizzledTmaTilesFeedWgmmaAndAnEarlyReleaseIsARace) {
  Problem p(64, 128, 41), q(64, 128, 42);
  DeviceBuffer<uint8_t> a(p.a.size()), b(p.b.size()), b2(q.b.size());
  DeviceBuffer<float> out(p.want.size());
  a.upload(p.a);
  b.upload(p.b);
  b2.upload(q.b);
  CUtensorMap ma, mb, mb2;
  ASSERT_EQ(k4j::make_tensor_map_2d(&ma, k4j::TmaType::kFp8, a.p, 128, 64, 128, 128, 64, k4j::TmaSwizzle::k128B), K4J_OK);
  ASSERT_EQ(k4j::make_tensor_map_2d(&mb, k4j::TmaType::kFp8, b.p, 128, 64, 128, 128, 64, k4j::TmaSwizzle::k128B), K4J_OK);
  ASSERT_EQ(k4j::make_tensor_map_2d(&mb2, k4j::TmaType::kFp8, b2.p, 128, 64, 128, 128, 64, k4j::TmaSwizzle::k128B),
            K4J_OK);
  k4j::launch("tma_wgmma_kernel", tma_wgmma_kernel, 1, 256, 16384, nullptr, ma, mb, mb2, 0, out.p);
  expect_clean();
  const std::vector<float> got = out.download();
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) bad += got[i] != p.want[i];
  EXPECT_EQ(bad, 0);
  k4j::launch("tma_wgmma_kernel<early release>", tma_wgmma_kernel, 1, 256, 16384, nullptr, ma, mb, mb2, 1, out.p);
  expect_report("thread 0 overwrites an operand of a wgmma.mma_async of warpgroup 1 with nothing ordering");
}

}  // namespace

// ---- BF16 (wgmma.mma_async m64nNk16 .f32.bf16.bf16): K-major and MN-major (imm-trans) operands in
// every swizzle mode, A from shared memory or from registers, chained over k16 steps, against an
// FP64 host reference; the async rule, bad descriptors; and a 4-D TMA load.
namespace {

// MN-major placement, written from the PTX ISA's "Canonical Layouts" table (MN-major rows) and
// "Leading/Stride Dimension Byte Offset" (independently of the emulator's maps): element (mn, k)
// of a tile with `rows` elements of M/N and K elements of K.
//   swizzled (t bytes): atoms of 8 K-rows x t bytes (t/2 elements of M/N), atoms M/N-fastest:
//     LBO (next atom along M/N) = 8t, SBO (next 8 of K) = 8t * rows / (t/2); the 16-byte chunk
//     swizzle of the K-major case on top.
//   interleave (t = 0): core matrices of 8 K-rows x 16 bytes, M/N-fastest: SBO (next 8 of M/N) =
//     128, LBO (next 8 of K) = 16 * rows.
__host__ __device__ inline int swz(int x, int t) {
  const int line = (x % (8 * t)) / 128, chunk = (x % t) / 16;
  return x - chunk * 16 + (chunk ^ (line % (t / 16))) * 16;
}
// A tile narrower than one swizzled row (N = 16 with 128-byte rows) still spans whole rows.
__host__ __device__ inline int mn_rows(int t, int rows) { return t == 0 || rows >= t / 2 ? rows : t / 2; }
__host__ __device__ inline int mn_lbo(int t, int rows) { return t == 0 ? 16 * rows : 8 * t; }
__host__ __device__ inline int mn_sbo(int t, int rows) { return t == 0 ? 128 : 8 * t * (mn_rows(t, rows) / (t / 2)); }
__host__ __device__ inline int place_mn(int t, int rows, int mn, int k) {
  if (t == 0) return (mn / 8) * 128 + (k / 8) * mn_lbo(0, rows) + (k % 8) * 16 + (mn % 8) * 2;
  const int per_row = t / 2;
  return swz((mn / per_row) * 8 * t + (k / 8) * mn_sbo(t, rows) + (k % 8) * t + (mn % per_row) * 2, t);
}
// K-major BF16 element (r, k) is bytes 2k, 2k+1 of the K-major byte layout `place` (32 bytes of K
// per k16 step, like a k32 FP8 step): descriptors advance by desc_at's 32-byte K steps.
__device__ inline uint64_t desc_mn(int t, uint8_t *tile, int rows, int ks) {
  // A k16 step is two 8-K groups: 2 * LBO (interleave) or 2 * SBO (swizzled) further.
  if (t == 0) return ptx::wgmma_desc(tile + 2 * ks * mn_lbo(0, rows), 0, mn_lbo(0, rows), mn_sbo(0, rows));
  return ptx::wgmma_desc(tile + 2 * ks * mn_sbo(t, rows), t, mn_lbo(t, rows), mn_sbo(t, rows));
}
int bf16_k(int t) { return t == 0 ? 32 : t / 2; }  // K elements of a tile: 2 k16 steps, or T/2 (one swizzle row)
// A tile's bytes (either layout): rows x K x 2, rounded up to the 1024-byte pattern repeat.
int bf16_tile_bytes(int t, int rows) { return ((mn_rows(t, rows) * bf16_k(t) * 2 + 1023) / 1024) * 1024; }

uint16_t to_bf16(float f) {  // exact for the values used here (checked)
  uint32_t u;
  std::memcpy(&u, &f, 4);
  EXPECT_EQ(u & 0xFFFFu, 0u);
  return (uint16_t)(u >> 16);
}
float from_bf16(uint16_t h) {
  const uint32_t u = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// One warpgroup: D (64 x N) = A (64 x K) * B (K x N) + (acc0 ? 0.25 : 0), over K/16 chained steps.
// A[m * K + k], B[n * K + k] in global memory (bf16 codes); TA/TB: MN-major placement; kRegA: A
// from registers (the ISA's fragment, written out here); kEarlyRead: the accumulator-before-wait bug.
template <int N, int T, int TA, int TB, bool kRegA, bool kEarlyRead = false>
__global__ void bf16_tile_kernel(const uint16_t *A, const uint16_t *B, int acc0, float *out) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  const int K = bf16_k(T);
  uint8_t *ta = smem, *tb = smem + bf16_tile_bytes(T, 64);
  for (int i = threadIdx.x; i < 64 * K; i += blockDim.x) {
    const int m = i / K, k = i % K;
    const int off = TA ? place_mn(T, 64, m, k) : place(T, 64, m, 2 * k);
    memcpy(ta + off, &A[i], 2);
  }
  for (int i = threadIdx.x; i < N * K; i += blockDim.x) {
    const int n = i / K, k = i % K;
    const int off = TB ? place_mn(T, N, n, k) : place(T, N, n, 2 * k);
    memcpy(tb + off, &B[i], 2);
  }
  ptx::fence_proxy_async_shared();
  __syncthreads();
  float d[N / 2];
  for (int i = 0; i < N / 2; ++i) d[i] = 0.25f;
  ptx::wgmma_fence_operand(d);
  ptx::wgmma_fence();
  const int t = threadIdx.x, w = t / 32, l = t % 32;
  for (int ks = 0; ks < K / 16; ++ks) {
    const uint64_t db = TB ? desc_mn(T, tb, N, ks) : desc_at(T, tb, N, ks);
    if (kRegA) {
      // "Register Fragments" (wgmma, .bf16 A): element i = 2r + e of thread t at row 16w + l/4 +
      // 8*((i/2)%2), column 8*(i/4) + 2*(l%4) + i%2 of this k16 step.
      uint32_t a[4];
      for (int r = 0; r < 4; ++r) {
        a[r] = 0;
        for (int e = 0; e < 2; ++e) {
          const int i = 2 * r + e, row = 16 * w + l / 4 + 8 * ((i / 2) % 2), col = 8 * (i / 4) + 2 * (l % 4) + i % 2;
          a[r] |= (uint32_t)A[row * K + 16 * ks + col] << (16 * e);
        }
      }
      ptx::wgmma_fence();  // A's registers were written since the last wgmma (PTX ISA "wgmma.fence")
      ptx::wgmma_bf16_m64k16_rs<N, TB>(d, a, db, ks > 0 || acc0);
      // The registers must stay unchanged until the wait: keep them live across it here.
      if (ks + 1 == K / 16) {
        ptx::wgmma_commit_group();
        if (!kEarlyRead) ptx::wgmma_wait_group<0>();
      } else {
        ptx::wgmma_commit_group();
        ptx::wgmma_wait_group<0>();
      }
    } else {
      const uint64_t da = TA ? desc_mn(T, ta, 64, ks) : desc_at(T, ta, 64, ks);
      ptx::wgmma_bf16_m64k16_ss<N, TA, TB>(d, da, db, ks > 0 || acc0);
      if (ks + 1 == K / 16) {
        ptx::wgmma_commit_group();
        if (!kEarlyRead) ptx::wgmma_wait_group<0>();
      }
    }
  }
  ptx::wgmma_fence_operand(d);
  for (int i = 0; i < N / 2; ++i) out[threadIdx.x * (N / 2) + i] = d[i];
  if (kEarlyRead) ptx::wgmma_wait_group<0>();
}

// Exact problems: values k/4 for integer k in [-8, 8] (exact in bf16; every product and every
// partial sum of a K <= 64 dot product is exact in FP32, so chaining order does not matter).
// general: random bf16 values of [-1, 1) with full mantissas (then the check allows FP32 rounding).
struct Bf16Problem {
  int n, k;
  std::vector<uint16_t> a, b;
  std::vector<double> want;  // [thread][reg], FP64
  std::vector<double> mag;   // sum of |products| (+ |C|), for the rounding bound
  Bf16Problem(int n_, int k_, uint32_t seed, bool acc0, bool general = false)
      : n(n_), k(k_), a(64 * k_), b(n_ * k_), want(128 * (n_ / 2)), mag(want.size()) {
    std::mt19937 rng(seed);
    auto gen = [&]() -> uint16_t {
      if (!general) return to_bf16(((int)(rng() % 17) - 8) / 4.f);
      return (uint16_t)((rng() & 0x8000u) | (0x3800u + rng() % 0x780u));  // |x| in [2^-15, 1)
    };
    for (auto &v : a) v = gen();
    for (auto &v : b) v = gen();
    for (int t = 0; t < 128; ++t)
      for (int i = 0; i < n / 2; ++i) {
        double s = acc0 ? 0.25 : 0, m = acc0 ? 0.25 : 0;
        for (int kk = 0; kk < k; ++kk) {
          const double p = (double)from_bf16(a[frag_row(t, i) * k + kk]) * from_bf16(b[frag_col(t, i) * k + kk]);
          s += p;
          m += std::fabs(p);
        }
        want[t * (n / 2) + i] = s;
        mag[t * (n / 2) + i] = m;
      }
  }
};

template <int N, int T, int TA, int TB, bool kRegA>
void run_bf16(uint32_t seed, bool acc0, bool general = false) {
  const int k = bf16_k(T);
  Bf16Problem p(N, k, seed, acc0, general);
  DeviceBuffer<uint16_t> a(p.a.size()), b(p.b.size());
  DeviceBuffer<float> out(p.want.size());
  a.upload(p.a);
  b.upload(p.b);
  const int smem = bf16_tile_bytes(T, 64) + bf16_tile_bytes(T, N);
  k4j::launch("bf16_tile_kernel", bf16_tile_kernel<N, T, TA, TB, kRegA>, 1, 128, smem, nullptr, a.p, b.p, (int)acc0,
              out.p);
  expect_clean();
  const std::vector<float> got = out.download();
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    // Exact problems: equal. General: one FP32 rounding per k16 step (2^-24 relative each) of sums
    // bounded by the magnitude sum.
    const double tol = general ? (k / 16) * std::ldexp(p.mag[i], -23) : 0.0;
    bad += !(std::fabs((double)got[i] - p.want[i]) <= tol);
  }
  EXPECT_EQ(bad, 0) << "N=" << N << " swizzle=" << T << " trans_a=" << TA << " trans_b=" << TB << " regA=" << kRegA;
}

TEST(HopperWgmmaBf16, KMajorAAndKOrMnMajorBIn128ByteSwizzle) {
  run_bf16<16, 128, 0, 0, false>(101, false);
  run_bf16<64, 128, 0, 0, false>(102, true);
  run_bf16<256, 128, 0, 0, false>(103, false);
  run_bf16<16, 128, 0, 1, false>(104, true);
  run_bf16<64, 128, 0, 1, false>(105, false);
  run_bf16<128, 128, 0, 1, false>(106, true);
  run_bf16<256, 128, 0, 1, false>(107, false);
}

// A from registers (the .bf16 A fragment), B K-major or MN-major.
TEST(HopperWgmmaBf16, RegisterAWithKOrMnMajorB) {
  run_bf16<16, 128, 0, 0, true>(131, false);
  run_bf16<64, 128, 0, 1, true>(132, true);
  run_bf16<256, 128, 0, 1, true>(133, false);
  run_bf16<256, 128, 0, 0, true>(134, true);
  run_bf16<64, 0, 0, 1, true>(135, false);
  run_bf16<32, 32, 0, 0, true>(136, false);
  run_bf16<128, 64, 0, 1, true>(137, true);
}

// MN-major A (imm-trans-a) and every transpose combination in every swizzle mode.
TEST(HopperWgmmaBf16, EverySwizzleModeAndTransposeCombination) {
  run_bf16<64, 128, 1, 0, false>(141, false);
  run_bf16<128, 128, 1, 1, false>(142, true);
  run_bf16<16, 128, 1, 1, false>(143, false);
  run_bf16<16, 64, 0, 0, false>(144, false);
  run_bf16<64, 64, 0, 1, false>(145, true);
  run_bf16<32, 64, 1, 0, false>(146, false);
  run_bf16<256, 64, 1, 1, false>(147, false);
  run_bf16<16, 32, 0, 0, false>(148, true);
  run_bf16<64, 32, 0, 1, false>(149, false);
  run_bf16<256, 32, 1, 0, false>(150, false);
  run_bf16<48, 32, 1, 1, false>(151, true);
  run_bf16<16, 0, 0, 0, false>(152, false);
  run_bf16<64, 0, 0, 1, false>(153, true);
  run_bf16<128, 0, 1, 0, false>(154, false);
  run_bf16<256, 0, 1, 1, false>(155, false);
  run_bf16<8, 0, 1, 1, false>(156, true);
}

TEST(HopperWgmmaBf16, GeneralValuesWithinOneFp32RoundingPerStep) {
  run_bf16<64, 128, 0, 0, false>(111, false, true);
  run_bf16<64, 128, 0, 1, false>(112, true, true);
  run_bf16<128, 0, 1, 1, false>(113, false, true);
  run_bf16<64, 64, 0, 1, true>(114, true, true);
}

// The async rule for the BF16 form: the early reader sees the accumulators' old values (0.25).
TEST(HopperWgmmaBf16, AccumulatorsChangeOnlyAtWaitGroup) {
  Bf16Problem p(64, 64, 121, false);
  DeviceBuffer<uint16_t> a(p.a.size()), b(p.b.size());
  DeviceBuffer<float> out(p.want.size());
  a.upload(p.a);
  b.upload(p.b);
  const int smem = bf16_tile_bytes(128, 64) + bf16_tile_bytes(128, 64);
  k4j::launch("bf16_tile_kernel<early read>", bf16_tile_kernel<64, 128, 0, 1, false, true>, 1, 128, smem, nullptr,
              a.p, b.p, 0, out.p);
  expect_clean();
  std::vector<float> got = out.download();
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], 0.25f);
    bad += got[i] != p.want[i];
  }
  EXPECT_GT(bad, (int)got.size() / 2);
}

// Descriptors refused: an MN-major 128-byte-swizzled B (N = 64: one full swizzle row of M/N)
// starting 32 bytes into the row would run past it.
template <int kCase>
__global__ void bf16_bad_desc_kernel() {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  for (int i = threadIdx.x; i < 16384; i += blockDim.x) smem[i] = 0;
  ptx::fence_proxy_async_shared();
  __syncthreads();
  float d[32];
  ptx::wgmma_fence();
  const uint64_t da = ptx::wgmma_desc(smem, 128, 0, 1024);
  const uint64_t db = ptx::wgmma_desc(smem + 8192 + (kCase == 0 ? 32 : 0), 128, 1024, 1024);
  ptx::wgmma_bf16_m64k16_ss<64, 0, 1>(d, da, db, 0);
  ptx::wgmma_commit_group();
  ptx::wgmma_wait_group<0>();
}

TEST(HopperWgmmaBf16Negative, AnMnMajorDescriptorLeavingItsSwizzleRowIsReported) {
  k4j::launch("bf16_bad_desc_kernel<mid-row>", bf16_bad_desc_kernel<0>, 1, 128, 16384, nullptr);
  expect_report("bytes of M/N would leave the row");
  k4j::launch("bf16_bad_desc_kernel<ok>", bf16_bad_desc_kernel<1>, 1, 128, 16384, nullptr);
  expect_clean();
}

// ---- TMA-loaded BF16 tiles feed the descriptors directly: A (64 x 64, K contiguous) K-major, and
// B stored [K][N] (N contiguous, as a V tile of attention is) MN-major: each 128-byte-swizzled TMA
// box of 64 N x 64 K rows is a column of 128-byte MN-major atoms (SBO 1024 to the next 8 K-rows),
// the second box of N 64..127 LBO = 8192 bytes further.
__global__ void tma_bf16_kernel(const __grid_constant__ CUtensorMap ma, const __grid_constant__ CUtensorMap mb,
                                float *out) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  __shared__ uint64_t full;
  if (threadIdx.x == 0) {
    ptx::mbarrier_init(&full, 1);
    ptx::fence_mbarrier_init();
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    ptx::mbarrier_arrive_expect_tx(&full, 3 * 8192);
    ptx::tma_load_2d(smem, &ma, &full, 0, 0);
    ptx::tma_load_2d(smem + 8192, &mb, &full, 0, 0);
    ptx::tma_load_2d(smem + 16384, &mb, &full, 64, 0);
  }
  ptx::mbarrier_wait_parity(&full, 0);
  float d[64];
  ptx::wgmma_fence();
  for (int ks = 0; ks < 4; ++ks)
    ptx::wgmma_bf16_m64k16_ss<128, 0, 1>(d, ptx::wgmma_desc(smem + 32 * ks, 128, 0, 1024),
                                         ptx::wgmma_desc(smem + 8192 + 2048 * ks, 128, 8192, 1024), ks > 0);
  ptx::wgmma_commit_group();
  ptx::wgmma_wait_group<0>();
  ptx::wgmma_fence_operand(d);
  for (int i = 0; i < 64; ++i) out[threadIdx.x * 64 + i] = d[i];
}

TEST(HopperWgmmaBf16Tma, SwizzledTmaTilesFeedKMajorAAndMnMajorB) {
  Bf16Problem p(128, 64, 161, false);  // b[n * 64 + k]; the tensor below is stored [k][n]
  std::vector<uint16_t> bt(64 * 128);
  for (int n = 0; n < 128; ++n)
    for (int k = 0; k < 64; ++k) bt[k * 128 + n] = p.b[n * 64 + k];
  DeviceBuffer<uint16_t> a(p.a.size()), b(bt.size());
  DeviceBuffer<float> out(p.want.size());
  a.upload(p.a);
  b.upload(bt);
  CUtensorMap ma, mb;
  ASSERT_EQ(k4j::make_tensor_map_2d(&ma, k4j::TmaType::kBf16, a.p, 64, 64, 128, 64, 64, k4j::TmaSwizzle::k128B), K4J_OK);
  ASSERT_EQ(k4j::make_tensor_map_2d(&mb, k4j::TmaType::kBf16, b.p, 128, 64, 256, 64, 64, k4j::TmaSwizzle::k128B),
            K4J_OK);
  k4j::launch("tma_bf16_kernel", tma_bf16_kernel, 1, 128, 3 * 8192, nullptr, ma, mb, out.p);
  expect_clean();
  const std::vector<float> got = out.download();
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) bad += got[i] != (float)p.want[i];
  EXPECT_EQ(bad, 0);
}

// ---- cp.async.bulk.tensor.4d: a box of a rank-4 BF16 tensor lands in box-linear order (no swizzle),
// out-of-bounds elements zero.
__global__ void tma4d_kernel(const __grid_constant__ CUtensorMap map, int c0, int c1, int c2, int c3, uint32_t bytes,
                             uint8_t *image) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  __shared__ uint64_t bar;
  if (threadIdx.x == 0) {
    ptx::mbarrier_init(&bar, 1);
    ptx::fence_mbarrier_init();
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    ptx::mbarrier_arrive_expect_tx(&bar, bytes);
    ptx::tma_load_4d(smem, &map, &bar, c0, c1, c2, c3);
  }
  ptx::mbarrier_wait_parity(&bar, 0);
  for (uint32_t i = threadIdx.x; i < bytes; i += blockDim.x) image[i] = smem[i];
}

TEST(HopperTma4d, ABoxOfARankFourTensor) {
  const uint64_t dims[4] = {16, 4, 3, 5};
  std::vector<uint16_t> host(16 * 4 * 3 * 5);
  for (size_t i = 0; i < host.size(); ++i) host[i] = (uint16_t)(i + 1);
  DeviceBuffer<uint16_t> mem(host.size());
  mem.upload(host);
  const uint64_t strides[3] = {16 * 2, 16 * 4 * 2, 16 * 4 * 3 * 2};
  const uint32_t box[4] = {16, 2, 2, 2};
  CUtensorMap map;
  ASSERT_EQ(k4j::tensor_map_detail::encode(&map, k4j::TmaType::kBf16, mem.p, 4, dims, strides, box,
                                           k4j::TmaSwizzle::kNone),
            K4J_OK);
  const uint32_t bytes = 16 * 2 * 2 * 2 * 2;
  DeviceBuffer<uint8_t> image(bytes);
  const int c[4] = {0, 3, 1, 4};  // dim1 3..4 (4 is out of bounds), dim3 4..5 (5 is out of bounds)
  k4j::launch("tma4d_kernel", tma4d_kernel, 1, 128, 1024, nullptr, map, c[0], c[1], c[2], c[3], bytes, image.p);
  expect_clean();
  const std::vector<uint8_t> img = image.download();
  int bad = 0;
  for (uint32_t e3 = 0; e3 < 2; ++e3)
    for (uint32_t e2 = 0; e2 < 2; ++e2)
      for (uint32_t e1 = 0; e1 < 2; ++e1)
        for (uint32_t e0 = 0; e0 < 16; ++e0) {
          const uint64_t g[4] = {c[0] + e0, c[1] + e1, c[2] + e2, c[3] + e3};
          const bool in = g[0] < dims[0] && g[1] < dims[1] && g[2] < dims[2] && g[3] < dims[3];
          const uint16_t want = in ? host[((g[3] * dims[2] + g[2]) * dims[1] + g[1]) * dims[0] + g[0]] : 0;
          uint16_t got;
          std::memcpy(&got, &img[(((e3 * 2 + e2) * 2 + e1) * 16 + e0) * 2], 2);
          bad += got != want;
        }
  EXPECT_EQ(bad, 0);
}

}  // namespace
