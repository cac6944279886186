// Thread-block clusters on the emulated sm_90 device, against the rules of the PTX ISA (special
// registers %cluster_ctarank / %cluster_nctarank / %clusterid, barrier.cluster, mapa, mbarrier.arrive
// .shared::cluster, cp.async.bulk.tensor .multicast::cluster) and the CUDA programming guide ("Thread
// Block Clusters": the grid is a whole number of clusters of at most 8 CTAs), independent of any
// kernel of the library. The negative controls must be caught. Kernels launched with clusters keep
// their shared memory dynamic (the emulator has one copy of static __shared__ variables).
#include "emu_test_util.h"  // first: GoogleTest, then the emulated device language

#include <cstring>

#include "common/ptx.cuh"
#include "common/shared_memory.cuh"
#include "k4j_tensor_map.h"

using namespace k4j::emu::test;
namespace ptx = k4j::kernels::ptx;

namespace {

// ------------------------------------------------------------------ launch configuration
__global__ void ids_kernel(int *out) {
  if (threadIdx.x != 0) return;
  const int b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  out[4 * b + 0] = (int)ptx::cluster_ctarank();
  out[4 * b + 1] = (int)ptx::cluster_nctarank();
  out[4 * b + 2] = (int)ptx::cluster_id_x();
  out[4 * b + 3] = 1;
}

TEST(Cluster, RanksAndIdsFollowTheSpecialRegisters) {
  struct Case {
    dim3 grid, cluster;
  };
  const Case cases[] = {{dim3(8, 1, 1), dim3(2, 1, 1)}, {dim3(4, 4, 1), dim3(2, 2, 1)}, {dim3(4, 2, 2), dim3(1, 2, 2)},
                        {dim3(6, 2, 1), dim3(1, 1, 1)}, {dim3(8, 1, 1), dim3(8, 1, 1)}};
  for (const Case &c : cases) {
    const int n = (int)(c.grid.x * c.grid.y * c.grid.z);
    DeviceBuffer<int> out(4 * n);
    cudaGetLastError();  // clear what earlier failed launches left
    k4j::launch_cluster("ids_kernel", ids_kernel, c.grid, dim3(32), c.cluster, 0, nullptr, out.p);
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    expect_clean();
    const std::vector<int> o = out.download();
    for (unsigned z = 0; z < c.grid.z; ++z)
      for (unsigned y = 0; y < c.grid.y; ++y)
        for (unsigned x = 0; x < c.grid.x; ++x) {
          const int b = x + c.grid.x * (y + c.grid.y * z);
          // %cluster_ctaid = ctaid mod cluster dims; rank = x + y * nx + z * nx * ny of it.
          const int rank = (int)((x % c.cluster.x) + c.cluster.x * ((y % c.cluster.y) + c.cluster.y * (z % c.cluster.z)));
          EXPECT_EQ(o[4 * b + 3], 1) << "block " << b << " did not run";
          EXPECT_EQ(o[4 * b + 0], rank) << "block " << b;
          EXPECT_EQ(o[4 * b + 1], (int)(c.cluster.x * c.cluster.y * c.cluster.z)) << "block " << b;
          EXPECT_EQ(o[4 * b + 2], (int)(x / c.cluster.x)) << "block " << b;
        }
  }
  // A plain launch is a cluster of one CTA.
  DeviceBuffer<int> out(4 * 3);
  k4j::launch("ids_kernel", ids_kernel, 3, 32, 0, nullptr, out.p);
  expect_clean();
  const std::vector<int> o = out.download();
  for (int b = 0; b < 3; ++b) {
    EXPECT_EQ(o[4 * b + 0], 0);
    EXPECT_EQ(o[4 * b + 1], 1);
    EXPECT_EQ(o[4 * b + 2], b);
  }
}

TEST(Cluster, GridMustBeAWholeNumberOfPortableClusters) {
  DeviceBuffer<int> out(64);
  cudaGetLastError();
  k4j::launch_cluster("ids_kernel", ids_kernel, dim3(3), dim3(32), dim3(2), 0, nullptr, out.p);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidClusterSize) << "grid 3 with clusters of 2";
  k4j::launch_cluster("ids_kernel", ids_kernel, dim3(4, 3), dim3(32), dim3(2, 2), 0, nullptr, out.p);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidClusterSize) << "grid.y 3 with cluster.y 2";
  k4j::launch_cluster("ids_kernel", ids_kernel, dim3(16), dim3(32), dim3(16), 0, nullptr, out.p);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidClusterSize) << "16 CTAs: above the portable 8";
  k4j::launch_cluster("ids_kernel", ids_kernel, dim3(12), dim3(32), dim3(3, 1, 1), 0, nullptr, out.p);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "clusters of 3 are allowed";
  expect_clean();
}

// ------------------------------------------------------------------ barrier.cluster and mapa
// Every thread writes its CTA's buffer, then (barrier.cluster arrive.release / wait.acquire) reads
// a neighbour's value in the next CTA's buffer through mapa. `sync`: 0 = barrier.cluster,
// 1 = __syncthreads only (not ordering across CTAs: a race).
__global__ void exchange_kernel(int sync, int *out) {
  K4J_DYNAMIC_SMEM(int, buf, 16);
  const uint32_t rank = ptx::cluster_ctarank(), n = ptx::cluster_nctarank();
  buf[threadIdx.x] = (int)(1000 * rank + threadIdx.x);
  if (sync == 0) {
    ptx::cluster_arrive();
    out[1024 + blockIdx.x * blockDim.x + threadIdx.x] = 7;  // independent work between arrive and wait
    ptx::cluster_wait();
  } else {
    __syncthreads();
  }
  const int *peer = ptx::mapa_shared(buf, (rank + 1) % n);
  out[blockIdx.x * blockDim.x + threadIdx.x] = peer[(threadIdx.x + 1) % blockDim.x];
  ptx::cluster_sync();  // no CTA exits while a peer may still read its shared memory
}

TEST(Cluster, BarrierOrdersWritesBeforeArriveBeforeReadsAfterWait) {
  for (int n : {2, 4, 8}) {
    DeviceBuffer<int> out(2048);
    k4j::launch_cluster("exchange_kernel", exchange_kernel, dim3(8), dim3(64), dim3(n), 64 * sizeof(int), nullptr, 0,
                        out.p);
    expect_clean();
    const std::vector<int> o = out.download();
    for (int b = 0; b < 8; ++b)
      for (int t = 0; t < 64; ++t) {
        const int rank = b % n, peer = (rank + 1) % n;
        EXPECT_EQ(o[b * 64 + t], 1000 * peer + (t + 1) % 64) << "n " << n << " block " << b << " thread " << t;
      }
  }
}

TEST(Cluster, ReadingAPeersSharedMemoryWithoutAClusterBarrierIsARace) {
  DeviceBuffer<int> out(2048);
  k4j::launch_cluster("exchange_kernel", exchange_kernel, dim3(2), dim3(64), dim3(2), 64 * sizeof(int), nullptr, 1,
                      out.p);
  expect_report("read-after-write hazard");
  // The same with a lagging CTA (the second cluster of a launch): there the reader comes first and
  // reads what its peer has not written yet (initcheck; the writes after it are write-after-read).
  k4j::launch_cluster("exchange_kernel", exchange_kernel, dim3(4), dim3(64), dim3(2), 64 * sizeof(int), nullptr, 1,
                      out.p);
  std::string r;
  EXPECT_EQ(sync(&r), cudaErrorLaunchFailure);
  EXPECT_TRUE(r.find("hazard on shared memory") != std::string::npos ||
              r.find("read of uninitialized shared memory") != std::string::npos)
      << r;
}

// barrier.cluster misuse: a wait without an arrive; a thread that never arrives (waits at
// __syncthreads while the rest of the cluster waits at the cluster barrier): a deadlock report.
__global__ void cluster_misuse_kernel(int which) {
  K4J_DYNAMIC_SMEM(int, buf, 16);
  if (which == 0) {
    ptx::cluster_wait();
  } else if (which == 1) {
    if (ptx::cluster_ctarank() == 1 && threadIdx.x == 0) {
      __syncthreads();
      return;
    }
    ptx::cluster_sync();
  } else if (which == 2) {
    (void)*ptx::mapa_shared(buf, 2);  // the cluster has 2 CTAs
  } else {
    ptx::cluster_arrive();
    ptx::cluster_arrive();
  }
}

TEST(Cluster, BarrierMisuseIsReported) {
  k4j::launch_cluster("cluster_misuse_kernel", cluster_misuse_kernel, dim3(2), dim3(32), dim3(2), 64, nullptr, 0);
  expect_report("without a barrier.cluster.arrive");
  k4j::launch_cluster("cluster_misuse_kernel", cluster_misuse_kernel, dim3(2), dim3(32), dim3(2), 64, nullptr, 1);
  expect_report("waits at barrier.cluster.wait, but 1 live threads of the cluster never arrive");
  k4j::launch_cluster("cluster_misuse_kernel", cluster_misuse_kernel, dim3(2), dim3(32), dim3(2), 64, nullptr, 2);
  expect_report("mapa: CTA rank 2, but the cluster has 2 CTAs");
  k4j::launch_cluster("cluster_misuse_kernel", cluster_misuse_kernel, dim3(2), dim3(32), dim3(2), 64, nullptr, 3);
  expect_report("arrives again before its barrier.cluster.wait");
}

// A CTA reads a peer's shared memory after the peer exited (no closing cluster barrier).
__global__ void exited_peer_kernel(int *out) {
  K4J_DYNAMIC_SMEM(int, buf, 16);
  buf[threadIdx.x] = 1;
  ptx::cluster_sync();
  if (ptx::cluster_ctarank() == 1) return;
  __syncthreads();
  out[threadIdx.x] = *ptx::mapa_shared(&buf[threadIdx.x], 1);
}

TEST(Cluster, AccessToAnExitedPeersSharedMemoryIsReported) {
  DeviceBuffer<int> out(32);
  k4j::launch_cluster("exited_peer_kernel", exited_peer_kernel, dim3(2), dim3(32), dim3(2), 32 * sizeof(int), nullptr,
                      out.p);
  expect_report("whose threads have all exited");
}

__global__ void static_shared_cluster_kernel(int *out) {
  __shared__ int s[32];
  s[threadIdx.x] = (int)threadIdx.x;
  __syncthreads();
  out[blockIdx.x * 32 + threadIdx.x] = s[(threadIdx.x + 1) % 32];
}

TEST(Cluster, StaticSharedMemoryInAClusterIsReported) {
  DeviceBuffer<int> out(64);
  k4j::launch_cluster("static_shared_cluster_kernel", static_shared_cluster_kernel, dim3(2), dim3(32), dim3(2), 0,
                      nullptr, out.p);
  expect_report("static shared memory");
  k4j::launch("static_shared_cluster_kernel", static_shared_cluster_kernel, 2, 32, 0, nullptr, out.p);
  expect_clean();  // without clusters it is fine
}

// ------------------------------------------------------------------ remote mbarrier arrivals
// Each CTA's mbarrier expects 32 * (n - 1) + extra arrivals; lane l of warp 0 of every CTA writes
// its value into each peer's buffer (distributed shared memory) and then arrives on that peer's
// barrier (release); each CTA waits on its own barrier (acquire) and reads what the peers wrote.
__global__ void remote_arrive_kernel(int extra, int *out) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 16);
  uint64_t *bar = reinterpret_cast<uint64_t *>(smem);
  int *buf = reinterpret_cast<int *>(smem + 64);  // [source rank][lane]
  const uint32_t rank = ptx::cluster_ctarank(), n = ptx::cluster_nctarank();
  if (threadIdx.x == 0) {
    ptx::mbarrier_init(bar, 32 * (n - 1) + extra);
    ptx::fence_mbarrier_init();
  }
  ptx::cluster_sync();  // every barrier initialised before a peer arrives on it
  if (threadIdx.x < 32) {
    for (uint32_t p = 0; p < n; ++p) {
      if (p == rank) continue;
      ptx::mapa_shared(buf, p)[rank * 32 + threadIdx.x] = (int)(100 * rank + threadIdx.x);
      ptx::mbarrier_arrive_cluster(bar, p);
    }
  }
  ptx::mbarrier_wait_parity(bar, 0);
  for (uint32_t i = threadIdx.x; i < n * 32; i += blockDim.x)
    out[blockIdx.x * 256 + i] = i / 32 == rank ? -1 : buf[i];
  ptx::cluster_sync();
}

TEST(Cluster, RemoteMbarrierArrivalsCountOnThePeersBarrierAndOrderItsReads) {
  for (int n : {2, 4}) {
    DeviceBuffer<int> out(8 * 256);
    k4j::launch_cluster("remote_arrive_kernel", remote_arrive_kernel, dim3(8), dim3(64), dim3(n), 64 + 8 * 32 * 4,
                        nullptr, 0, out.p);
    expect_clean();
    const std::vector<int> o = out.download();
    for (int b = 0; b < 8; ++b)
      for (int i = 0; i < n * 32; ++i) {
        const int src = i / 32, rank = b % n;
        EXPECT_EQ(o[b * 256 + i], src == rank ? -1 : 100 * src + i % 32) << "n " << n << " block " << b << " " << i;
      }
  }
  // One arrival more expected than the peers make: the phase never completes.
  DeviceBuffer<int> out(8 * 256);
  k4j::launch_cluster("remote_arrive_kernel", remote_arrive_kernel, dim3(2), dim3(64), dim3(2), 64 + 8 * 32 * 4,
                      nullptr, 1, out.p);
  expect_report("1 of 33 arrivals missing");
}

// ------------------------------------------------------------------ TMA multicast
// An 8 x 64 FP32 tensor region per box (box 8 cols x 16 rows = 512 bytes, no swizzle).
constexpr uint32_t kBoxBytes = 8 * 16 * 4;

CUtensorMap box_map(const float *t, uint64_t rows) {
  CUtensorMap m;
  EXPECT_EQ(k4j::make_tensor_map_2d(&m, k4j::TmaType::kFp32, t, 8, rows, 8 * 4, 8, 16, k4j::TmaSwizzle::kNone), K4J_OK);
  return m;
}

// Slot 0 (bytes [0, 512)): rank 0 multicasts box rows [64, 80) to the CTAs of `mask`. Slot 1
// ([512, 1024)): every CTA loads its own box, rows [16 r, 16 r + 16). Each CTA's mbarrier expects its
// own box plus, if its rank is in the mask and `expect_multicast`, the multicast box. A CTA outside
// the mask fills slot 0 with a sentinel first, which must survive. Each CTA copies both slots out.
__global__ void multicast_kernel(const __grid_constant__ CUtensorMap map, uint16_t mask, int expect_multicast,
                                 float *out) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  float *slot = reinterpret_cast<float *>(smem);
  uint64_t *bar = reinterpret_cast<uint64_t *>(smem + 2 * kBoxBytes);
  const uint32_t rank = ptx::cluster_ctarank();
  const bool dest = (mask >> rank) & 1;
  if (!dest)
    for (uint32_t i = threadIdx.x; i < kBoxBytes / 4; i += blockDim.x) slot[i] = -5.f;
  if (threadIdx.x == 0) {
    ptx::mbarrier_init(bar, 1);
    ptx::fence_mbarrier_init();
  }
  ptx::cluster_sync();  // the destination barriers are initialised before the multicast is issued
  if (threadIdx.x == 0) {
    ptx::mbarrier_arrive_expect_tx(bar, kBoxBytes + (dest && expect_multicast ? kBoxBytes : 0));
    if (rank == 0) ptx::tma_load_2d_multicast(smem, &map, bar, mask, 0, 64);
    ptx::tma_load_2d(smem + kBoxBytes, &map, bar, 0, 16 * (int)rank);
  }
  ptx::mbarrier_wait_parity(bar, 0);
  for (uint32_t i = threadIdx.x; i < 2 * kBoxBytes / 4; i += blockDim.x) out[blockIdx.x * 256 + i] = slot[i];
  ptx::cluster_sync();
}

TEST(Cluster, MulticastLandsInEveryMaskedCtaAndCountsItsBytesOnEachBarrier) {
  std::vector<float> h(8 * 80);
  for (size_t i = 0; i < h.size(); ++i) h[i] = (float)i;
  DeviceBuffer<float> t(h.size());
  t.upload(h);
  const CUtensorMap map = box_map(t.p, 80);
  for (uint16_t mask : {(uint16_t)0xB, (uint16_t)0xF, (uint16_t)0x1, (uint16_t)0x4}) {
    DeviceBuffer<float> out(4 * 256);
    k4j::launch_cluster("multicast_kernel", multicast_kernel, dim3(4), dim3(64), dim3(4), 2 * kBoxBytes + 64, nullptr,
                        map, mask, 1, out.p);
    expect_clean();
    const std::vector<float> o = out.download();
    for (int r = 0; r < 4; ++r) {
      const bool dest = (mask >> r) & 1;
      for (int i = 0; i < 128; ++i) {
        EXPECT_EQ(o[r * 256 + i], dest ? h[64 * 8 + i] : -5.f) << "mask " << mask << " rank " << r << " slot 0 " << i;
        EXPECT_EQ(o[r * 256 + 128 + i], h[16 * r * 8 + i]) << "mask " << mask << " rank " << r << " slot 1 " << i;
      }
    }
  }
}

// A destination barrier that did not expect the multicast's bytes: its tx-count reaches zero with
// the first box that lands, so the phase completes while the other box is still in flight (the
// PTX ISA's phase completion: pending arrivals and tx-count both zero), and the consumer reads it.
TEST(Cluster, MulticastIntoABarrierThatDidNotExpectItIsReported) {
  DeviceBuffer<float> t(8 * 80), out(4 * 256);
  t.upload(std::vector<float>(8 * 80, 1.f));
  const CUtensorMap map = box_map(t.p, 80);
  k4j::launch_cluster("multicast_kernel", multicast_kernel, dim3(2), dim3(64), dim3(2), 2 * kBoxBytes + 64, nullptr,
                      map, (uint16_t)0x3, 0, out.p);
  expect_report("is in flight: wait for the mbarrier phase first");
  // A mask naming a rank the cluster does not have.
  k4j::launch_cluster("multicast_kernel", multicast_kernel, dim3(2), dim3(64), dim3(2), 2 * kBoxBytes + 64, nullptr,
                      map, (uint16_t)0x5, 1, out.p);
  expect_report("names a CTA rank the cluster (2 CTAs) does not have");
}

// The same bug when the multicast's bytes land before the destination CTA arrives: its tx-count is
// negative when the arrival comes, so the phase never completes (a deadlock report naming the
// negative tx-count). Rank 1's thread 0 arrives only after rank 0's own load landed (rank 0 then
// releases it through a remote arrival on a second barrier). Which of the two loads in flight lands
// first is drawn from the seed: the other order is the early completion above (racecheck).
__global__ void late_arrival_kernel(const __grid_constant__ CUtensorMap map, float *out) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  uint64_t *bar = reinterpret_cast<uint64_t *>(smem + 2 * kBoxBytes);
  uint64_t *go = bar + 1;
  const uint32_t rank = ptx::cluster_ctarank();
  if (threadIdx.x == 0) {
    ptx::mbarrier_init(bar, 1);
    ptx::mbarrier_init(go, 1);
    ptx::fence_mbarrier_init();
  }
  ptx::cluster_sync();
  if (rank == 0) {
    if (threadIdx.x == 0) {
      ptx::mbarrier_arrive_expect_tx(bar, kBoxBytes);
      ptx::tma_load_2d_multicast(smem, &map, bar, 0x2, 0, 0);  // to rank 1 only
      ptx::tma_load_2d(smem + kBoxBytes, &map, bar, 0, 16);
    }
    ptx::mbarrier_wait_parity(bar, 0);
    if (threadIdx.x == 0) ptx::mbarrier_arrive_cluster(go, 1);
  } else {
    if (threadIdx.x == 0) {
      ptx::mbarrier_wait_parity(go, 0);
      ptx::mbarrier_arrive(bar);  // expects no bytes: the multicast already landed (tx-count -512)
    }
    ptx::mbarrier_wait_parity(bar, 0);
  }
  out[blockIdx.x * 64 + threadIdx.x] = reinterpret_cast<const float *>(smem + (rank == 0 ? kBoxBytes : 0))[threadIdx.x];
  ptx::cluster_sync();
}

TEST(Cluster, MulticastLandingBeforeAnArrivalThatDidNotExpectItIsADeadlock) {
  DeviceBuffer<float> t(8 * 80), out(2 * 64);
  t.upload(std::vector<float>(8 * 80, 1.f));
  const CUtensorMap map = box_map(t.p, 80);
  int deadlocks = 0;
  for (int run = 0; run < 16; ++run) {  // each order has probability 1/2 per run
    k4j::launch_cluster("late_arrival_kernel", late_arrival_kernel, dim3(2), dim3(64), dim3(2), 2 * kBoxBytes + 64,
                        nullptr, map, out.p);
    std::string r;
    EXPECT_EQ(sync(&r), cudaErrorLaunchFailure);
    const bool deadlock = r.find("tx-count -512 (negative: complete-tx of bytes no expect-tx announced") != std::string::npos;
    EXPECT_TRUE(deadlock || r.find("is in flight: wait for the mbarrier phase first") != std::string::npos) << r;
    deadlocks += deadlock;
  }
  EXPECT_GT(deadlocks, 0) << "the landing-first order never came up in 16 runs";
}

// The shared operand split between the two CTAs of a cluster: each loads one half of the box and
// multicasts it to both, so each CTA's barrier receives both halves (2 x 256 bytes).
__global__ void split_multicast_kernel(const __grid_constant__ CUtensorMap half_map, float *out) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  uint64_t *bar = reinterpret_cast<uint64_t *>(smem + kBoxBytes);
  const uint32_t rank = ptx::cluster_ctarank();
  if (threadIdx.x == 0) {
    ptx::mbarrier_init(bar, 1);
    ptx::fence_mbarrier_init();
  }
  ptx::cluster_sync();
  if (threadIdx.x == 0) {
    ptx::mbarrier_arrive_expect_tx(bar, kBoxBytes);  // both halves
    ptx::tma_load_2d_multicast(smem + rank * (kBoxBytes / 2), &half_map, bar, 0x3, 0,
                               (int)(16 * ptx::cluster_id_x() + 8 * rank));
  }
  ptx::mbarrier_wait_parity(bar, 0);
  const float *f = reinterpret_cast<const float *>(smem);
  for (uint32_t i = threadIdx.x; i < kBoxBytes / 4; i += blockDim.x) out[blockIdx.x * 128 + i] = f[i];
  ptx::cluster_sync();
}

TEST(Cluster, EachCtaLoadsHalfTheSharedOperandAndMulticastsIt) {
  std::vector<float> h(8 * 64);
  for (size_t i = 0; i < h.size(); ++i) h[i] = (float)(3 * i + 1);
  DeviceBuffer<float> t(h.size()), out(8 * 128);
  t.upload(h);
  CUtensorMap half;
  ASSERT_EQ(k4j::make_tensor_map_2d(&half, k4j::TmaType::kFp32, t.p, 8, 64, 8 * 4, 8, 8, k4j::TmaSwizzle::kNone),
            K4J_OK);
  k4j::launch_cluster("split_multicast_kernel", split_multicast_kernel, dim3(8), dim3(64), dim3(2), kBoxBytes + 64,
                      nullptr, half, out.p);
  expect_clean();
  const std::vector<float> o = out.download();
  for (int b = 0; b < 8; ++b)
    for (int i = 0; i < 128; ++i) EXPECT_EQ(o[b * 128 + i], h[(b / 2) * 128 + i]) << "block " << b << " " << i;
}

}  // namespace
