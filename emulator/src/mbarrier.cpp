// mbarrier, from PTX ISA 8.x section 9.7.12.15 "Parallel Synchronization and Communication
// Instructions: mbarrier" (9.7.12.15.1 "Size and alignment of mbarrier object", .2 "Contents of the
// mbarrier object", .3 "Lifecycle", .4 "Phase of the mbarrier object", .5-.6 "Tracking
// asynchronous operations by the mbarrier object: arrive-on / tx-count", .7 "Phase Completion",
// and the instructions mbarrier.init / arrive / expect_tx / complete_tx / try_wait.parity).
//
// The object: an 8-byte aligned 64-bit word of shared memory holding the current phase, the
// pending arrival count (init: the expected count, in [1, 2^20 - 1]), the expected count, and the
// tx-count (in [-(2^20 - 1), 2^20 - 1]). expect-tx(n) adds n to the tx-count, complete-tx(n)
// subtracts n, an arrive decrements the pending count. The current phase completes when the
// pending count and the tx-count are both zero: the phase advances, the pending count is reloaded
// with the expected count. try_wait.parity(P) is true iff the phase with parity P completed, i.e.
// the current phase's parity differs from P (P = the parity of the current or the preceding phase).
//
// Emulation: the state lives beside the word (keyed by its address, forgotten at block start);
// the word itself is not touched (its contents are opaque on the GPU too). A thread whose
// try_wait finds the phase incomplete is suspended (kAtMbarrier) until the phase completes: the
// "system-dependent time limit" of try_wait is unbounded here, so the usual spin loop makes
// progress. A thread yields to the others after mbarrier.arrive (see there). If no thread of the
// block can run and no TMA copy is in flight, the block is deadlocked and the waiters are reported
// (not a hang).
#include <algorithm>
#include <unordered_map>
#include <vector>

#include "emu_internal.h"

namespace k4j::emu {

namespace {

constexpr int32_t kCountMax = (1 << 20) - 1;  // arrival counts and |tx-count|

struct Mbar {
  uint32_t expected = 0;  // arrivals per phase
  int32_t pending = 0;    // arrivals still missing in the current phase
  int32_t tx = 0;         // tx-count of the current phase
  uint64_t phase = 0;     // the current phase (its parity is phase & 1)
  // racecheck: the clocks released by the arrivals of the current phase, and of the last completed
  // phase (what a wait that observes its completion acquires)
  std::vector<uint32_t> rel, done;
};
std::unordered_map<const uint64_t *, Mbar> g_bars;

struct Wait {
  const uint64_t *bar = nullptr;
  uint32_t parity = 0;
};
std::vector<Wait> g_waits;  // per thread of the cluster, by gid (valid while kAtMbarrier)

// Racecheck clocks (a vector clock restricted to mbarrier synchronisation, over the threads of the
// cluster by gid: remote arrivals order accesses across CTAs): g_clock[t] is thread t's current clock (from 1; advanced after each arrival), g_known[r * n + w] the latest clock of w
// that r has acquired. Allocated when the block initialises its first mbarrier.
int g_n = 0;
std::vector<uint32_t> g_clock, g_known;

void release(Mbar &m, int t) {
  if (g_known.empty()) return;
  if (m.rel.empty()) m.rel.assign(g_n, 0);
  const uint32_t *k = &g_known[(size_t)t * g_n];
  for (int w = 0; w < g_n; ++w) m.rel[w] = std::max(m.rel[w], k[w]);  // transitively acquired clocks
  m.rel[t] = std::max(m.rel[t], g_clock[t]);
  ++g_clock[t];  // later accesses of t are not covered by this arrival
}

void acquire(const Mbar &m, int t) {
  if (g_known.empty() || m.done.empty()) return;
  uint32_t *k = &g_known[(size_t)t * g_n];
  for (int w = 0; w < g_n; ++w) k[w] = std::max(k[w], m.done[w]);
}

// remote: a .shared::cluster address (the barrier may be another CTA's of the cluster); otherwise
// the executing CTA's shared memory (.shared::cta).
void check_address(const uint64_t *bar, const char *what, bool remote = false) {
  if (((uintptr_t)bar & 7) != 0)
    report(Check::kMemcheck, true, "%s: mbarrier address %p is not 8-byte aligned", what, (const void *)bar);
  if (remote ? !is_shared(bar, 8) && cluster_shared_block(bar, 8) == nullptr : !is_shared(bar, 8))
    report(Check::kMemcheck, true, "%s: mbarrier address %p is not 8 bytes of %s shared memory", what,
           (const void *)bar, remote ? "the cluster's" : "the CTA's");
}

Mbar &lookup(const uint64_t *bar, const char *what, bool remote = false) {
  check_address(bar, what, remote);
  auto it = g_bars.find(bar);
  if (it == g_bars.end())
    report(Check::kSync, true, "%s on mbarrier %p, which mbarrier.init has not initialised in this block", what,
           (const void *)bar);
  return it->second;
}

bool phase_done(const Mbar &m, uint32_t parity) { return (uint32_t)(m.phase & 1) != (parity & 1); }

// Phase completion (9.7.12.15.7): both counts zero. Wakes the threads waiting for that phase.
void try_complete(const uint64_t *bar, Mbar &m) {
  if (m.pending != 0 || m.tx != 0) return;
  ++m.phase;
  m.pending = (int32_t)m.expected;
  m.done.swap(m.rel);
  m.rel.clear();
  Cluster &c = *current_cluster();  // waiters are threads of the barrier's CTA; gids span the cluster
  for (int i = 0; i < c.total_threads(); ++i) {
    Thread &t = c.thread(i);
    if (t.state == ThreadState::kAtMbarrier && g_waits[i].bar == bar && phase_done(m, g_waits[i].parity))
      t.state = ThreadState::kRunnable;
  }
}

void arrive(uint64_t *bar, const char *what, bool remote = false) {
  Mbar &m = lookup(bar, what, remote);
  if (m.pending <= 0)
    report(Check::kSync, true,
           "%s on mbarrier %p: more arrivals than the %u the phase expects (pending count already 0, tx-count %d)",
           what, (const void *)bar, m.expected, m.tx);
  --m.pending;
  release(m, current_thread()->gid);
  try_complete(bar, m);
}

void expect_tx(Mbar &m, const uint64_t *bar, int64_t bytes, const char *what) {
  const int64_t tx = (int64_t)m.tx + bytes;
  if (tx > kCountMax || tx < -kCountMax)
    report(Check::kSync, true, "%s on mbarrier %p: tx-count %lld leaves the range [-(2^20 - 1), 2^20 - 1]", what,
           (const void *)bar, (long long)tx);
  m.tx = (int32_t)tx;
}

}  // namespace

void mbarrier_init(uint64_t *bar, uint32_t arrive_count) {
  check_address(bar, "mbarrier.init");
  if (arrive_count < 1 || arrive_count > (uint32_t)kCountMax)
    report(Check::kSync, true, "mbarrier.init on %p: count %u is outside [1, 2^20 - 1]", (const void *)bar,
           arrive_count);
  if (g_known.empty()) g_known.assign((size_t)g_n * g_n, 0);
  Mbar &m = g_bars[bar];
  m = Mbar{};
  m.expected = arrive_count;
  m.pending = (int32_t)arrive_count;
}

void fence_mbarrier_init() { require_sm90("fence.mbarrier_init"); }

void mbarrier_arrive(uint64_t *bar) {
  arrive(bar, "mbarrier.arrive");
  // Let the other threads run now (a legal interleaving): a waiter released by this arrival acts
  // before the arriving thread continues, so work wrongly placed after the arrival (reading a
  // stage after releasing it to the producer) overlaps what the arrival allowed. (Not after
  // arrive.expect_tx: its thread usually issues the copies next.)
  suspend_current_thread();
}

// mbarrier.arrive.expect_tx: expect-tx(tx) first, then the arrive (9.7.12.15.12).
void mbarrier_arrive_expect_tx(uint64_t *bar, uint32_t tx_bytes) {
  require_sm90("mbarrier.arrive.expect_tx");
  Mbar &m = lookup(bar, "mbarrier.arrive.expect_tx");
  expect_tx(m, bar, tx_bytes, "mbarrier.arrive.expect_tx");
  arrive(bar, "mbarrier.arrive.expect_tx");
}

void mbarrier_complete_tx(uint64_t *bar, uint32_t bytes) {
  auto it = g_bars.find(bar);
  if (it == g_bars.end()) {
    report(Check::kSync, true, "complete-tx of a TMA load on mbarrier %p, which is not initialised",
           (const void *)bar);
    return;
  }
  expect_tx(it->second, bar, -(int64_t)bytes, "complete-tx of a TMA load");
  try_complete(bar, it->second);
}

bool mbarrier_try_wait_parity(uint64_t *bar, uint32_t phase_parity) {
  require_sm90("mbarrier.try_wait.parity");
  Mbar &m = lookup(bar, "mbarrier.try_wait.parity");
  Thread &t = *current_thread();
  if (!phase_done(m, phase_parity)) {
    g_waits[t.gid] = Wait{bar, phase_parity};
    t.state = ThreadState::kAtMbarrier;
    suspend_current_thread();  // made runnable by try_complete, or never (deadlock report)
  }
  // The observed phase is the last completed one (the parity is the current or the preceding
  // phase's): acquire what its arrivals released.
  acquire(g_bars[bar], t.gid);
  return true;
}

bool mbarrier_diagnose_deadlock(Cluster &c) {
  for (int i = 0; i < c.total_threads(); ++i) {
    const Thread &t = c.thread(i);
    if (t.state != ThreadState::kAtMbarrier) continue;
    const Mbar &m = g_bars[g_waits[i].bar];
    int others = 0;
    for (int j = 0; j < c.total_threads(); ++j) {
      const Thread &u = c.thread(j);
      if (u.state != ThreadState::kExited && u.state != ThreadState::kAtMbarrier) ++others;
    }
    set_current_block(&c.block_of(i));
    report(Check::kSync, false,
           "deadlock: thread %d (warp %d lane %d) waits on mbarrier %p for the phase of parity %u, which cannot "
           "complete: current phase %llu, %d of %u arrivals missing, tx-count %d%s, no TMA copy in flight; %d other "
           "live threads wait elsewhere",
           t.linear, t.warp, t.lane, (const void *)g_waits[i].bar, g_waits[i].parity, (unsigned long long)m.phase,
           m.pending, m.expected, m.tx,
           m.tx < 0 ? " (negative: complete-tx of bytes no expect-tx announced, e.g. a TMA multicast into this "
                      "CTA that its barrier did not expect)"
                    : "",
           others);
    return true;
  }
  return false;
}

// Called by hopper_tma_block_begin (tma.cpp).
void mbarrier_block_begin(Cluster &c) {
  const int n = c.total_threads();
  g_bars.clear();
  g_waits.assign(n, Wait{});
  g_n = n;
  g_clock.assign(n, 1);
  g_known.clear();
}

void sync_clocks_merge(const int *threads, int count) {
  if (g_known.empty() || count < 2) return;
  std::vector<uint32_t> all(g_n, 0);
  for (int i = 0; i < count; ++i) {
    const int t = threads[i];
    const uint32_t *k = &g_known[(size_t)t * g_n];
    for (int w = 0; w < g_n; ++w) all[w] = std::max(all[w], k[w]);
    all[t] = std::max(all[t], g_clock[t]);
  }
  for (int i = 0; i < count; ++i) {
    const int t = threads[i];
    std::copy(all.begin(), all.end(), g_known.begin() + (size_t)t * g_n);
    ++g_clock[t];
  }
}

bool mbarrier_initialised(const uint64_t *bar) { return g_bars.count(bar) != 0; }

uint64_t mbarrier_phase(const uint64_t *bar) {
  auto it = g_bars.find(bar);
  return it == g_bars.end() ? 0 : it->second.phase;
}

// --- Hopper: clusters. mbarrier.arrive.release.cluster.shared::cluster.b64 _, [addr] on the barrier
// of CTA `rank` at the offset of `bar` (PTX ISA "mbarrier.arrive": .shared::cluster, remote
// barriers return no state; "mapa" for the address). The arrival releases the arriving thread's
// accesses to the barrier's waiters in the other CTA (racecheck clocks by gid).
void mbarrier_arrive_cluster(uint64_t *bar, unsigned rank) {
  require_sm90("mbarrier.arrive.shared::cluster");
  uint64_t *remote = static_cast<uint64_t *>(mapa(bar, rank));
  arrive(remote, "mbarrier.arrive.shared::cluster", true);
  suspend_current_thread();  // as after a local arrive: the released waiter may act first
}

uint32_t mbarrier_clock(int thread) { return g_known.empty() ? 0 : g_clock[thread]; }

bool ordered_by_mbarrier(int reader, int writer, uint32_t writer_clock) {
  return writer_clock != 0 && !g_known.empty() && writer < g_n &&
         g_known[(size_t)reader * g_n + writer] >= writer_clock;
}

}  // namespace k4j::emu
