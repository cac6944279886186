// The CUDA runtime API subset that kernels4j's Java side and launchers use, for the emulated
// device: memory, streams (asynchronous: one worker thread runs all device work in enqueue
// order, a legal CUDA schedule), events timed by the host clock, graph capture and replay,
// device properties. Exported under the runtime's own names, as libkernels4j.so exports its
// statically linked runtime.
#include <sys/mman.h>

#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "emu_internal.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

namespace k4j::emu {

// ---------------------------------------------------------------- options
Options &options() {
  static Options o = [] {
    Options x;
    x.seed = (uint64_t)std::chrono::steady_clock::now().time_since_epoch().count() & 0xffffffffull;
    if (const char *s = getenv("KERNELS4J_EMULATOR_SEED")) x.seed = strtoull(s, nullptr, 10);
    if (const char *s = getenv("KERNELS4J_EMULATOR_SANITIZE")) {
      std::string v = s;
      x.memcheck = v.find("memcheck") != std::string::npos || v == "all";
      x.racecheck = v.find("racecheck") != std::string::npos || v == "all";
      x.initcheck = v.find("initcheck") != std::string::npos || v == "all";
    }
    if (const char *s = getenv("KERNELS4J_EMULATOR_FP8_ACCUM"))
      x.fp8_accum = std::string(s) == "fp32" ? ptx::Fp8Accum::kFp32 : ptx::Fp8Accum::kHopper;
    return x;
  }();
  return o;
}

std::string describe() {
  const Options &o = options();
  std::string san;
  if (o.memcheck) san += "memcheck,";
  if (o.racecheck) san += "racecheck,";
  if (o.initcheck) san += "initcheck,";
  if (san.empty()) san = "none,";
  san.pop_back();
  char buf[256];
  snprintf(buf, sizeof buf, "kernels4j CPU emulator (sm_%d), seed %llu, sanitizers %s, fp8 accumulation %s",
           o.arch / 10, (unsigned long long)o.seed, san.c_str(),
           o.fp8_accum == ptx::Fp8Accum::kHopper ? "hopper" : "fp32");
  return buf;
}

namespace {

thread_local cudaError_t tls_last_error = cudaSuccess;
cudaError_t fail(cudaError_t e) {
  tls_last_error = e;
  return e;
}

// ---------------------------------------------------------------- device description
struct Arch {
  int sms, smem_optin, l2, mem_clock_khz, bus_width;
};
Arch arch_props() {
  switch (options().arch) {
    case 800: return {108, 166912, 40 * 1024 * 1024, 1593000, 5120};  // A100-class
    case 890: return {142, 101376, 96 * 1024 * 1024, 9001000, 384};    // L40S-class
    default: return {132, 232448, 50 * 1024 * 1024, 2619000, 5120};   // H100-class
  }
}
constexpr size_t kTotalMem = 16ull << 30;  // what cudaMemGetInfo reports; allocations are host memory

// ---------------------------------------------------------------- memory map
// Never destroyed: the worker thread may still use them while the process exits.
std::mutex &g_mem_mu = *new std::mutex;
std::map<uintptr_t, Region> &g_regions = *new std::map<uintptr_t, Region>;  // by guard_lo
uint64_t g_region_id = 0;
size_t g_allocated = 0;
std::shared_ptr<const MemoryMap> &g_snapshot = *new std::shared_ptr<const MemoryMap>;

}  // namespace

const Region *MemoryMap::find(uintptr_t a) const {
  size_t lo = 0, hi = regions.size();
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (regions[mid].guard_hi <= a) lo = mid + 1;
    else hi = mid;
  }
  if (lo < regions.size() && regions[lo].guard_lo <= a && a < regions[lo].guard_hi) return &regions[lo];
  return nullptr;
}

void register_region(uintptr_t base, size_t bytes, size_t guard, RegionKind kind) {
  std::lock_guard<std::mutex> g(g_mem_mu);
  g_regions[base - guard] = Region{base, base + bytes, base - guard, base + bytes + guard, kind, ++g_region_id};
  g_snapshot.reset();
}

bool unregister_region(uintptr_t base, RegionKind kind) {
  std::lock_guard<std::mutex> g(g_mem_mu);
  for (auto it = g_regions.begin(); it != g_regions.end(); ++it)
    if (it->second.base == base && it->second.kind == kind) {
      g_regions.erase(it);
      g_snapshot.reset();
      return true;
    }
  return false;
}

std::shared_ptr<const MemoryMap> memory_snapshot() {
  std::lock_guard<std::mutex> g(g_mem_mu);
  if (!g_snapshot) {
    auto m = std::make_shared<MemoryMap>();
    for (auto &kv : g_regions) m->regions.push_back(kv.second);
    g_snapshot = m;
  }
  return g_snapshot;
}

// The region holding [p, p + n), or null (host-side checks of copies).
static const Region *region_of(const void *p, size_t n) {
  std::lock_guard<std::mutex> g(g_mem_mu);
  const uintptr_t a = (uintptr_t)p;
  auto it = g_regions.upper_bound(a);
  if (it == g_regions.begin()) return nullptr;
  --it;
  const Region &r = it->second;
  return (a >= r.base && a + n <= r.end) ? &r : nullptr;
}

// 128-aligned: a CUtensorMap parameter is alignas(128).
void *param_alloc(size_t bytes) { return ::operator new(bytes, std::align_val_t(128)); }
static void param_free(void *p) { ::operator delete(p, std::align_val_t(128)); }

namespace {

// ---------------------------------------------------------------- streams and the worker
struct StreamObj;
struct Op {
  uint64_t seq;
  std::function<void()> run;
};
struct GraphObj {
  std::vector<std::function<void()>> nodes;  // each enqueues its work when the graph is launched
};
struct StreamObj {
  uint64_t last_seq = 0;
  unsigned flags = 0;
  // capture
  GraphObj *capture = nullptr;
  bool capture_invalid = false;
  std::thread::id capture_thread;
  cudaStreamCaptureMode capture_mode = cudaStreamCaptureModeGlobal;
};
struct EventObj {
  unsigned flags = 0;
  uint64_t seq = 0;
  bool recorded = false;
  std::chrono::steady_clock::time_point time{};
};

// Never destroyed (the detached worker waits on them while the process exits).
std::mutex &g_mu = *new std::mutex;  // queue, streams, events, errors
std::condition_variable &g_cv_work = *new std::condition_variable, &g_cv_done = *new std::condition_variable;
std::deque<Op> &g_queue = *new std::deque<Op>;
uint64_t g_next_seq = 0, g_done_seq = 0;
bool g_busy = false;
cudaError_t g_async_error = cudaSuccess;  // the error of device work, delivered at the next sync
std::unordered_set<StreamObj *> &g_streams = *new std::unordered_set<StreamObj *>;
std::unordered_set<EventObj *> &g_events = *new std::unordered_set<EventObj *>;
std::unordered_set<GraphObj *> &g_graphs = *new std::unordered_set<GraphObj *>;
StreamObj g_legacy;  // stream 0
std::unordered_map<const void *, int> &g_func_smem = *new std::unordered_map<const void *, int>;  // cudaFuncAttributeMaxDynamicSharedMemorySize
int g_capturing = 0;

void worker_main() {
  std::unique_lock<std::mutex> lk(g_mu);
  for (;;) {
    g_cv_work.wait(lk, [] { return !g_queue.empty(); });
    Op op = std::move(g_queue.front());
    g_queue.pop_front();
    g_busy = true;
    lk.unlock();
    op.run();
    lk.lock();
    g_busy = false;
    g_done_seq = op.seq;
    g_cv_done.notify_all();
  }
}

void ensure_worker() {
  static std::once_flag once;
  std::call_once(once, [] { std::thread(worker_main).detach(); });
}

StreamObj *stream_of(cudaStream_t s) {
  if (s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread) return &g_legacy;
  return reinterpret_cast<StreamObj *>(s);
}

bool valid_stream(cudaStream_t s) {
  return s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread ||
         g_streams.count(reinterpret_cast<StreamObj *>(s)) != 0;
}

// Device work not yet run is bounded, as a GPU's launch queue is: a host thread that launches in a
// loop waits here instead of queueing without limit (the emulator is far slower than a GPU).
constexpr size_t kMaxQueued = 32;

// Enqueues device work on a stream (or records it into the stream's capture). Caller holds g_mu
// through `lk` (released while waiting for room in the queue).
cudaError_t submit_locked(std::unique_lock<std::mutex> &lk, StreamObj *s, std::function<void()> work) {
  if (s->capture) {
    s->capture->nodes.push_back(std::move(work));
    return cudaSuccess;
  }
  ensure_worker();
  g_cv_done.wait(lk, [] { return g_queue.size() < kMaxQueued; });
  const uint64_t seq = ++g_next_seq;
  s->last_seq = seq;
  g_legacy.last_seq = seq;  // the legacy stream synchronises with every blocking stream
  g_queue.push_back(Op{seq, std::move(work)});
  g_cv_work.notify_one();
  return cudaSuccess;
}

void wait_seq_locked(std::unique_lock<std::mutex> &lk, uint64_t seq) {
  g_cv_done.wait(lk, [seq] { return g_done_seq >= seq; });
}

// A synchronising call made while this thread captures: not allowed (CUDA invalidates the capture).
bool capture_forbids_sync_locked() {
  if (g_capturing == 0) return false;
  bool hit = false;
  for (StreamObj *s : g_streams)
    if (s->capture && (s->capture_mode == cudaStreamCaptureModeGlobal ||
                       s->capture_thread == std::this_thread::get_id())) {
      s->capture_invalid = true;
      hit = true;
    }
  return hit;
}

cudaError_t take_async_error_locked() {
  cudaError_t e = g_async_error;
  g_async_error = cudaSuccess;
  return e;
}

cudaError_t sync_all() {
  std::unique_lock<std::mutex> lk(g_mu);
  if (capture_forbids_sync_locked()) return fail(cudaErrorStreamCaptureUnsupported);
  wait_seq_locked(lk, g_next_seq);
  cudaError_t e = take_async_error_locked();
  return e == cudaSuccess ? e : fail(e);
}

std::string &g_last_report = *new std::string;  // the reports behind the last launch failure (cudaGetErrorString)

}  // namespace

cudaError_t launch(const char *name, const void *func, dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                   LaunchBody *body, size_t body_bytes, dim3 cluster) {
  std::shared_ptr<LaunchBody> owned(body, [](LaunchBody *b) {
    b->~LaunchBody();
    param_free(b);
  });
  const uint64_t threads = (uint64_t)block.x * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.y > 65535 || grid.z > 65535 || grid.x > 0x7fffffffu)
    return fail(cudaErrorInvalidConfiguration);
  // --- Hopper: clusters (cudaLaunchAttributeClusterDimension). Compute capability 9.0 and newer; the
  // grid must be a whole number of clusters and a cluster at most 8 CTAs, the portable size (CUDA
  // programming guide, "Thread Block Clusters"); a misconfigured cluster fails the launch with
  // cudaErrorInvalidClusterSize ("a kernel launch error has occurred due to cluster misconfiguration").
  const uint64_t ctas = (uint64_t)cluster.x * cluster.y * cluster.z;
  if (ctas != 1) {
    if (options().arch < 900) return fail(cudaErrorNotSupported);
    if (ctas == 0 || ctas > 8 || grid.x % cluster.x != 0 || grid.y % cluster.y != 0 || grid.z % cluster.z != 0)
      return fail(cudaErrorInvalidClusterSize);
  }
  {
    std::unique_lock<std::mutex> lk(g_mu);
    auto it = g_func_smem.find(func);
    const size_t limit = it != g_func_smem.end() ? (size_t)it->second : 48 * 1024;
    if (smem > limit) return fail(cudaErrorInvalidValue);
    if (!valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
    std::string kname = name;
    return submit_locked(lk, stream_of(stream), [kname, grid, block, cluster, smem, owned, body_bytes] {
      cudaError_t e = run_launch(kname.c_str(), grid, block, cluster, smem, owned.get(), body_bytes);
      if (e != cudaSuccess) {
        std::string r = take_reports();
        fprintf(stderr, "%s", r.c_str());
        std::lock_guard<std::mutex> g2(g_mu);
        g_last_report = r;
        if (g_async_error == cudaSuccess) g_async_error = e;
      }
    });
  }
}

}  // namespace k4j::emu

using namespace k4j::emu;

// ---------------------------------------------------------------- emulator ABI
EXPORT const char *k4j_emu_info(void) {
  static thread_local std::string s;
  s = describe();
  return s.c_str();
}

EXPORT int k4j_emu_set_option(const char *key, const char *value) {
  if (!key || !value) return 1;
  std::string k = key, v = value;
  Options &o = options();
  if (k == "seed") {
    char *end = nullptr;
    o.seed = strtoull(value, &end, 10);
    return (end && *end == 0 && !v.empty()) ? 0 : 1;
  }
  if (k == "sanitize") {
    o.memcheck = v.find("memcheck") != std::string::npos || v == "all";
    o.racecheck = v.find("racecheck") != std::string::npos || v == "all";
    o.initcheck = v.find("initcheck") != std::string::npos || v == "all";
    return (v == "none" || v == "all" || o.memcheck || o.racecheck || o.initcheck) ? 0 : 1;
  }
  if (k == "fp8Accumulation" || k == "fp8_accum") {
    if (v == "hopper") o.fp8_accum = ptx::Fp8Accum::kHopper;
    else if (v == "fp32") o.fp8_accum = ptx::Fp8Accum::kFp32;
    else return 1;
    return 0;
  }
  return 1;
}

// Reports of the sanitizers not yet delivered (for tests); empties the list.
EXPORT const char *k4j_emu_take_reports(void) {
  static thread_local std::string s;
  std::lock_guard<std::mutex> g(g_mu);
  s = g_last_report + take_reports();
  g_last_report.clear();
  return s.c_str();
}

// ---------------------------------------------------------------- errors
EXPORT cudaError_t cudaGetLastError(void) {
  cudaError_t e = tls_last_error;
  tls_last_error = cudaSuccess;
  return e;
}
EXPORT cudaError_t cudaPeekAtLastError(void) { return tls_last_error; }

static const char *error_name(cudaError_t e) {
  switch (e) {
#define N(x) case x: return #x;
    N(cudaSuccess) N(cudaErrorInvalidValue) N(cudaErrorMemoryAllocation) N(cudaErrorInitializationError)
    N(cudaErrorInvalidConfiguration) N(cudaErrorInvalidDevice) N(cudaErrorInvalidResourceHandle)
    N(cudaErrorNotReady) N(cudaErrorIllegalAddress) N(cudaErrorLaunchFailure) N(cudaErrorNoDevice)
    N(cudaErrorInsufficientDriver) N(cudaErrorStreamCaptureUnsupported) N(cudaErrorStreamCaptureInvalidated)
    N(cudaErrorStreamCaptureWrongThread) N(cudaErrorIllegalState) N(cudaErrorNotSupported)
    N(cudaErrorInvalidDeviceFunction) N(cudaErrorLaunchOutOfResources) N(cudaErrorInvalidMemcpyDirection)
    N(cudaErrorUnknown) N(cudaErrorStreamCaptureImplicit) N(cudaErrorInvalidClusterSize)
#undef N
    default: return "cudaErrorUnknown";
  }
}
static const char *error_text(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureWrongThread: return "attempt to terminate a thread-local capture sequence from another thread";
    case cudaErrorIllegalState: return "the resource is not in a valid state to perform the requested operation";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    default: return "unknown error";
  }
}
EXPORT const char *cudaGetErrorName(cudaError_t e) { return error_name(e); }
EXPORT const char *cudaGetErrorString(cudaError_t e) {
  if (e == cudaErrorLaunchFailure) {
    static thread_local std::string s;
    std::lock_guard<std::mutex> g(g_mu);
    s = "unspecified launch failure (kernels4j CPU emulator";
    if (!g_last_report.empty()) s += ": " + g_last_report.substr(0, g_last_report.find('\n'));
    s += ")";
    return s.c_str();
  }
  return error_text(e);
}

// ---------------------------------------------------------------- device
EXPORT cudaError_t cudaGetDeviceCount(int *count) {
  if (!count) return fail(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}
EXPORT cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice); }
EXPORT cudaError_t cudaGetDevice(int *device) {
  if (!device) return fail(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}
EXPORT cudaError_t cudaDriverGetVersion(int *v) {
  if (!v) return fail(cudaErrorInvalidValue);
  *v = CUDART_VERSION;
  return cudaSuccess;
}
EXPORT cudaError_t cudaRuntimeGetVersion(int *v) {
  if (!v) return fail(cudaErrorInvalidValue);
  *v = CUDART_VERSION;
  return cudaSuccess;
}

EXPORT cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int device) {
  if (!p) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  const Arch a = arch_props();
  std::memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "kernels4j CPU emulator (sm_%d)", options().arch / 10);
  p->totalGlobalMem = kTotalMem;
  p->sharedMemPerBlock = 48 * 1024;
  p->sharedMemPerBlockOptin = (size_t)a.smem_optin;
  p->sharedMemPerMultiprocessor = (size_t)a.smem_optin + 1024;
  p->regsPerBlock = 65536;
  p->regsPerMultiprocessor = 65536;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = 1024;
  p->maxThreadsDim[1] = 1024;
  p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 0x7fffffff;
  p->maxGridSize[1] = 65535;
  p->maxGridSize[2] = 65535;
  p->totalConstMem = 65536;
  p->major = options().arch / 100;
  p->minor = (options().arch / 10) % 10;
  p->multiProcessorCount = a.sms;
  p->l2CacheSize = a.l2;
  p->memoryBusWidth = a.bus_width;
  p->maxThreadsPerMultiProcessor = 2048;
  p->unifiedAddressing = 1;
  p->managedMemory = 0;
  p->concurrentKernels = 1;
  p->asyncEngineCount = 1;
  p->pciBusID = 0;
  return cudaSuccess;
}

EXPORT cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int device) {
  if (!value) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  const Arch a = arch_props();
  switch (attr) {
    case cudaDevAttrComputeCapabilityMajor: *value = options().arch / 100; break;
    case cudaDevAttrComputeCapabilityMinor: *value = (options().arch / 10) % 10; break;
    case cudaDevAttrMultiProcessorCount: *value = a.sms; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = a.smem_optin; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = 48 * 1024; break;
    case cudaDevAttrL2CacheSize: *value = a.l2; break;
    case cudaDevAttrMemoryClockRate: *value = a.mem_clock_khz; break;
    case cudaDevAttrGlobalMemoryBusWidth: *value = a.bus_width; break;
    case cudaDevAttrWarpSize: *value = 32; break;
    case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
    case cudaDevAttrMaxGridDimX: *value = 0x7fffffff; break;
    case cudaDevAttrMaxGridDimY: *value = 65535; break;
    case cudaDevAttrMaxGridDimZ: *value = 65535; break;
    case cudaDevAttrClockRate: *value = 1000000; break;
    case cudaDevAttrUnifiedAddressing: *value = 1; break;
    default: return fail(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

EXPORT cudaError_t cudaFuncSetAttribute(const void *func, cudaFuncAttribute attr, int value) {
  if (!func) return fail(cudaErrorInvalidDeviceFunction);
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaSuccess;  // hints: accepted
  if (value < 0 || value > arch_props().smem_optin) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> g(g_mu);
  g_func_smem[func] = value;
  return cudaSuccess;
}

EXPORT cudaError_t cudaDeviceSynchronize(void) { return sync_all(); }

// ---------------------------------------------------------------- memory
static cudaError_t map_alloc(void **ptr, size_t size, RegionKind kind, uint8_t poison) {
  if (!ptr) return fail(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (size == 0) return cudaSuccess;
  {
    std::lock_guard<std::mutex> g(g_mem_mu);
    if (kind == RegionKind::kDevice && g_allocated + size > kTotalMem) return fail(cudaErrorMemoryAllocation);
  }
  const size_t body = (size + 4095) & ~(size_t)4095;
  const size_t total = body + 2 * kGuardBytes;
  void *m = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return fail(cudaErrorMemoryAllocation);
  uint8_t *base = static_cast<uint8_t *>(m) + kGuardBytes;
  // Fresh device memory holds garbage on a GPU, never zeros: poison it.
  std::memset(base, poison, size);
  register_region((uintptr_t)base, size, kGuardBytes, kind);
  {
    std::lock_guard<std::mutex> g(g_mem_mu);
    if (kind == RegionKind::kDevice) g_allocated += size;
  }
  *ptr = base;
  return cudaSuccess;
}

static cudaError_t map_free(void *ptr, RegionKind kind) {
  if (!ptr) return cudaSuccess;
  size_t size = 0;
  {
    std::lock_guard<std::mutex> g(g_mem_mu);
    bool found = false;
    for (auto &kv : g_regions)
      if (kv.second.base == (uintptr_t)ptr && kv.second.kind == kind) {
        size = kv.second.end - kv.second.base;
        found = true;
        break;
      }
    if (!found) return fail(cudaErrorInvalidValue);
  }
  {
    std::unique_lock<std::mutex> lk(g_mu);  // cudaFree synchronises the device
    if (capture_forbids_sync_locked()) return fail(cudaErrorStreamCaptureUnsupported);
    wait_seq_locked(lk, g_next_seq);
  }
  unregister_region((uintptr_t)ptr, kind);
  {
    std::lock_guard<std::mutex> g(g_mem_mu);
    if (kind == RegionKind::kDevice) g_allocated -= size;
  }
  const size_t body = (size + 4095) & ~(size_t)4095;
  munmap(static_cast<uint8_t *>(ptr) - kGuardBytes, body + 2 * kGuardBytes);
  return cudaSuccess;
}

EXPORT cudaError_t cudaMalloc(void **ptr, size_t size) {
  {
    std::lock_guard<std::mutex> g(g_mu);
    if (capture_forbids_sync_locked()) return fail(cudaErrorStreamCaptureUnsupported);
  }
  return map_alloc(ptr, size, RegionKind::kDevice, 0xFF);
}
EXPORT cudaError_t cudaFree(void *ptr) { return map_free(ptr, RegionKind::kDevice); }
EXPORT cudaError_t cudaMallocHost(void **ptr, size_t size) { return map_alloc(ptr, size, RegionKind::kPinned, 0xFF); }
EXPORT cudaError_t cudaFreeHost(void *ptr) { return map_free(ptr, RegionKind::kPinned); }

EXPORT cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total) {
  if (!free_bytes || !total) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> g(g_mem_mu);
  *total = kTotalMem;
  *free_bytes = kTotalMem - g_allocated;
  return cudaSuccess;
}

// A copy's pointers must lie in memory of the kinds its direction names (a host pointer may be any
// host memory, pinned included; a device pointer must be a whole range of one device allocation).
static cudaError_t check_copy(void *dst, const void *src, size_t n, cudaMemcpyKind kind) {
  if (n == 0) return cudaSuccess;
  if (!dst || !src) return cudaErrorInvalidValue;
  auto device = [n](const void *p) {
    const Region *r = region_of(p, n);
    return r && r->kind == RegionKind::kDevice;
  };
  auto any_device_range = [n](const void *p) { return region_of(p, 1) != nullptr && region_of(p, n) == nullptr; };
  switch (kind) {
    case cudaMemcpyHostToDevice: return device(dst) ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyDeviceToHost: return device(src) ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyDeviceToDevice: return device(dst) && device(src) ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyHostToHost: return cudaSuccess;
    case cudaMemcpyDefault:
      return any_device_range(dst) || any_device_range(src) ? cudaErrorInvalidValue : cudaSuccess;
    default: return cudaErrorInvalidMemcpyDirection;
  }
}

EXPORT cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind kind, cudaStream_t stream) {
  cudaError_t e = check_copy(dst, src, n, kind);
  if (e != cudaSuccess) return fail(e);
  std::unique_lock<std::mutex> lk(g_mu);
  if (!valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  return submit_locked(lk, stream_of(stream), [dst, src, n] { std::memcpy(dst, src, n); });
}

EXPORT cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, cudaMemcpyKind kind) {
  cudaError_t e = check_copy(dst, src, n, kind);
  if (e != cudaSuccess) return fail(e);
  if ((e = sync_all()) != cudaSuccess) return e;  // legacy-stream semantics: after all earlier work
  std::memcpy(dst, src, n);
  return cudaSuccess;
}

static cudaError_t check_set(void *dst, size_t n) {
  if (n == 0) return cudaSuccess;
  const Region *r = region_of(dst, n);
  return r && r->kind == RegionKind::kDevice ? cudaSuccess : cudaErrorInvalidValue;
}

EXPORT cudaError_t cudaMemsetAsync(void *dst, int value, size_t n, cudaStream_t stream) {
  cudaError_t e = check_set(dst, n);
  if (e != cudaSuccess) return fail(e);
  std::unique_lock<std::mutex> lk(g_mu);
  if (!valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  return submit_locked(lk, stream_of(stream), [dst, value, n] { std::memset(dst, value, n); });
}

EXPORT cudaError_t cudaMemset(void *dst, int value, size_t n) {
  cudaError_t e = check_set(dst, n);
  if (e != cudaSuccess) return fail(e);
  if ((e = sync_all()) != cudaSuccess) return e;
  std::memset(dst, value, n);
  return cudaSuccess;
}

// ---------------------------------------------------------------- streams
EXPORT cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int flags) {
  if (!s) return fail(cudaErrorInvalidValue);
  auto *o = new StreamObj();
  o->flags = flags;
  std::lock_guard<std::mutex> g(g_mu);
  g_streams.insert(o);
  *s = reinterpret_cast<cudaStream_t>(o);
  return cudaSuccess;
}
EXPORT cudaError_t cudaStreamCreate(cudaStream_t *s) { return cudaStreamCreateWithFlags(s, cudaStreamDefault); }

EXPORT cudaError_t cudaStreamDestroy(cudaStream_t s) {
  std::unique_lock<std::mutex> lk(g_mu);
  auto *o = reinterpret_cast<StreamObj *>(s);
  if (!g_streams.count(o)) return fail(cudaErrorInvalidResourceHandle);
  // Work already queued completes (it does not refer to the stream object).
  if (o->capture) {
    delete o->capture;
    --g_capturing;
  }
  g_streams.erase(o);
  delete o;
  return cudaSuccess;
}

EXPORT cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  std::unique_lock<std::mutex> lk(g_mu);
  if (!valid_stream(s)) return fail(cudaErrorInvalidResourceHandle);
  StreamObj *o = stream_of(s);
  if (o->capture) {
    o->capture_invalid = true;
    return fail(cudaErrorStreamCaptureUnsupported);
  }
  if (capture_forbids_sync_locked()) return fail(cudaErrorStreamCaptureUnsupported);
  wait_seq_locked(lk, o->last_seq);
  cudaError_t e = take_async_error_locked();
  return e == cudaSuccess ? e : fail(e);
}

EXPORT cudaError_t cudaStreamQuery(cudaStream_t s) {
  std::lock_guard<std::mutex> g(g_mu);
  if (!valid_stream(s)) return fail(cudaErrorInvalidResourceHandle);
  StreamObj *o = stream_of(s);
  if (o->capture) return fail(cudaErrorStreamCaptureUnsupported);
  return g_done_seq >= o->last_seq ? cudaSuccess : cudaErrorNotReady;
}

EXPORT cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t ev, unsigned int flags) {
  (void)flags;
  std::lock_guard<std::mutex> g(g_mu);
  if (!valid_stream(s) || !g_events.count(reinterpret_cast<EventObj *>(ev))) return fail(cudaErrorInvalidResourceHandle);
  // All work runs in enqueue order on one worker: work enqueued after the event's record already
  // runs after it. Nothing to add.
  return cudaSuccess;
}

EXPORT cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode) {
  std::lock_guard<std::mutex> g(g_mu);
  if (s == nullptr || !valid_stream(s)) return fail(cudaErrorStreamCaptureUnsupported);
  StreamObj *o = stream_of(s);
  if (o->capture) return fail(cudaErrorIllegalState);
  o->capture = new GraphObj();
  o->capture_invalid = false;
  o->capture_mode = mode;
  o->capture_thread = std::this_thread::get_id();
  ++g_capturing;
  return cudaSuccess;
}

EXPORT cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *graph) {
  std::lock_guard<std::mutex> g(g_mu);
  if (!graph || !valid_stream(s)) return fail(cudaErrorInvalidValue);
  StreamObj *o = stream_of(s);
  if (!o->capture) return fail(cudaErrorIllegalState);
  if (o->capture_mode == cudaStreamCaptureModeThreadLocal && o->capture_thread != std::this_thread::get_id())
    return fail(cudaErrorStreamCaptureWrongThread);
  GraphObj *gr = o->capture;
  o->capture = nullptr;
  --g_capturing;
  if (o->capture_invalid) {
    delete gr;
    *graph = nullptr;
    return fail(cudaErrorStreamCaptureInvalidated);
  }
  g_graphs.insert(gr);
  *graph = reinterpret_cast<cudaGraph_t>(gr);
  return cudaSuccess;
}

EXPORT cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus *status) {
  std::lock_guard<std::mutex> g(g_mu);
  if (!status || !valid_stream(s)) return fail(cudaErrorInvalidValue);
  StreamObj *o = stream_of(s);
  *status = o->capture ? (o->capture_invalid ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive)
                       : cudaStreamCaptureStatusNone;
  return cudaSuccess;
}

// ---------------------------------------------------------------- graphs
struct GraphExecObj {
  std::vector<std::function<void()>> nodes;
};
static std::unordered_set<GraphExecObj *> &g_execs = *new std::unordered_set<GraphExecObj *>;

EXPORT cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long flags) {
  (void)flags;
  std::lock_guard<std::mutex> g(g_mu);
  auto *gr = reinterpret_cast<GraphObj *>(graph);
  if (!exec || !g_graphs.count(gr)) return fail(cudaErrorInvalidValue);
  auto *x = new GraphExecObj{gr->nodes};
  g_execs.insert(x);
  *exec = reinterpret_cast<cudaGraphExec_t>(x);
  return cudaSuccess;
}

EXPORT cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s) {
  std::unique_lock<std::mutex> lk(g_mu);
  auto *x = reinterpret_cast<GraphExecObj *>(exec);
  if (!g_execs.count(x)) return fail(cudaErrorInvalidResourceHandle);
  if (!valid_stream(s)) return fail(cudaErrorInvalidResourceHandle);
  for (auto &n : x->nodes) submit_locked(lk, stream_of(s), n);
  return cudaSuccess;
}

EXPORT cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  std::lock_guard<std::mutex> g(g_mu);
  auto *x = reinterpret_cast<GraphExecObj *>(exec);
  if (!g_execs.erase(x)) return fail(cudaErrorInvalidResourceHandle);
  delete x;  // queued copies of its nodes keep their launch bodies alive
  return cudaSuccess;
}

EXPORT cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  std::lock_guard<std::mutex> g(g_mu);
  auto *gr = reinterpret_cast<GraphObj *>(graph);
  if (!g_graphs.erase(gr)) return fail(cudaErrorInvalidResourceHandle);
  delete gr;
  return cudaSuccess;
}

// ---------------------------------------------------------------- events
EXPORT cudaError_t cudaEventCreateWithFlags(cudaEvent_t *ev, unsigned int flags) {
  if (!ev) return fail(cudaErrorInvalidValue);
  auto *o = new EventObj();
  o->flags = flags;
  std::lock_guard<std::mutex> g(g_mu);
  g_events.insert(o);
  *ev = reinterpret_cast<cudaEvent_t>(o);
  return cudaSuccess;
}
EXPORT cudaError_t cudaEventCreate(cudaEvent_t *ev) { return cudaEventCreateWithFlags(ev, cudaEventDefault); }

EXPORT cudaError_t cudaEventDestroy(cudaEvent_t ev) {
  std::unique_lock<std::mutex> lk(g_mu);
  auto *o = reinterpret_cast<EventObj *>(ev);
  if (!g_events.count(o)) return fail(cudaErrorInvalidResourceHandle);
  wait_seq_locked(lk, o->seq);  // its record op refers to it
  g_events.erase(o);
  delete o;
  return cudaSuccess;
}

EXPORT cudaError_t cudaEventRecord(cudaEvent_t ev, cudaStream_t s) {
  std::unique_lock<std::mutex> lk(g_mu);
  auto *o = reinterpret_cast<EventObj *>(ev);
  if (!g_events.count(o) || !valid_stream(s)) return fail(cudaErrorInvalidResourceHandle);
  StreamObj *so = stream_of(s);
  if (so->capture) return submit_locked(lk, so, [o] { o->time = std::chrono::steady_clock::now(); });
  o->recorded = true;
  cudaError_t e = submit_locked(lk, so, [o] { o->time = std::chrono::steady_clock::now(); });
  o->seq = g_next_seq;
  return e;
}

EXPORT cudaError_t cudaEventQuery(cudaEvent_t ev) {
  std::lock_guard<std::mutex> g(g_mu);
  auto *o = reinterpret_cast<EventObj *>(ev);
  if (!g_events.count(o)) return fail(cudaErrorInvalidResourceHandle);
  return g_done_seq >= o->seq ? cudaSuccess : cudaErrorNotReady;
}

EXPORT cudaError_t cudaEventSynchronize(cudaEvent_t ev) {
  std::unique_lock<std::mutex> lk(g_mu);
  auto *o = reinterpret_cast<EventObj *>(ev);
  if (!g_events.count(o)) return fail(cudaErrorInvalidResourceHandle);
  if (capture_forbids_sync_locked()) return fail(cudaErrorStreamCaptureUnsupported);
  wait_seq_locked(lk, o->seq);
  cudaError_t e = take_async_error_locked();
  return e == cudaSuccess ? e : fail(e);
}

EXPORT cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end) {
  std::lock_guard<std::mutex> g(g_mu);
  auto *a = reinterpret_cast<EventObj *>(start);
  auto *b = reinterpret_cast<EventObj *>(end);
  if (!ms || !g_events.count(a) || !g_events.count(b)) return fail(cudaErrorInvalidResourceHandle);
  if ((a->flags | b->flags) & cudaEventDisableTiming) return fail(cudaErrorInvalidResourceHandle);
  if (!a->recorded || !b->recorded) return fail(cudaErrorInvalidResourceHandle);
  if (g_done_seq < a->seq || g_done_seq < b->seq) return fail(cudaErrorNotReady);
  *ms = std::chrono::duration<float, std::milli>(b->time - a->time).count();
  return cudaSuccess;
}
