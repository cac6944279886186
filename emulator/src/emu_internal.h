// Internal state of the CPU emulator: the device, its memory map, the running launch and block.
#pragma once
#include <boost/context/detail/fcontext.hpp>
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "k4j_emu/runtime.h"

namespace k4j::emu {

namespace ctx = boost::context::detail;

// ---- options (k4j_emu_set_option / KERNELS4J_EMULATOR_* environment variables)
struct Options {
  int arch = K4J_EMU_ARCH;  // fixed per library: 800, 890 or 900
  uint64_t seed = 0;        // block order and poison patterns
  bool memcheck = true, racecheck = true, initcheck = true;
  ptx::Fp8Accum fp8_accum = ptx::Fp8Accum::kHopper;
};
Options &options();
std::string describe();  // "kernels4j CPU emulator (sm_90), seed ..., sanitizers ..."

// ---- memory map: what a kernel may touch
enum class RegionKind : uint8_t { kDevice, kPinned };
struct Region {
  uintptr_t base, end;  // usable bytes [base, end)
  uintptr_t guard_lo, guard_hi;  // guard zones around it: [guard_lo, base) and [end, guard_hi)
  RegionKind kind;
  uint64_t id;
};
constexpr size_t kGuardBytes = 4096;
// A sorted copy of the memory map, taken when a launch starts (cudaFree synchronises the device, so
// no region a running kernel may use goes away while it runs).
struct MemoryMap {
  std::vector<Region> regions;
  const Region *find(uintptr_t a) const;  // the region whose guarded span holds a, or null
};
std::shared_ptr<const MemoryMap> memory_snapshot();
void register_region(uintptr_t base, size_t bytes, size_t guard, RegionKind kind);
bool unregister_region(uintptr_t base, RegionKind kind);

// ---- sanitizer reports
enum class Check { kMemcheck, kRacecheck, kInitcheck, kSync };
// Records a report about the running launch. fatal: the access cannot be performed safely; the
// launch is abandoned (the calling fiber does not return).
void report(Check check, bool fatal, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
// Reports of finished launches not yet delivered to the host through an error.
std::string take_reports();
// The Hopper instructions (wgmma, TMA, mbarrier, clusters) exist only on the emulated sm_90.
inline void require_sm90(const char *what) {
  if (options().arch < 900)
    report(Check::kSync, true, "%s needs sm_90 (sm_90a); the emulated device is sm_%d", what, options().arch / 10);
}

// ---- the running block: threads as fibers
constexpr int kWarpSize = 32;
enum class ThreadState : uint8_t {
  kRunnable,
  kAtBarrier,
  kAtWarp,
  kExited,
  kAtMbarrier,      // Hopper: in mbarrier.try_wait for a phase that has not completed (mbarrier.cpp)
  kAtNamedBarrier,  // Hopper: at bar.sync of a named barrier (wgmma.cpp)
  kAtCluster,       // Hopper: in barrier.cluster.wait for a phase that has not completed (cluster.cpp)
};
enum class WarpOpKind : uint8_t {
  kNone, kSyncwarp, kShfl, kVote, kMatch, kLdmatrix, kMma,
  kElect, kWgmma, kSetmaxnreg  // Hopper (wgmma.cpp): elect.sync per warp, the other two per warpgroup
};

struct PendingCopy {
  uint8_t *dst;
  const uint8_t *src;
  int src_bytes;
};

// --- Hopper: wgmma (wgmma.cpp): a thread's wgmma.mma_async operations (ids) not yet retired.
struct WgmmaThread {
  std::vector<uint32_t> open;                   // issued, not committed
  std::vector<std::vector<uint32_t>> groups;    // committed wgmma-groups, oldest first
  std::vector<std::pair<float *, uint32_t>> chained;  // accumulator array -> newest pending op on it
  std::vector<std::pair<float *, std::vector<float>>> retired;  // what wait_group last wrote there
  bool fenced = false;       // a wgmma.fence since the last wgmma.wait_group
  bool ever_fenced = false;  // a wgmma.fence since the thread started
};

struct Thread {
  ctx::fcontext_t fctx = nullptr;  // the fiber, while suspended
  uint8_t *stack_lo = nullptr, *stack_hi = nullptr;
  uint3 tid{};
  int linear = 0, lane = 0, warp = 0;
  // Cluster-wide thread index: rank * threads per CTA + linear (== linear in a cluster of one CTA).
  // The per-thread state of the mbarrier/TMA emulation and the racecheck ids use it.
  int gid = 0;
  // barrier.cluster (cluster.cpp): arrived and not yet waited; the cluster phase it arrived in
  bool cluster_arrived = false;
  uint64_t cluster_arrive_phase = 0;
  ThreadState state = ThreadState::kRunnable;
  // the warp operation this thread waits in
  WarpOpKind op = WarpOpKind::kNone;
  unsigned mask = 0;
  int op_arg = 0, op_arg2 = 0;
  const void *op_in = nullptr;
  void *op_out = nullptr;
  uint64_t op_value = 0;
  // cp.async: copies of the open group, then committed groups (oldest first)
  std::vector<PendingCopy> open_group;
  std::vector<std::vector<PendingCopy>> groups;
  // racecheck: the warp synchronisation epoch this thread has seen
  uint32_t warp_epoch = 0;
  WgmmaThread wg;  // --- Hopper: wgmma
};

struct Block {
  uint3 idx{};
  int rank = 0;         // %cluster_ctarank
  uint32_t serial = 0;  // sanitizer shadow generation of this block (sanitizer.cpp)
  bool exited = false;  // every thread exited (its shared memory is gone for the cluster's peers)
  dim3 dim{};
  int nthreads = 0;
  std::vector<Thread> threads;
  uint8_t *dyn = nullptr;  // dynamic shared memory arena, exactly dyn_bytes
  size_t dyn_bytes = 0;
  uint32_t barrier_epoch = 0;
  std::vector<uint32_t> warp_epochs;
};

// --- Hopper: clusters (cluster.cpp). The CTAs of one cluster run together: their threads
// interleave, so barrier.cluster, remote mbarrier arrivals and multicast can make progress. A
// launch without a cluster dimension is a cluster of one CTA per block (the same path).
struct Cluster {
  dim3 dim{1, 1, 1};     // %cluster_nctaid
  uint3 id{};            // %clusterid
  std::vector<Block *> blocks;  // by rank
  int threads_per_block = 0;
  uint64_t phase = 0;    // barrier.cluster phases completed
  uint32_t epoch = 0;    // racecheck: barrier.cluster completions (orders accesses across CTAs)
  int size() const { return (int)blocks.size(); }
  int total_threads() const { return threads_per_block * size(); }
  Thread &thread(int gid) const { return blocks[gid / threads_per_block]->threads[gid % threads_per_block]; }
  Block &block_of(int gid) const { return *blocks[gid / threads_per_block]; }
};

struct Launch {
  std::string name;
  dim3 grid{}, block{};
  dim3 cluster{1, 1, 1};
  size_t smem = 0;
  std::shared_ptr<const MemoryMap> map;
  bool aborted = false;
  int reports = 0;
  const uint8_t *param_lo = nullptr, *param_hi = nullptr;  // the launch body (parameter space)
};

// The launch and block being executed, and the running thread (only the worker thread runs them).
const char *state_name(ThreadState s);  // for deadlock reports (scheduler.cpp)
Launch *current_launch();
Block *current_block();
Thread *current_thread();
Cluster *current_cluster();
// The scheduler's current block, for emulator code acting on behalf of a CTA outside its fibers
// (a TMA load landing in a destination CTA): returns the previous one.
Block *set_current_block(Block *b);
// The CTA of the running cluster whose dynamic shared memory holds [p, p + n), or null.
Block *cluster_shared_block(const void *p, size_t n);
extern thread_local bool tls_in_kernel;

// Runs one launch to completion on the calling (worker) thread. Returns cudaSuccess or the error
// the launch ended with (cudaErrorLaunchFailure after a sanitizer report).
cudaError_t run_launch(const char *name, dim3 grid, dim3 block, dim3 cluster, size_t smem, LaunchBody *body,
                       size_t body_bytes);

// ---- shared-memory sanitizer state (sanitizer.cpp)
void shared_reset(Block &b);  // poison and forget everything at block start
// record_read false: a read checked (initcheck, read-after-write) but not remembered for
// write-after-read checks (wgmma's reads, whose end wgmma.cpp tracks itself).
void shared_access(Thread &t, const uint8_t *p, size_t n, bool write, bool atomic, bool record_read = true);
bool is_shared(const void *p, size_t n);  // fully inside static or dynamic shared memory
void check_global(const void *p, size_t n, bool write, const char *what);
void pending_flush(Thread &t);  // settle a deferred same-value write check

// --- Hopper: wgmma (wgmma.cpp) hooks into the scheduler
unsigned elect_lane(unsigned mask);       // elect.sync over mask: the elected lane (scheduler.cpp)
void hopper_block_reset(Block &b);        // at the start of every block
bool hopper_diagnose_deadlock(Block &b);  // true when it reported why the block cannot go on
const char *hopper_op_name(WarpOpKind k);
// Racecheck of a shared write against the wgmma ops in flight; t null: the async proxy (a TMA load).
void hopper_shared_write(Thread *t, const uint8_t *p, size_t n);

// static shared memory: the device code module's data segment (see sanitizer.cpp)
uint8_t *static_shared_begin();
uint8_t *static_shared_end();

// ---- Hopper: TMA and mbarrier (mbarrier.cpp, tma.cpp; hooks called by scheduler.cpp/sanitizer.cpp)
// Per cluster (a single CTA is a cluster of one); per-thread state is indexed by Thread::gid.
void hopper_tma_block_begin(Cluster &c);  // forget the previous cluster's barriers and copies
void hopper_tma_block_end(Cluster &c);    // bulk stores still pending are performed
// No thread of the cluster can run: the TMA loads in flight into one mbarrier (drawn from the seed)
// land now. True if any did (the scheduler tries again), false if none was in flight.
bool hopper_tma_progress(Cluster &c);
// Deadlock report when threads wait on mbarriers whose phase cannot complete; false if none does.
bool mbarrier_diagnose_deadlock(Cluster &c);
// --- Hopper: clusters (cluster.cpp): barrier.cluster completion (called by the scheduler after each
// round; true if a phase completed) and its deadlock report.
bool cluster_barrier_progress(Cluster &c);
bool cluster_diagnose_deadlock(Cluster &c);
void mbarrier_complete_tx(uint64_t *bar, uint32_t bytes);  // a TMA load's complete-tx
void suspend_current_thread();  // back to the scheduler until the thread is made runnable again
// Shared-memory ranges a TMA copy has in flight: a generic access to them is a hazard (sanitizer).
extern int g_async_ranges;
void async_shared_check(Thread &t, const uint8_t *p, size_t n, bool write);
// The async proxy wrote [p, p + n): initialised, ordered by the mbarrier wait (not a generic race).
void shared_async_write(const uint8_t *p, size_t n);
// Racecheck of generic accesses ordered by mbarrier arrive (release) -> wait (acquire): each thread
// has a clock, advanced at its arrivals; an access recorded at clock c of thread w is ordered before
// thread r's access once r observed the completion of a phase that w arrived on at clock >= c.
uint32_t mbarrier_clock(int thread);  // 0 when the block uses no mbarrier
bool ordered_by_mbarrier(int reader, int writer, uint32_t writer_clock);
// A barrier among `threads` (__syncwarp; a named barrier would do the same): each leaves knowing
// every participant's clock and what they had acquired.
void sync_clocks_merge(const int *threads, int count);
// Cross-proxy ordering (PTX ISA "Proxies" / fence.proxy.async): generic writes of shared memory that
// the async proxy (a TMA store, a wgmma operand) reads must be followed, in the writing thread, by
// fence.proxy.async. proxy_fence_count(t) counts thread t's fences; async_proxy_read reports the
// first byte of [p, p + n) whose generic writer has not fenced since writing it.
uint32_t proxy_fence_count(int thread);
void async_proxy_read(const uint8_t *p, size_t n, const char *what);

}  // namespace k4j::emu
