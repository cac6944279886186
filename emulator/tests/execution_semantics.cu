// The emulator's CUDA execution semantics, each against the CUDA Programming Guide's definition.
#include "emu_test_util.h"  // first: GoogleTest, then the emulated device language

#include <atomic>
#include <cmath>

#include "common/ptx.cuh"
#include "common/shared_memory.cuh"

using namespace k4j::emu::test;
namespace ptx = k4j::kernels::ptx;

namespace {

// Shuffles read every source before any lane writes ("gather, then scatter"), with widths.
__global__ void shfl_modes_kernel(int *out) {
  const int lane = threadIdx.x;
  int v = lane * 7 + 1;
  v = __shfl_sync(0xffffffffu, v, lane + 1);  // rotate: in place lane-by-lane would smear values
  out[lane] = v;
  out[32 + lane] = __shfl_up_sync(0xffffffffu, lane, 3, 8);
  out[64 + lane] = __shfl_down_sync(0xffffffffu, lane, 2, 16);
  out[96 + lane] = __shfl_xor_sync(0xffffffffu, lane, 5, 8);
}

TEST(Warp, ShuffleModesAndWidths) {
  DeviceBuffer<int> out(128);
  k4j::launch("shfl_modes_kernel", shfl_modes_kernel, 1, 32, 0, nullptr, out.p);
  expect_clean();
  const std::vector<int> o = out.download();
  for (int l = 0; l < 32; ++l) {
    EXPECT_EQ(o[l], ((l + 1) % 32) * 7 + 1);
    EXPECT_EQ(o[32 + l], (l % 8) < 3 ? l : l - 3);    // up: the first `delta` lanes of a segment keep theirs
    EXPECT_EQ(o[64 + l], (l % 16) + 2 >= 16 ? l : l + 2);
    EXPECT_EQ(o[96 + l], (l ^ 5) >= (l & ~7) + 8 ? l : (l ^ 5));  // xor into a later segment: own value
  }
}

__global__ void vote_kernel(unsigned *out) {
  const int lane = threadIdx.x;
  if (lane < 16) {  // a partial mask: only the named lanes take part
    out[lane] = __ballot_sync(0x0000ffffu, lane % 3 == 0);
    out[32 + lane] = __any_sync(0x0000ffffu, lane == 9);
    out[64 + lane] = __all_sync(0x0000ffffu, lane < 16);
  }
  out[96 + lane] = __match_any_sync(0xffffffffu, lane % 4);
}

TEST(Warp, VoteAndMatch) {
  DeviceBuffer<unsigned> out(128);
  k4j::launch("vote_kernel", vote_kernel, 1, 32, 0, nullptr, out.p);
  expect_clean();
  const std::vector<unsigned> o = out.download();
  for (int l = 0; l < 16; ++l) {
    EXPECT_EQ(o[l], 0x9249u);  // lanes 0, 3, 6, 9, 12, 15
    EXPECT_EQ(o[32 + l], 1u);
    EXPECT_EQ(o[64 + l], 1u);
  }
  for (int l = 0; l < 32; ++l) EXPECT_EQ(o[96 + l], 0x11111111u << (l % 4));
}

// __syncthreads is a real barrier over all warps of the block.
__global__ void reverse_kernel(const int *in, int *out) {
  __shared__ int s[1024];
  s[threadIdx.x] = in[threadIdx.x];
  __syncthreads();
  out[threadIdx.x] = s[blockDim.x - 1 - threadIdx.x];
}

TEST(Block, SyncthreadsOrdersAllWarps) {
  DeviceBuffer<int> in(1024), out(1024);
  std::vector<int> h(1024);
  for (int i = 0; i < 1024; ++i) h[i] = i * i;
  in.upload(h);
  k4j::launch("reverse_kernel", reverse_kernel, 1, 1024, 0, nullptr, in.p, out.p);
  expect_clean();
  const std::vector<int> o = out.download();
  for (int i = 0; i < 1024; ++i) EXPECT_EQ(o[i], (1023 - i) * (1023 - i));
}

// cp.async src-size: bytes [src_size, 16) are zero-filled and not read.
__global__ void cp_async_fill_kernel(const uint8_t *src, uint8_t *out) {
  __shared__ __align__(16) uint8_t s[17 * 16];
  const int n = threadIdx.x;  // thread n copies n bytes (0..16)
  ptx::cp_async_16(&s[n * 16], src + n * 16, n);
  ptx::cp_async_commit();
  ptx::cp_async_wait<0>();
  __syncthreads();
  for (int i = 0; i < 16; ++i) out[n * 16 + i] = s[n * 16 + i];
}

TEST(Ptx, CpAsyncZeroFillsPastSrcSize) {
  DeviceBuffer<uint8_t> src(17 * 16), out(17 * 16);
  std::vector<uint8_t> h(17 * 16, 0xAB);
  src.upload(h);
  k4j::launch("cp_async_fill_kernel", cp_async_fill_kernel, 1, 17, 0, nullptr, src.p, out.p);
  expect_clean();
  const std::vector<uint8_t> o = out.download();
  for (int n = 0; n <= 16; ++n)
    for (int i = 0; i < 16; ++i) EXPECT_EQ(o[n * 16 + i], i < n ? 0xAB : 0) << "thread " << n << " byte " << i;
}

// Blocks run in an order drawn from the seed.
__global__ void order_kernel(int *counter, int *order) {
  if (threadIdx.x == 0) order[atomicAdd(counter, 1)] = blockIdx.x;
}

std::vector<int> block_order(const char *seed) {
  EXPECT_EQ(k4j_emu_set_option("seed", seed), 0);
  DeviceBuffer<int> counter(1), order(64);
  EXPECT_EQ(cudaMemset(counter.p, 0, sizeof(int)), cudaSuccess);
  k4j::launch("order_kernel", order_kernel, 64, 32, 0, nullptr, counter.p, order.p);
  expect_clean();
  return order.download();
}

TEST(Grid, BlockOrderFollowsTheSeed) {
  const std::vector<int> a = block_order("1"), b = block_order("2");
  EXPECT_NE(a, b);
  EXPECT_EQ(std::set<int>(a.begin(), a.end()).size(), 64u);
}

// Same-value writes from many threads (a flag) are benign; different values are a WAW hazard.
// (Indexed through a kernel argument: GCC does not instrument a static scalar's direct accesses,
// which it can prove in bounds; see emulator/README.md.)
template <bool kSame>
__global__ void flag_kernel(int *out, int which) {
  __shared__ int flag[2];
  if (threadIdx.x == 0) flag[which] = 0;
  __syncthreads();
  if (threadIdx.x % 2 == 0) flag[which] = kSame ? 1 : (int)threadIdx.x;
  __syncthreads();
  if (threadIdx.x == 0) *out = flag[which];
}

TEST(Racecheck, SameValueWritesAreBenignDifferentValuesAreNot) {
  DeviceBuffer<int> out(1);
  k4j::launch("flag_kernel<true>", flag_kernel<true>, 1, 64, 0, nullptr, out.p, 0);
  expect_clean();
  EXPECT_EQ(out.download()[0], 1);
  k4j::launch("flag_kernel<false>", flag_kernel<false>, 1, 64, 0, nullptr, out.p, 0);
  expect_report("write-after-write hazard");
}

// Shared memory is poisoned at launch: reading it before writing is reported.
__global__ void uninit_kernel(int *out) {
  __shared__ int s[32];
  out[threadIdx.x] = s[threadIdx.x];
}

TEST(Initcheck, ReadOfNeverWrittenSharedMemory) {
  DeviceBuffer<int> out(32);
  k4j::launch("uninit_kernel", uninit_kernel, 1, 32, 0, nullptr, out.p);
  expect_report("read of uninitialized shared memory");
}

// Streams are asynchronous: the host runs ahead until it synchronises.
__global__ void wait_for_host_kernel(volatile int *flag, int *out) {
  while (*flag == 0) {
  }
  *out = 42;
}

TEST(Stream, WorkRunsAsynchronously) {
  int *flag = nullptr;
  ASSERT_EQ(cudaMallocHost((void **)&flag, sizeof(int)), cudaSuccess);
  *flag = 0;
  DeviceBuffer<int> out(1);
  cudaStream_t s;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  k4j::launch("wait_for_host_kernel", wait_for_host_kernel, 1, 1, 0, s, (volatile int *)flag, out.p);
  EXPECT_EQ(cudaStreamQuery(s), cudaErrorNotReady);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  *(volatile int *)flag = 1;
  EXPECT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  EXPECT_EQ(out.download()[0], 42);
  cudaStreamDestroy(s);
  cudaFreeHost(flag);
  expect_clean();
}

__global__ void add_kernel(int *x, int v) { x[threadIdx.x] += v; }

TEST(Graph, CaptureAndReplay) {
  DeviceBuffer<int> x(32);
  cudaStream_t s;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaMemset(x.p, 0, 32 * sizeof(int)), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  k4j::launch("add_kernel", add_kernel, 1, 32, 0, s, x.p, 5);
  EXPECT_EQ(cudaStreamSynchronize(s), cudaErrorStreamCaptureUnsupported);  // no sync while capturing
  cudaGraph_t g;
  EXPECT_EQ(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated);
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  k4j::launch("add_kernel", add_kernel, 1, 32, 0, s, x.p, 5);
  ASSERT_EQ(cudaStreamEndCapture(s, &g), cudaSuccess);
  EXPECT_EQ(x.download()[0], 0) << "captured work does not run";
  cudaGraphExec_t ge;
  ASSERT_EQ(cudaGraphInstantiate(&ge, g, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(ge, s), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(ge, s), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  for (int v : x.download()) EXPECT_EQ(v, 10);
  cudaGraphExecDestroy(ge);
  cudaGraphDestroy(g);
  cudaStreamDestroy(s);
  expect_clean();
}

TEST(Device, NamesItselfAnEmulator) {
  cudaDeviceProp p;
  ASSERT_EQ(cudaGetDeviceProperties(&p, 0), cudaSuccess);
  EXPECT_NE(std::string(p.name).find("kernels4j CPU emulator (sm_"), std::string::npos);
  EXPECT_EQ(p.major * 100 + p.minor * 10, K4J_EMU_ARCH);
}

// Launch configuration errors are launch errors, as on a GPU.
TEST(Launch, ConfigurationIsChecked) {
  DeviceBuffer<int> out(1);
  k4j::launch("add_kernel", add_kernel, 1, 2048, 0, nullptr, out.p, 1);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  k4j::launch("add_kernel", add_kernel, 1, 32, 64 * 1024, nullptr, out.p, 1);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue) << "more than 48 KiB without cudaFuncSetAttribute";
  expect_clean();
}

}  // namespace
