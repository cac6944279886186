// Execution of a launch: blocks one at a time in a seeded order, each block's threads as fibers
// (Boost.Context) that switch only where CUDA threads can observe each other: barriers, warp
// collectives and the warp-wide PTX instructions.
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "emu_internal.h"

namespace k4j::emu {

namespace {

constexpr size_t kStackBytes = 256 * 1024;
constexpr int kMaxThreads = 1024;  // per CTA
constexpr int kMaxClusterCtas = 8;  // the portable cluster size (CUDA programming guide, "Thread Block Clusters")

// Reserved spans for every fiber stack: "is this a local-memory address" is a range test per span.
// One span of kMaxThreads stacks serves every launch without clusters; a cluster of k CTAs needs k.
struct StackPool {
  uint8_t *spans[kMaxClusterCtas] = {};
  int nspans = 0;
  StackPool() { grow(1); }
  void grow(int n) {
    const size_t bytes = kStackBytes * kMaxThreads;
    for (; nspans < n; ++nspans) {
      void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED) {
        std::fprintf(stderr, "kernels4j emulator: cannot reserve %zu bytes of fiber stacks\n", bytes);
        std::abort();
      }
      uint8_t *base = static_cast<uint8_t *>(p);
      // A guard page at the bottom of each stack turns an overflow into a fault, not corruption.
      for (int i = 0; i < kMaxThreads; ++i) mprotect(base + i * kStackBytes, 4096, PROT_NONE);
      spans[nspans] = base;
    }
  }
  // Stack i (a thread's gid): span i / kMaxThreads.
  uint8_t *lo(int i) const { return spans[i / kMaxThreads] + (i % kMaxThreads) * kStackBytes + 4096; }
  uint8_t *hi(int i) const { return spans[i / kMaxThreads] + (i % kMaxThreads + 1) * kStackBytes; }
  bool contains(const void *p) const {
    for (int s = 0; s < nspans; ++s)
      if (p >= spans[s] && p < spans[s] + kStackBytes * kMaxThreads) return true;
    return false;
  }
};
StackPool &stacks() {
  static StackPool pool;
  return pool;
}

Launch *g_launch = nullptr;
Block *g_block = nullptr;
Cluster *g_cluster = nullptr;
Thread *g_thread = nullptr;
LaunchBody *g_body = nullptr;
ctx::fcontext_t g_sched = nullptr;  // the scheduler, while a fiber runs

void fiber_main(ctx::transfer_t in) {
  g_sched = in.fctx;
  Thread *t = static_cast<Thread *>(in.data);
  g_body->run();
  pending_flush(*t);
  t->state = ThreadState::kExited;
  for (;;) {  // never return from a context function; the scheduler does not resume an exited thread
    ctx::transfer_t r = ctx::jump_fcontext(g_sched, nullptr);
    g_sched = r.fctx;
  }
}

// Back to the scheduler until this thread is made runnable again.
void yield() {
  Thread *t = g_thread;
  pending_flush(*t);
  ctx::transfer_t r = ctx::jump_fcontext(g_sched, nullptr);
  g_sched = r.fctx;
  (void)t;
}

void resume(Thread &t) {
  g_thread = &t;
  tls_in_kernel = true;
  ctx::transfer_t r = ctx::jump_fcontext(t.fctx, &t);
  tls_in_kernel = false;
  t.fctx = r.fctx;
  g_thread = nullptr;
}

const char *op_name(WarpOpKind k) {
  switch (k) {
    case WarpOpKind::kSyncwarp: return "__syncwarp";
    case WarpOpKind::kShfl: return "__shfl*_sync";
    case WarpOpKind::kVote: return "__ballot/any/all_sync";
    case WarpOpKind::kMatch: return "__match_any_sync";
    case WarpOpKind::kLdmatrix: return "ldmatrix.sync.aligned";
    case WarpOpKind::kMma: return "mma.sync.aligned";
    default: return hopper_op_name(k);
  }
}

Thread *lane_thread(Block &b, int warp, int lane) {
  const int i = warp * kWarpSize + lane;
  return i < b.nthreads ? &b.threads[i] : nullptr;
}

void execute_warp_op(Block &b, int warp, unsigned mask, Thread &last);

// Arrival of the calling thread at a warp collective over `mask`. The last lane to arrive performs
// the operation for all of them; the others wait.
void warp_arrive(WarpOpKind kind, unsigned mask, int arg, int arg2, const void *in, void *out, uint64_t value) {
  Thread &t = *g_thread;
  Block &b = *g_block;
  if (!(mask & (1u << t.lane)))
    report(Check::kSync, true, "%s: lane %d (thread %d) calls it with mask 0x%08x, which does not name the lane",
           op_name(kind), t.lane, t.linear, mask);
  t.op = kind;
  t.mask = mask;
  t.op_arg = arg;
  t.op_arg2 = arg2;
  t.op_in = in;
  t.op_out = out;
  t.op_value = value;
  t.state = ThreadState::kAtWarp;
  bool all = true;
  for (int l = 0; l < kWarpSize; ++l) {
    if (!(mask & (1u << l))) continue;
    Thread *u = lane_thread(b, t.warp, l);
    if (u == nullptr)
      report(Check::kSync, true, "%s: mask 0x%08x names lane %d of warp %d, which the block (%d threads) does not have",
             op_name(kind), mask, l, t.warp, b.nthreads);
    if (u->state == ThreadState::kExited)
      report(Check::kSync, true, "%s: mask 0x%08x names lane %d of warp %d, which has exited", op_name(kind), mask, l,
             t.warp);
    // A lane waiting in another collective is fine if that one does not need this lane (it comes
    // here when it is done); a mismatch only if the two wait for each other.
    if (u->state != ThreadState::kAtWarp || u->op != kind || u->mask != mask) {
      if (u->state == ThreadState::kAtWarp && (u->op != kind || u->mask != mask) && (u->mask & (1u << t.lane)))
        report(Check::kSync, true,
               "warp %d: lane %d waits in %s with mask 0x%08x while lane %d calls %s with mask 0x%08x (divergent "
               "warp collectives)",
               t.warp, l, op_name(u->op), u->mask, t.lane, op_name(kind), mask);
      all = false;
      continue;
    }
    if (u->op_arg2 != arg2)
      report(Check::kSync, true, "warp %d: lanes %d and %d call %s in different modes or shapes (divergent code)",
             t.warp, l, t.lane, op_name(kind));
  }
  if (!all) {
    yield();
    return;
  }
  execute_warp_op(b, t.warp, mask, t);
  for (int l = 0; l < kWarpSize; ++l)
    if (mask & (1u << l)) {
      Thread *u = lane_thread(b, t.warp, l);
      u->state = ThreadState::kRunnable;
      u->op = WarpOpKind::kNone;
    }
}

uint64_t shfl_source(const Thread &t, ShflMode mode, int arg, int width, bool &own) {
  const int lane = t.lane;
  const int seg = lane & ~(width - 1);
  own = false;
  switch (mode) {
    case ShflMode::kIdx: return seg + (arg & (width - 1));
    case ShflMode::kUp:
      if ((lane & (width - 1)) < arg) own = true;
      return lane - arg;
    case ShflMode::kDown:
      if ((lane & (width - 1)) + arg >= width) own = true;
      return lane + arg;
    case ShflMode::kXor: {
      const int src = lane ^ arg;
      if (src >= seg + width || src < 0 || src >= kWarpSize) own = true;
      return src;
    }
  }
  return lane;
}

void execute_warp_op(Block &b, int warp, unsigned mask, Thread &last) {
  Thread *lanes[kWarpSize] = {};
  for (int l = 0; l < kWarpSize; ++l)
    if (mask & (1u << l)) lanes[l] = lane_thread(b, warp, l);
  switch (last.op) {
    case WarpOpKind::kSyncwarp: {
      const uint32_t e = ++b.warp_epochs[warp];
      int ids[kWarpSize], n = 0;
      for (Thread *u : lanes)
        if (u) {
          u->warp_epoch = e;
          ids[n++] = u->gid;
        }
      sync_clocks_merge(ids, n);  // mbarrier racecheck clocks travel through the __syncwarp
      break;
    }
    case WarpOpKind::kShfl: {
      // Gather every source value first, then write (CUDA: all reads happen before any write).
      uint64_t got[kWarpSize] = {};
      for (int l = 0; l < kWarpSize; ++l) {
        Thread *u = lanes[l];
        if (!u) continue;
        bool own = false;
        const int width = u->op_arg2 & 0xff;
        const ShflMode mode = static_cast<ShflMode>(u->op_arg2 >> 8);
        const uint64_t src = shfl_source(*u, mode, u->op_arg, width, own);
        if (own) {
          got[l] = u->op_value;
        } else if (src >= (uint64_t)kWarpSize || !(mask & (1u << src))) {
          report(Check::kSync, false, "__shfl*_sync: lane %d reads lane %d, which is not in the mask 0x%08x", l,
                 (int)src, mask);
          got[l] = 0;
        } else {
          got[l] = lanes[src]->op_value;
        }
      }
      for (int l = 0; l < kWarpSize; ++l)
        if (lanes[l]) *static_cast<uint64_t *>(lanes[l]->op_out) = got[l];
      break;
    }
    case WarpOpKind::kVote: {
      unsigned ballot = 0;
      for (int l = 0; l < kWarpSize; ++l)
        if (lanes[l] && lanes[l]->op_value) ballot |= 1u << l;
      const VoteMode mode = static_cast<VoteMode>(last.op_arg2);
      const unsigned r = mode == VoteMode::kBallot ? ballot
                         : mode == VoteMode::kAny  ? (ballot != 0)
                                                   : (ballot == mask);
      for (Thread *u : lanes)
        if (u) *static_cast<unsigned *>(u->op_out) = r;
      break;
    }
    case WarpOpKind::kMatch: {
      for (int l = 0; l < kWarpSize; ++l) {
        if (!lanes[l]) continue;
        unsigned m = 0;
        for (int j = 0; j < kWarpSize; ++j)
          if (lanes[j] && lanes[j]->op_value == lanes[l]->op_value) m |= 1u << j;
        *static_cast<unsigned *>(lanes[l]->op_out) = m;
      }
      break;
    }
    case WarpOpKind::kLdmatrix: {
      const int num = last.op_arg;
      const bool trans = last.op_arg2 != 0;
      const uint8_t *rows[kWarpSize] = {};
      for (int l = 0; l < ptx::ldmatrix_rows(num); ++l) {
        Thread *u = lanes[l];
        const uint8_t *p = static_cast<const uint8_t *>(u->op_in);
        if (((uintptr_t)p & 15) != 0)
          report(Check::kMemcheck, true, "ldmatrix: lane %d gives row address %p, not 16-byte aligned", l, (const void *)p);
        if (!is_shared(p, 16))
          report(Check::kMemcheck, true, "ldmatrix: lane %d gives row address %p, not 16 bytes of shared memory", l,
                 (const void *)p);
        shared_access(*u, p, 16, false, false);
        rows[l] = p;
      }
      uint32_t out[kWarpSize][4] = {};
      ptx::ldmatrix(num, trans, rows, out);
      for (int l = 0; l < kWarpSize; ++l) std::memcpy(lanes[l]->op_out, out[l], sizeof(uint32_t) * num);
      break;
    }
    case WarpOpKind::kMma: {
      const MmaKind kind = static_cast<MmaKind>(last.op_arg);
      const bool k32 = last.op_arg2 == 32;
      uint32_t a[kWarpSize][4], bb[kWarpSize][2];
      float c[kWarpSize][4], d[kWarpSize][4];
      for (int l = 0; l < kWarpSize; ++l) {
        const uint32_t *const *io = static_cast<const uint32_t *const *>(lanes[l]->op_in);
        std::memcpy(a[l], io[0], sizeof a[l]);
        std::memcpy(bb[l], io[1], sizeof bb[l]);
        std::memcpy(c[l], lanes[l]->op_out, sizeof c[l]);
      }
      const ptx::Fp8Accum acc = options().fp8_accum;
      if (!k32 && kind == MmaKind::kF16) ptx::mma_m16n8k16_f16_f32(a, bb, c, d);
      else if (!k32 && kind == MmaKind::kBf16) ptx::mma_m16n8k16_bf16_f32(a, bb, c, d);
      else if (k32 && kind == MmaKind::kE4m3) ptx::mma_m16n8k32_e4m3_f32(a, bb, c, d, acc);
      else if (k32 && kind == MmaKind::kE5m2) ptx::mma_m16n8k32_e5m2_f32(a, bb, c, d, acc);
      else report(Check::kSync, true, "mma.sync: unsupported shape/type combination");
      for (int l = 0; l < kWarpSize; ++l) std::memcpy(lanes[l]->op_out, d[l], sizeof d[l]);
      break;
    }
    case WarpOpKind::kElect: {  // elect.sync (PTX ISA "elect.sync"): the lowest lane of the mask
      const unsigned leader = (unsigned)__builtin_ctz(mask);
      for (Thread *u : lanes)
        if (u) *static_cast<unsigned *>(u->op_out) = leader;
      break;
    }
    default: break;
  }
}

void diagnose_deadlock(Cluster &c) {
  for (Block *b : c.blocks) {
    g_block = b;
    if (hopper_diagnose_deadlock(*b)) return;
  }
  if (mbarrier_diagnose_deadlock(c)) return;
  if (cluster_diagnose_deadlock(c)) return;
  for (Block *bp : c.blocks) {
    Block &b = *bp;
    g_block = bp;
    for (Thread &t : b.threads) {
      if (t.state != ThreadState::kAtWarp) continue;
      for (int l = 0; l < kWarpSize; ++l) {
        if (!(t.mask & (1u << l))) continue;
        Thread *u = lane_thread(b, t.warp, l);
        if (u && u->state != ThreadState::kAtWarp) {
          report(Check::kSync, false,
                 "deadlock: warp %d lane %d waits in %s with mask 0x%08x, but lane %d named in the mask is %s "
                 "(it never takes part)",
                 t.warp, t.lane, op_name(t.op), t.mask, l, state_name(u->state));
          return;
        }
      }
    }
  }
  for (Block *bp : c.blocks) {
    g_block = bp;
    for (const Thread &t : bp->threads)
      if (t.state == ThreadState::kAtBarrier) {
        report(Check::kSync, false, "deadlock: threads of the block wait at __syncthreads while others wait elsewhere");
        return;
      }
  }
  g_block = c.blocks[0];
  report(Check::kSync, false, "deadlock: no thread of the cluster can go on");
}

// Runs the CTAs of one cluster (one CTA without clusters) to completion: each round resumes every
// runnable thread, CTA by CTA in rank order, then completes the barriers whose threads all arrived.
// `lag` (a rank, or -1): that CTA's threads run only in rounds where no other CTA's thread could (a
// legal schedule: CUDA promises no relative progress between CTAs), so the others run ahead of it as
// far as the kernel's synchronisation lets them; a kernel that relies on lockstep progress (a
// producer that writes into a peer's stage without waiting for the peer to release it) then fails.
bool run_cluster(Launch &L, Cluster &c, int lag) {
  for (Block *bp : c.blocks) {
    Block &b = *bp;
    g_block = bp;
    b.barrier_epoch = 0;
    b.exited = false;
    std::fill(b.warp_epochs.begin(), b.warp_epochs.end(), 0);
    shared_reset(b);
    hopper_block_reset(b);
    for (int i = 0; i < b.nthreads; ++i) {
      Thread &t = b.threads[i];
      t = Thread{};
      t.linear = i;
      t.gid = b.rank * b.nthreads + i;
      t.tid = uint3{(unsigned)(i % b.dim.x), (unsigned)((i / b.dim.x) % b.dim.y), (unsigned)(i / (b.dim.x * b.dim.y))};
      t.lane = i % kWarpSize;
      t.warp = i / kWarpSize;
      t.stack_lo = stacks().lo(t.gid);
      t.stack_hi = stacks().hi(t.gid);
      t.fctx = ctx::make_fcontext(t.stack_hi, (size_t)(t.stack_hi - t.stack_lo), fiber_main);
    }
  }
  c.phase = 0;
  c.epoch = 0;
  g_block = c.blocks[0];
  hopper_tma_block_begin(c);
  for (;;) {
    bool ran = false;
    for (int pass = 0; pass < 2; ++pass) {
      if (pass == 1 && (lag < 0 || ran)) break;  // the lagging CTA: only when no other could run
      for (Block *bp : c.blocks) {
        if ((bp->rank == lag) != (pass == 1)) continue;
        g_block = bp;
        for (Thread &t : bp->threads) {
          if (t.state != ThreadState::kRunnable) continue;
          ran = true;
          resume(t);
          if (L.aborted) return false;
        }
      }
    }
    bool released = false;
    int live_all = 0;
    for (Block *bp : c.blocks) {
      Block &b = *bp;
      int live = 0, at_barrier = 0;
      for (const Thread &t : b.threads) {
        if (t.state != ThreadState::kExited) ++live;
        if (t.state == ThreadState::kAtBarrier) ++at_barrier;
      }
      live_all += live;
      if (live == 0) b.exited = true;
      if (live > 0 && at_barrier == live) {  // exited threads count as arrived
        ++b.barrier_epoch;
        for (Thread &t : b.threads)
          if (t.state == ThreadState::kAtBarrier) t.state = ThreadState::kRunnable;
        released = true;
      }
    }
    if (live_all == 0) {
      g_block = c.blocks[0];
      hopper_tma_block_end(c);
      return !L.aborted;
    }
    if (cluster_barrier_progress(c)) released = true;
    if (released) continue;
    if (!ran) {
      if (hopper_tma_progress(c)) {  // async copies land when nothing else can run
        if (L.aborted) return false;
        continue;
      }
      diagnose_deadlock(c);
      L.aborted = true;
      return false;
    }
  }
}

}  // namespace

const char *state_name(ThreadState s) {
  switch (s) {
    case ThreadState::kRunnable: return "running";
    case ThreadState::kAtBarrier: return "waiting at __syncthreads";
    case ThreadState::kAtWarp: return "waiting at a warp collective";
    case ThreadState::kAtNamedBarrier: return "waiting at a named barrier (bar.sync)";
    case ThreadState::kAtMbarrier: return "waiting on an mbarrier";
    case ThreadState::kAtCluster: return "waiting at barrier.cluster.wait";
    default: return "exited";
  }
}

thread_local bool tls_in_kernel __attribute__((tls_model("initial-exec"))) = false;

Launch *current_launch() { return g_launch; }
Block *current_block() { return g_block; }
Cluster *current_cluster() { return g_cluster; }
Block *set_current_block(Block *b) {
  Block *old = g_block;
  g_block = b;
  return old;
}
Block *cluster_shared_block(const void *p, size_t n) {
  if (g_cluster == nullptr) return nullptr;
  const uint8_t *a = static_cast<const uint8_t *>(p);
  for (Block *b : g_cluster->blocks)
    if (a >= b->dyn && a + n <= b->dyn + b->dyn_bytes && b->dyn_bytes > 0) return b;
  return nullptr;
}
Thread *current_thread() { return g_thread; }
bool in_fiber_stack(const void *p) { return stacks().contains(p); }

// Abandons the running launch from inside a fiber: the scheduler never resumes it.
[[noreturn]] void abandon_launch() {
  g_launch->aborted = true;
  g_thread->state = ThreadState::kExited;
  tls_in_kernel = false;
  for (;;) {
    ctx::transfer_t r = ctx::jump_fcontext(g_sched, nullptr);
    g_sched = r.fctx;
  }
}

cudaError_t run_launch(const char *name, dim3 grid, dim3 block, dim3 cluster, size_t smem, LaunchBody *body,
                       size_t body_bytes) {
  Launch L;
  L.param_lo = reinterpret_cast<const uint8_t *>(body);
  L.param_hi = L.param_lo + body_bytes;
  L.name = name;
  L.grid = grid;
  L.block = block;
  L.cluster = cluster;
  L.smem = smem;
  L.map = memory_snapshot();
  const int ctas = (int)(cluster.x * cluster.y * cluster.z);  // validated by launch()
  stacks().grow(ctas);
  Cluster c;
  c.dim = cluster;
  c.threads_per_block = (int)(block.x * block.y * block.z);
  std::vector<Block> blocks(ctas);
  // One dynamic shared-memory arena per CTA of the cluster. Guard zones on both sides of each: an
  // access there is reported as out of bounds. Aligned to 1024 bytes: the 128-byte swizzle pattern
  // of TMA and wgmma repeats there, and both read it from address bits (wgmma descriptors hold
  // offsets into this arena).
  std::vector<std::vector<uint8_t>> dyn_storage(ctas);
  for (int r = 0; r < ctas; ++r) {
    Block &b = blocks[r];
    b.rank = r;
    b.dim = block;
    b.nthreads = c.threads_per_block;
    b.threads.resize(b.nthreads);
    b.warp_epochs.assign((b.nthreads + kWarpSize - 1) / kWarpSize, 0);
    b.dyn_bytes = smem;
    dyn_storage[r].resize(smem + 2 * kGuardBytes + 1024);
    b.dyn = reinterpret_cast<uint8_t *>(((uintptr_t)dyn_storage[r].data() + kGuardBytes + 1023) & ~(uintptr_t)1023);
    c.blocks.push_back(&b);
  }

  // Clusters (single blocks without clusters) run in an order drawn from the seed: CUDA promises none.
  static uint64_t launch_counter = 0;
  const dim3 cgrid(grid.x / cluster.x, grid.y / cluster.y, grid.z / cluster.z);
  const uint64_t nclusters = (uint64_t)cgrid.x * cgrid.y * cgrid.z;
  std::vector<uint32_t> order(nclusters);
  for (uint64_t i = 0; i < nclusters; ++i) order[i] = (uint32_t)i;
  std::mt19937_64 rng(options().seed * 0x9E3779B97F4A7C15ull + ++launch_counter);
  std::shuffle(order.begin(), order.end(), rng);

  g_launch = &L;
  g_cluster = &c;
  g_body = body;
  for (uint64_t i = 0; i < nclusters && !L.aborted; ++i) {
    const uint32_t lin = order[i];
    c.id = uint3{lin % cgrid.x, (lin / cgrid.x) % cgrid.y, lin / (cgrid.x * cgrid.y)};
    // %cluster_ctarank = x + y * nctaid.x + z * nctaid.x * nctaid.y of %cluster_ctaid (PTX ISA
    // "Special Registers": %cluster_ctaid, %cluster_ctarank).
    for (int r = 0; r < ctas; ++r) {
      const unsigned x = r % cluster.x, y = (r / cluster.x) % cluster.y, z = r / (cluster.x * cluster.y);
      blocks[r].idx = uint3{c.id.x * cluster.x + x, c.id.y * cluster.y + y, c.id.z * cluster.z + z};
    }
    // Every second cluster of a launch runs with one CTA lagging (see run_cluster); the first runs in
    // lockstep. Launches without clusters: never.
    const int lag = ctas > 1 && lin % 2 == 1 ? (int)((lin / 2) % ctas) : -1;
    run_cluster(L, c, lag);
  }
  g_launch = nullptr;
  g_block = nullptr;
  g_cluster = nullptr;
  g_body = nullptr;
  return (L.aborted || L.reports > 0) ? cudaErrorLaunchFailure : cudaSuccess;
}

// ---- the device-side runtime interface (k4j_emu/runtime.h)

uint3 thread_idx() { return g_thread->tid; }
uint3 block_idx() { return g_block->idx; }
dim3 block_dim() { return g_block->dim; }
dim3 grid_dim() { return g_launch->grid; }
void *dynamic_smem() { return g_block->dyn; }
void fence() {}

void suspend_current_thread() { yield(); }

void syncthreads() {
  Thread &t = *g_thread;
  t.state = ThreadState::kAtBarrier;
  yield();
}

void syncwarp(unsigned mask) { warp_arrive(WarpOpKind::kSyncwarp, mask, 0, 0, nullptr, nullptr, 0); }

uint64_t shfl(ShflMode mode, unsigned mask, uint64_t value, unsigned bytes, int arg, int width) {
  (void)bytes;
  if (width <= 0 || width > 32 || (width & (width - 1)) != 0)
    report(Check::kSync, true, "__shfl*_sync: width %d is not a power of two in [1, 32]", width);
  uint64_t out = 0;
  warp_arrive(WarpOpKind::kShfl, mask, arg, width | ((int)mode << 8), nullptr, &out, value);
  return out;
}

unsigned vote(VoteMode mode, unsigned mask, bool pred) {
  unsigned out = 0;
  warp_arrive(WarpOpKind::kVote, mask, 0, (int)mode, nullptr, &out, pred ? 1 : 0);
  return out;
}

unsigned match_any(unsigned mask, uint64_t value) {
  unsigned out = 0;
  warp_arrive(WarpOpKind::kMatch, mask, 0, 0, nullptr, &out, value);
  return out;
}

unsigned activemask() {
  unsigned m = 0;
  for (int l = 0; l < kWarpSize; ++l) {
    Thread *u = lane_thread(*g_block, g_thread->warp, l);
    if (u && u->state != ThreadState::kExited) m |= 1u << l;
  }
  return m;
}

void ldmatrix(int num, bool trans, const void *row_addr, uint32_t *regs) {
  warp_arrive(WarpOpKind::kLdmatrix, 0xffffffffu, num, trans ? 1 : 0, row_addr, regs, 0);
}

void mma_16816(MmaKind kind, float *d, const uint32_t *a, const uint32_t *b) {
  const uint32_t *io[2] = {a, b};
  warp_arrive(WarpOpKind::kMma, 0xffffffffu, (int)kind, 16, io, d, 0);
}

void mma_16832(MmaKind kind, float *d, const uint32_t *a, const uint32_t *b) {
  if (options().arch < 890)
    report(Check::kSync, true, "mma.sync.m16n8k32 with e4m3/e5m2 needs sm_89 or newer; the emulated device is sm_%d",
           options().arch / 10);
  const uint32_t *io[2] = {a, b};
  warp_arrive(WarpOpKind::kMma, 0xffffffffu, (int)kind, 32, io, d, 0);
}

// cp.async (PTX ISA "cp.async"): the copy is queued; its bytes land in shared memory only when a
// cp.async.wait_group retires its group, so a kernel that reads before waiting sees stale data.
void cp_async_16(void *smem_dst, const void *gmem_src, int src_bytes) {
  Thread &t = *g_thread;
  if (src_bytes < 0 || src_bytes > 16)
    report(Check::kMemcheck, true, "cp.async: src-size %d is outside [0, 16]", src_bytes);
  if (((uintptr_t)smem_dst & 15) != 0 || ((uintptr_t)gmem_src & 15) != 0)
    report(Check::kMemcheck, true, "cp.async: 16-byte copy with unaligned address (dst %p, src %p)", smem_dst,
           gmem_src);
  if (!is_shared(smem_dst, 16))
    report(Check::kMemcheck, true, "cp.async: destination %p is not 16 bytes of shared memory", smem_dst);
  if (src_bytes > 0) check_global(gmem_src, (size_t)src_bytes, false, "cp.async source");
  t.open_group.push_back(PendingCopy{static_cast<uint8_t *>(smem_dst), static_cast<const uint8_t *>(gmem_src), src_bytes});
}

void cp_async_commit() {
  Thread &t = *g_thread;
  t.groups.push_back(std::move(t.open_group));
  t.open_group.clear();
}

void cp_async_wait(int n) {
  Thread &t = *g_thread;
  while ((int)t.groups.size() > n) {
    for (const PendingCopy &c : t.groups.front()) {
      shared_access(t, c.dst, 16, true, false);
      std::memcpy(c.dst, c.src, (size_t)c.src_bytes);
      std::memset(c.dst + c.src_bytes, 0, (size_t)(16 - c.src_bytes));
    }
    t.groups.erase(t.groups.begin());
  }
}

void atomic_access(const void *p, unsigned bytes) {
  if (g_thread == nullptr) return;
  if (is_shared(p, bytes)) shared_access(*g_thread, static_cast<const uint8_t *>(p), bytes, true, true);
  else check_global(p, bytes, true, "atomic");
}

// --- Hopper: wgmma hooks (the instructions themselves are in wgmma.cpp)
unsigned elect_lane(unsigned mask) {
  unsigned out = 0;
  warp_arrive(WarpOpKind::kElect, mask, 0, 0, nullptr, &out, 0);
  return out;
}

}  // namespace k4j::emu
