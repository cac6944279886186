// The emulator's sanitizers, in the role of compute-sanitizer's memcheck, racecheck and initcheck.
// Kernels and launchers are compiled with -fsanitize=kernel-address and calls for every access
// (--param asan-instrumentation-with-call-threshold=0): each load and store of device code comes
// here as __asan_{load,store}N_noabort(address). Outside a kernel (launcher code on a host thread)
// the calls return at once.
#include <cstdarg>
#include <cstring>

#include "emu_internal.h"

#include <link.h>

namespace k4j::emu {

bool in_fiber_stack(const void *p);
[[noreturn]] void abandon_launch();

namespace {

// Static __shared__ variables are function-local statics of the device code (k4j_emu/device.h), so
// they live in the writable data segment of the module that holds the device code. No other
// writable global of that module is touched by device code (the runtime's own state is read by
// uninstrumented code only), so a device-code access into that segment is a static shared access.
struct Segment {
  uint8_t *lo = nullptr, *hi = nullptr;
};
Segment find_data_segment() {
  Segment seg;
  dl_iterate_phdr(
      [](dl_phdr_info *info, size_t, void *out) {
        const uintptr_t me = (uintptr_t)&find_data_segment;
        bool mine = false;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          const uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
          if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && me >= lo && me < lo + ph.p_memsz) mine = true;
        }
        if (!mine) return 0;
        Segment *s = static_cast<Segment *>(out);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          if (ph.p_type == PT_LOAD && (ph.p_flags & PF_W)) {
            uint8_t *lo = reinterpret_cast<uint8_t *>(info->dlpi_addr + ph.p_vaddr);
            if (!s->lo || lo < s->lo) s->lo = lo;
            if (lo + ph.p_memsz > s->hi) s->hi = lo + ph.p_memsz;
          }
        }
        return 1;
      },
      &seg);
  return seg;
}
const Segment &data_segment() {
  static const Segment seg = find_data_segment();
  return seg;
}

}  // namespace

uint8_t *static_shared_begin() { return data_segment().lo; }
uint8_t *static_shared_end() { return data_segment().hi; }

namespace {

// Per byte of shared memory: whether it was written since the launch (initcheck), and the last
// conflicting accesses since the last barrier (racecheck).
constexpr uint16_t kNobody = 0xffff;
struct ByteShadow {
  uint32_t block;    // the block (serial) these records belong to; older ones are stale
  uint32_t w_epoch;  // the writer's CTA's barrier epoch + 1 at the last write (0: never written in this block)
  uint32_t r_epoch;  // the reader's CTA's barrier epoch + 1 at the last read
  uint32_t w_warp_epoch, r_warp_epoch;
  uint32_t w_cepoch, r_cepoch;  // --- Hopper: clusters: the cluster barrier epoch + 1 at the access
  uint16_t writer, reader;  // thread ids: Thread::gid, cluster-wide (kNobody)
  bool reader_many, w_atomic, initialized;
  uint32_t w_clock, r_clock;  // the writer's / reader's mbarrier clock (mbarrier.cpp)
  uint32_t w_fence;           // the writer's fence.proxy.async count when it wrote (tma.cpp)
};
std::vector<ByteShadow> g_static_shadow;
std::vector<std::vector<ByteShadow>> g_dyn_shadow;  // per CTA rank of the cluster
uint32_t g_block_serial = 0;

std::mutex &g_reports_mu = *new std::mutex;
std::string &g_reports = *new std::string;  // reports not yet delivered

ByteShadow *shadow_of(const uint8_t *p) {
  Block *b = current_block();
  ByteShadow *s = nullptr;
  uint32_t serial = b ? b->serial : 0;
  if (p >= static_shared_begin() && p < static_shared_end()) {
    s = &g_static_shadow[p - static_shared_begin()];
  } else if (b && p >= b->dyn && p < b->dyn + b->dyn_bytes) {
    s = &g_dyn_shadow[b->rank][p - b->dyn];
  } else if (Block *o = cluster_shared_block(p, 1)) {  // a peer CTA's shared memory: its shadow
    s = &g_dyn_shadow[o->rank][p - o->dyn];
    serial = o->serial;
  }
  if (s && s->block != serial)
    *s = ByteShadow{serial, 0, 0, 0, 0, 0, 0, kNobody, kNobody, false, false, false, 0, 0, 0};
  return s;
}

// The same-value write of a racing WAW pair: settled when the store has happened.
struct PendingWaw {
  const uint8_t *p = nullptr;
  size_t n = 0;
  uint8_t before[16];
  int other = 0;
};
PendingWaw g_pending;

bool same_cta(const Thread &t, uint16_t other) {
  return other / (uint32_t)current_cluster()->threads_per_block == t.gid / (uint32_t)current_cluster()->threads_per_block;
}

bool ordered_by_warp(const Thread &t, uint16_t other, uint32_t other_warp_epoch) {
  if (!same_cta(t, other)) return false;
  const Block &b = current_cluster()->block_of(t.gid);
  const Thread &o = current_cluster()->thread(other);
  return o.warp == t.warp && other_warp_epoch != b.warp_epochs[t.warp];
}

// Whether an access of `other` recorded at (CTA epoch, cluster epoch) falls in t's current barrier
// interval: __syncthreads orders threads of one CTA, barrier.cluster (which also ends every CTA's
// interval) threads of different CTAs.
bool same_interval(const Thread &t, uint16_t other, uint32_t epoch, uint32_t cepoch) {
  if (same_cta(t, other)) return epoch == current_cluster()->block_of(t.gid).barrier_epoch + 1;
  return cepoch == current_cluster()->epoch + 1;
}

}  // namespace

void shared_reset(Block &b) {
  // Shared memory is not zero at launch on a GPU: poison the dynamic arena so a kernel relying on
  // zeros fails; static shared variables keep what the previous block left (garbage for this one),
  // and initcheck reports any read of a byte this block did not write, in both.
  if (b.dyn_bytes) std::memset(b.dyn, 0xA5, b.dyn_bytes);
  b.serial = ++g_block_serial;  // every shadow record of earlier blocks becomes stale
  const size_t ns = (size_t)(static_shared_end() - static_shared_begin());
  if (g_static_shadow.size() != ns) g_static_shadow.assign(ns, ByteShadow{});
  if (g_dyn_shadow.size() <= (size_t)b.rank) g_dyn_shadow.resize(b.rank + 1);
  if (g_dyn_shadow[b.rank].size() < b.dyn_bytes) g_dyn_shadow[b.rank].resize(b.dyn_bytes, ByteShadow{});
  g_pending = PendingWaw{};
}

bool is_shared(const void *p, size_t n) {
  const uint8_t *a = static_cast<const uint8_t *>(p);
  Block *b = current_block();
  if (a >= static_shared_begin() && a + n <= static_shared_end()) return true;
  return b && a >= b->dyn && a + n <= b->dyn + b->dyn_bytes;
}

void pending_flush(Thread &t) {
  (void)t;
  if (!g_pending.p) return;
  if (std::memcmp(g_pending.p, g_pending.before, g_pending.n) != 0)
    report(Check::kRacecheck, false,
           "write-after-write hazard on shared memory %p (%zu bytes): thread %d and thread %d write different values "
           "with no barrier between them",
           (const void *)g_pending.p, g_pending.n, g_pending.other, current_thread() ? current_thread()->linear : -1);
  g_pending.p = nullptr;
}

void shared_access(Thread &t, const uint8_t *p, size_t n, bool write, bool atomic, bool record_read) {
  pending_flush(t);
  if (g_async_ranges) async_shared_check(t, p, n, write);
  if (write) hopper_shared_write(&t, p, n);  // --- Hopper: wgmma operands still being read
  // The accessing thread's CTA (p may be a peer's shared memory, reached through mapa).
  const Block &b = current_cluster()->block_of(t.gid);
  const Options &o = options();
  const uint32_t epoch = b.barrier_epoch + 1;
  const uint32_t cepoch = current_cluster()->epoch + 1;
  const uint32_t wepoch = b.warp_epochs[t.warp];
  const uint16_t me = (uint16_t)t.gid;
  const uint32_t clock = mbarrier_clock(t.gid);
  bool reported = false;
  for (size_t i = 0; i < n; ++i) {
    ByteShadow *s = shadow_of(p + i);
    if (!s) continue;
    if (!write && !s->initialized && o.initcheck && !reported) {
      report(Check::kInitcheck, false,
             "read of uninitialized shared memory %p (%zu bytes, byte %zu never written in this block) by thread %d",
             (const void *)p, n, i, t.linear);
      reported = true;
    }
    if (o.racecheck && !reported) {
      // A write earlier in this barrier interval by another thread, not ordered by a __syncwarp.
      const bool w_conflict = s->writer != kNobody && s->writer != me &&
                              same_interval(t, s->writer, s->w_epoch, s->w_cepoch) && !(atomic && s->w_atomic) &&
                              !ordered_by_warp(t, s->writer, s->w_warp_epoch) &&
                              !ordered_by_mbarrier(me, s->writer, s->w_clock);
      if (w_conflict && !write) {
        report(Check::kRacecheck, false,
               "read-after-write hazard on shared memory %p: thread %d reads what thread %d wrote with no barrier "
               "between them",
               (const void *)(p + i), t.linear, s->writer);
        reported = true;
      } else if (w_conflict && write && n <= sizeof g_pending.before && !g_pending.p) {
        g_pending.p = p;
        g_pending.n = n;
        std::memcpy(g_pending.before, p, n);
        g_pending.other = s->writer;
      }
      if (write && !reported && s->reader != kNobody && same_interval(t, s->reader, s->r_epoch, s->r_cepoch) &&
          (s->reader_many || s->reader != me) && !atomic &&
          !(s->reader != kNobody && !s->reader_many &&
            (ordered_by_warp(t, s->reader, s->r_warp_epoch) || ordered_by_mbarrier(me, s->reader, s->r_clock)))) {
        report(Check::kRacecheck, false,
               "write-after-read hazard on shared memory %p: thread %d overwrites what thread %d read with no "
               "barrier between them",
               (const void *)(p + i), t.linear, s->reader);
        reported = true;
      }
    }
    if (write) {
      s->initialized = true;
      s->w_epoch = epoch;
      s->w_cepoch = cepoch;
      s->w_warp_epoch = wepoch;
      s->writer = me;
      s->w_atomic = atomic;
      s->w_clock = clock;
      s->w_fence = proxy_fence_count(t.gid);
    } else if (record_read) {
      const bool same = s->reader != kNobody && same_interval(t, s->reader, s->r_epoch, s->r_cepoch);
      if (same && s->reader != me) s->reader_many = true;
      else if (!same) s->reader_many = false;
      s->r_epoch = epoch;
      s->r_cepoch = cepoch;
      s->r_warp_epoch = wepoch;
      s->reader = me;
      s->r_clock = clock;
    }
  }
}

void shared_async_write(const uint8_t *p, size_t n) {
  hopper_shared_write(nullptr, p, n);  // a TMA load landing on a wgmma operand still being read
  for (size_t i = 0; i < n; ++i) {
    ByteShadow *s = shadow_of(p + i);
    if (!s) continue;
    s->initialized = true;
    s->w_epoch = s->r_epoch = s->w_cepoch = s->r_cepoch = 0;  // ordered by the mbarrier wait, not by a barrier interval
    s->writer = s->reader = kNobody;
    s->reader_many = s->w_atomic = false;
  }
}

void async_proxy_read(const uint8_t *p, size_t n, const char *what) {
  for (size_t i = 0; i < n; ++i) {
    ByteShadow *s = shadow_of(p + i);
    if (!s || s->writer == kNobody || s->w_atomic) continue;
    if (proxy_fence_count(s->writer) <= s->w_fence) {
      report(Check::kRacecheck, false,
             "%s reads shared memory %p, which thread %d wrote without a fence.proxy.async after the write (the "
             "async proxy may not see it)",
             what, (const void *)(p + i), s->writer);
      return;
    }
  }
}

void check_global(const void *p, size_t n, bool write, const char *what) {
  Launch *L = current_launch();
  const uintptr_t a = (uintptr_t)p;
  const Region *r = L->map->find(a);
  if (r && a >= r->base && a + n <= r->end) return;
  if (r)
    report(Check::kMemcheck, true, "%s: invalid %s of %zu bytes at offset %lld of a %zu-byte %s allocation", what,
           write ? "write" : "read", n, (long long)(a - r->base), (size_t)(r->end - r->base),
           r->kind == RegionKind::kDevice ? "device" : "host");
  report(Check::kMemcheck, true, "%s: invalid %s of %zu bytes at %p: not in any device allocation", what,
         write ? "write" : "read", n, p);
}

namespace {

// Device code may touch: its own fiber stack (local memory), static and dynamic shared memory,
// the launch's parameter space, and device / pinned allocations. Anything else is an invalid access.
inline void access(const void *p, size_t n, bool write) {
  if (!tls_in_kernel) return;
  if (in_fiber_stack(p)) return;
  const uint8_t *a = static_cast<const uint8_t *>(p);
  Thread *t = current_thread();
  Block *b = current_block();
  // shared memory, with the dynamic arena's guard zones
  if (a >= static_shared_begin() && a < static_shared_end()) {
    if (current_cluster()->size() > 1)
      report(Check::kSync, true,
             "%s of static shared memory %p in a launch with clusters of %d CTAs: the emulator runs a cluster's CTAs "
             "together and keeps one copy of static __shared__ variables; use dynamic shared memory",
             write ? "write" : "read", p, current_cluster()->size());
    if (a + n > static_shared_end())
      report(Check::kMemcheck, true, "invalid %s of %zu bytes at %p: past the end of static shared memory",
             write ? "write" : "read", n, p);
    shared_access(*t, a, n, write, false);
    return;
  }
  // The dynamic arena and its guard zones (an access there is past the launch's shared memory).
  const uint8_t *lo = b->dyn - kGuardBytes, *hi = b->dyn + b->dyn_bytes + kGuardBytes;
  if (a + n > lo && a < hi) {
    if (a < b->dyn || a + n > b->dyn + b->dyn_bytes)
      report(Check::kMemcheck, true,
             "invalid %s of %zu bytes at %p: outside the %zu bytes of dynamic shared memory (offset %lld)",
             write ? "write" : "read", n, p, b->dyn_bytes, (long long)(a - b->dyn));
    shared_access(*t, a, n, write, false);
    return;
  }
  // --- Hopper: clusters: a peer CTA's shared memory (distributed shared memory, through mapa).
  if (current_cluster()->size() > 1)
    for (Block *o : current_cluster()->blocks) {
      if (o == b) continue;
      const uint8_t *plo = o->dyn - kGuardBytes, *phi = o->dyn + o->dyn_bytes + kGuardBytes;
      if (a + n <= plo || a >= phi) continue;
      if (a < o->dyn || a + n > o->dyn + o->dyn_bytes)
        report(Check::kMemcheck, true,
               "invalid %s of %zu bytes at %p: outside the %zu bytes of dynamic shared memory of CTA rank %d (offset "
               "%lld)",
               write ? "write" : "read", n, p, o->dyn_bytes, o->rank, (long long)(a - o->dyn));
      if (o->exited)
        report(Check::kMemcheck, true,
               "invalid %s of %zu bytes at %p: the shared memory of CTA rank %d, whose threads have all exited (a CTA "
               "must not exit while its cluster's peers may still access its shared memory)",
               write ? "write" : "read", n, p, o->rank);
      shared_access(*t, a, n, write, false);
      return;
    }
  Launch *L = current_launch();
  if (a >= L->param_lo && a + n <= L->param_hi) return;  // the launch's parameter space
  const uintptr_t ua = (uintptr_t)p;
  const Region *r = L->map->find(ua);
  if (r && ua >= r->base && ua + n <= r->end) return;
  if (r) check_global(p, n, write, "global memory");
  report(Check::kMemcheck, true, "invalid %s of %zu bytes at %p: not shared memory, not in any device allocation",
         write ? "write" : "read", n, p);
}

}  // namespace

void report(Check check, bool fatal, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  static const char *names[] = {"memcheck", "racecheck", "initcheck", "sync"};
  Launch *L = current_launch();
  Block *b = current_block();
  Thread *t = current_thread();
  char line[1200];
  if (L) {
    snprintf(line, sizeof line, "kernels4j emulator %s: kernel %s, block (%u,%u,%u), thread (%u,%u,%u): %s\n",
             names[(int)check], L->name.c_str(), b ? b->idx.x : 0, b ? b->idx.y : 0, b ? b->idx.z : 0,
             t ? t->tid.x : 0, t ? t->tid.y : 0, t ? t->tid.z : 0, msg);
    if (++L->reports <= 8) {
      std::lock_guard<std::mutex> g(g_reports_mu);
      g_reports += line;
    }
  } else {
    snprintf(line, sizeof line, "kernels4j emulator %s: %s\n", names[(int)check], msg);
    std::lock_guard<std::mutex> g(g_reports_mu);
    g_reports += line;
  }
  if (fatal && t) abandon_launch();
  if (fatal && L) L->aborted = true;
}

std::string take_reports() {
  std::lock_guard<std::mutex> g(g_reports_mu);
  std::string r;
  r.swap(g_reports);
  return r;
}

}  // namespace k4j::emu

// ---- the instrumentation's entry points (GCC -fsanitize=kernel-address, outline calls)
#define K4J_EMU_ASAN(n)                                                                                      \
  extern "C" void __asan_load##n##_noabort(void *p) { k4j::emu::access(p, n, false); }                     \
  extern "C" void __asan_store##n##_noabort(void *p) { k4j::emu::access(p, n, true); }                     \
  extern "C" void __asan_load##n(void *p) { k4j::emu::access(p, n, false); }                               \
  extern "C" void __asan_store##n(void *p) { k4j::emu::access(p, n, true); }
K4J_EMU_ASAN(1)
K4J_EMU_ASAN(2)
K4J_EMU_ASAN(4)
K4J_EMU_ASAN(8)
K4J_EMU_ASAN(16)
#undef K4J_EMU_ASAN
extern "C" void __asan_loadN_noabort(void *p, size_t n) { k4j::emu::access(p, n, false); }
extern "C" void __asan_storeN_noabort(void *p, size_t n) { k4j::emu::access(p, n, true); }
extern "C" void __asan_loadN(void *p, size_t n) { k4j::emu::access(p, n, false); }
extern "C" void __asan_storeN(void *p, size_t n) { k4j::emu::access(p, n, true); }
extern "C" void __asan_handle_no_return() {}
// Dynamic-initialisation order checking is ASan's, not ours: nothing to do.
extern "C" void __asan_before_dynamic_init(const char *) {}
extern "C" void __asan_after_dynamic_init() {}
