// Hopper warpgroup instructions of the emulated device: wgmma (descriptors, mma_async, fence,
// commit_group, wait_group), elect.sync, setmaxnreg and named barriers (bar.sync/bar.arrive with an
// id). The PTX ISA sections are cited next to each wrapper in cuda-kernels/common/ptx.cuh; the
// layouts and numerics are the pure functions of emulator/ptx (k4j_emu/wgmma_ops.h).
//
// A warpgroup is warps 4g..4g+3. wgmma.mma_async and setmaxnreg are warpgroup collectives here:
// all 128 threads must arrive (a missing, exited or absent warp is reported); the last to arrive
// performs the operation for all. wgmma.mma_async reads its shared-memory operands when it is
// issued (checked as reads by the warpgroup's first thread by initcheck and read-after-write
// racecheck) and computes D at once, but each thread's accumulator registers receive D only when that thread's
// wgmma.wait_group retires the op's group: a kernel that reads them earlier sees the old values.
// Racecheck also knows which shared bytes each op in flight reads: a write to them by a thread of
// the warpgroup that has not waited for the op, or by any other thread before the op completed
// (before any thread of the warpgroup waited for it), is reported; so is any other change to them
// found when the op completes.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "emu_internal.h"
#include "k4j_emu/wgmma_ops.h"

namespace k4j::emu {

namespace {

constexpr int kWarpgroupThreads = 128;

// The element types of the wgmma forms the emulator executes (m64nNk32 e4m3, m64nNk16 bf16).
enum class WgmmaType { kE4M3, kBF16 };

// This file's code runs on the calling CUDA thread's fiber but is emulator code: while it runs, the
// sanitizer must not check accesses (a std:: template it calls may be the copy the linker took from
// an instrumented translation unit). Restored on return; again() after the fiber was resumed.
struct EmulatorCode {
  bool prev;
  EmulatorCode() : prev(tls_in_kernel) { tls_in_kernel = false; }
  ~EmulatorCode() { tls_in_kernel = prev; }
  void again() { tls_in_kernel = false; }
};

// Back to the scheduler until made runnable again (resuming sets tls_in_kernel), then emulator code.
void wait_here() {
  suspend_current_thread();
  tls_in_kernel = false;
}

// One operand of a wgmma: rows (M rows of A, N columns of B) x 32 bytes of K (k32 FP8 or k16 BF16),
// gathered at issue into K-major form whatever its shared-memory layout.
struct Operand {
  ptx::WgmmaDesc desc;
  int rows = 0;
  int elem_bytes = 1;          // 1 (e4m3) or 2 (bf16)
  bool mn_major = false;       // imm-trans-a / imm-trans-b = 1
  bool from_regs = false;      // A from registers (no descriptor, no shared memory)
  std::vector<uint8_t> bytes;  // rows x 32, gathered at issue
};

struct WgmmaOp {
  int n = 0;
  int first = 0;  // the warpgroup's first thread (linear id)
  float *d[kWarpgroupThreads] = {};
  std::vector<float> result;  // [128][n/2]
  Operand a, b;
  int pending = 0;  // threads that have not retired it yet
  bool any_retired = false;      // the op has completed (some thread's wait_group returned)
  // Who observed the completion, when: a later write by another thread is ordered after it through
  // that thread's mbarrier arrivals (racecheck clock), or through a barrier completed since (epoch).
  struct Retire {
    int thread;
    uint32_t clock, epoch;
  };
  std::vector<Retire> retires;
  std::vector<uint32_t> chunks;  // sorted shared offsets of the 16-byte chunks it reads
};

struct NamedBarrier {
  int count = 0, arrived = 0;
  std::vector<int> waiting;
  std::vector<int> arrivals;  // threads arrived in the current phase
};

// State of a CTA (per CTA rank of the running cluster; reset by hopper_block_reset).
struct HopperBlock {
  std::vector<std::unique_ptr<WgmmaOp>> ops;  // by id
  std::vector<uint32_t> inflight;             // ids of ops some thread has not retired
  NamedBarrier bars[16];
  std::vector<int> maxnreg;  // per warpgroup: the count of its last setmaxnreg (0: none yet)
};
std::vector<HopperBlock> g_hbs;  // by CTA rank
HopperBlock &hb() { return g_hbs[current_block()->rank]; }

// The arguments a thread brings to a warpgroup collective (on its stack while it waits there).
struct WgmmaArgs {
  WgmmaType type;
  int n;
  float *d;
  uint64_t desc_a, desc_b;
  const uint32_t *a_regs;  // A from registers (4 per thread, bf16 only), or null: A from desc_a
  int trans_a, trans_b;
  int scale_d;
};

int warpgroup_first(const Thread &t) { return (t.warp / 4) * kWarpgroupThreads; }

// Arrival at a warpgroup collective. Returns true in the last thread to arrive, which performs the
// operation and then calls wg_release; the others return false once released (results written).
bool wg_arrive(WarpOpKind kind) {
  Thread &t = *current_thread();
  Block &b = *current_block();
  const int first = warpgroup_first(t);
  const char *name = hopper_op_name(kind);
  if (first + kWarpgroupThreads > b.nthreads)
    report(Check::kSync, true,
           "%s: warpgroup %d (threads %d..%d) is incomplete: the block has %d threads, and a warpgroup "
           "instruction needs all 128 threads of 4 consecutive warps",
           name, first / kWarpgroupThreads, first, first + kWarpgroupThreads - 1, b.nthreads);
  t.state = ThreadState::kAtWarp;
  t.op = kind;
  t.mask = 0xffffffffu;
  int arrived = 0;
  for (int i = first; i < first + kWarpgroupThreads; ++i) {
    Thread &u = b.threads[i];
    if (u.state == ThreadState::kExited)
      report(Check::kSync, true,
             "%s: warpgroup %d needs all 128 threads (warps %d..%d), but thread %d (warp %d lane %d) has exited",
             name, first / kWarpgroupThreads, first / 32, first / 32 + 3, u.linear, u.warp, u.lane);
    if (u.state == ThreadState::kAtWarp && u.op == kind) ++arrived;
    else if (u.state == ThreadState::kAtWarp && u.warp == t.warp)
      report(Check::kSync, true,
             "warp %d: lane %d waits in %s while lane %d calls %s (divergent warp or warpgroup collectives)", t.warp,
             u.lane, hopper_op_name(u.op), t.lane, name);
  }
  if (arrived < kWarpgroupThreads) {
    wait_here();
    return false;
  }
  return true;
}

void wg_release(int first) {
  Block &b = *current_block();
  for (int i = first; i < first + kWarpgroupThreads; ++i) {
    b.threads[i].state = ThreadState::kRunnable;
    b.threads[i].op = WarpOpKind::kNone;
  }
}

const char *operand_name(char which) { return which == 'A' ? "A" : "B"; }

// Checks a descriptor against the ISA's rules and what the emulator models; fatal on violation.
ptx::WgmmaDesc check_desc(uint64_t raw, char which, const Operand &o) {
  const ptx::WgmmaDesc d = ptx::wgmma_desc_decode(raw);
  if (ptx::wgmma_desc_reserved_bits(raw))
    report(Check::kSync, true, "wgmma.mma_async: descriptor of %s (0x%016llx) has reserved bits set", operand_name(which),
           (unsigned long long)raw);
  if (d.swizzle != ptx::WgmmaSwizzle::kNone) {
    const uint32_t row = (uint32_t)ptx::swizzle_row_bytes(d.swizzle);
    const uint32_t rep = (uint32_t)ptx::swizzle_repeat_bytes(d.swizzle);
    if (d.base_offset != 0)
      report(Check::kSync, true,
             "wgmma.mma_async: descriptor of %s has base offset %u; the emulator models base offset 0 only (swizzled "
             "tiles aligned to the %u-byte pattern repeat)",
             operand_name(which), d.base_offset, rep);
    if ((d.start_address % rep) >= 128)
      report(Check::kSync, true,
             "wgmma.mma_async: descriptor of %s starts at shared offset %u, %u bytes into a %u-byte swizzle pattern "
             "with base offset 0 (PTX ISA \"Matrix Descriptor Format\": the base offset must then say where the "
             "pattern starts; align swizzled tiles to %u bytes)",
             operand_name(which), d.start_address, d.start_address % rep, rep, rep);
    if (!o.mn_major && d.start_address % row + 32 > row)
      report(Check::kSync, true,
             "wgmma.mma_async: descriptor of %s starts at byte %u of a %u-byte swizzled row: the 32 bytes of K of a "
             "k32 (FP8) or k16 (BF16) step would leave the row",
             operand_name(which), d.start_address % row, row);
    // MN-major: a swizzled row holds row / elem_bytes elements of MN (then LBO to the next atom).
    const uint32_t mn_bytes = std::min<uint32_t>(row, (uint32_t)(o.rows * o.elem_bytes));
    if (o.mn_major && d.start_address % row + mn_bytes > row)
      report(Check::kSync, true,
             "wgmma.mma_async: MN-major descriptor of %s starts at byte %u of a %u-byte swizzled row: its %u bytes of "
             "M/N would leave the row",
             operand_name(which), d.start_address % row, row, mn_bytes);
  }
  return d;
}

// Shared-window address of byte `kbyte` (0..31) of K-major row `row` of operand o, for either
// layout (the ISA's "Shared Memory Matrix Layout" maps, k4j_emu/wgmma_ops.h).
uint32_t operand_address(const Operand &o, int row, int kbyte) {
  if (!o.mn_major) return ptx::wgmma_kmajor_address(o.desc, row, kbyte);
  return ptx::wgmma_mnmajor_address(o.desc, row, kbyte / o.elem_bytes, o.elem_bytes) + (uint32_t)(kbyte % o.elem_bytes);
}

// Gathers an operand's rows x 32 bytes (K-major form) from the block's dynamic shared memory, 16
// contiguous bytes at a time (a swizzle moves whole 16-byte chunks: K-major, half a row of K;
// MN-major, 16 / elem_bytes consecutive M/N elements of one K). reader: also check the reads
// (initcheck, read-after-write) as reads by that thread; write-after-read against them is
// hopper_shared_write's, which knows when the op completes.
void gather(const Operand &o, char which, std::vector<uint8_t> &out, Thread *reader,
            std::vector<uint32_t> *chunks = nullptr) {
  Block &b = *current_block();
  out.resize((size_t)o.rows * 32);
  const int eb = o.elem_bytes, per_chunk = 16 / eb;
  auto read = [&](uint32_t addr, int row, int kbyte) {
    if ((size_t)addr + 16 > b.dyn_bytes)
      report(Check::kMemcheck, true,
             "wgmma.mma_async: %s %s %d, K byte %d: 16 bytes at shared offset %u are outside the launch's %zu bytes "
             "of dynamic shared memory",
             operand_name(which), o.mn_major ? "M/N index" : "row", row, kbyte, addr, b.dyn_bytes);
    const uint8_t *p = b.dyn + addr;
    if (reader) {
      shared_access(*reader, p, 16, false, false, /*record_read=*/false);
      async_proxy_read(p, 16, "wgmma.mma_async (an operand)");  // wgmma reads through the async proxy
    }
    if (chunks) chunks->push_back(addr);
    return p;
  };
  if (!o.mn_major) {
    for (int r = 0; r < o.rows; ++r)
      for (int half = 0; half < 2; ++half)
        std::memcpy(&out[(size_t)r * 32 + 16 * half], read(operand_address(o, r, 16 * half), r, 16 * half), 16);
    return;
  }
  for (int k = 0; k < 32 / eb; ++k)
    for (int mn = 0; mn < o.rows; mn += per_chunk) {
      const uint8_t *p = read(ptx::wgmma_mnmajor_address(o.desc, mn, k, eb), mn, k * eb);
      for (int e = 0; e < per_chunk; ++e) std::memcpy(&out[(size_t)(mn + e) * 32 + k * eb], p + e * eb, (size_t)eb);
    }
}

std::vector<float> *retired_values(WgmmaThread &w, float *d) {
  for (auto &e : w.retired)
    if (e.first == d) return &e.second;
  return nullptr;
}

uint32_t *chained_op(WgmmaThread &w, float *d) {
  for (auto &e : w.chained)
    if (e.first == d) return &e.second;
  return nullptr;
}

// The performing thread's part of wgmma.mma_async for the whole warpgroup.
void perform_wgmma(int first) {
  Block &b = *current_block();
  const WgmmaArgs &a0 = *static_cast<const WgmmaArgs *>(b.threads[first].op_in);
  for (int i = first; i < first + kWarpgroupThreads; ++i) {
    const Thread &u = b.threads[i];
    const WgmmaArgs &ai = *static_cast<const WgmmaArgs *>(u.op_in);
    if (ai.type != a0.type || ai.n != a0.n || (ai.a_regs == nullptr) != (a0.a_regs == nullptr) ||
        (!a0.a_regs && ai.desc_a != a0.desc_a) || ai.desc_b != a0.desc_b || ai.trans_a != a0.trans_a ||
        ai.trans_b != a0.trans_b || (ai.scale_d != 0) != (a0.scale_d != 0))
      report(Check::kSync, true,
             "wgmma.mma_async: thread %d and thread %d of warpgroup %d give different types, shapes, descriptors, "
             "transposes or scale-d (they must be the same across the warpgroup)",
             first, i, first / kWarpgroupThreads);
    if (u.wg.open.size() != b.threads[first].wg.open.size() || u.wg.groups.size() != b.threads[first].wg.groups.size())
      report(Check::kSync, true,
             "wgmma.mma_async: warps of warpgroup %d disagree on pending wgmma groups (thread %d: %zu uncommitted, %zu "
             "committed; thread %d: %zu, %zu): a wgmma.commit_group or wgmma.wait_group is missing in some warp",
             first / kWarpgroupThreads, first, b.threads[first].wg.open.size(), b.threads[first].wg.groups.size(), i,
             u.wg.open.size(), u.wg.groups.size());
  }
  const int n = a0.n;
  const int regs = n / 2;
  auto op = std::make_unique<WgmmaOp>();
  op->n = n;
  op->first = first;
  const int eb = a0.type == WgmmaType::kBF16 ? 2 : 1;
  op->a.rows = 64;
  op->b.rows = n;
  op->a.elem_bytes = op->b.elem_bytes = eb;
  op->a.mn_major = a0.trans_a != 0;
  op->b.mn_major = a0.trans_b != 0;
  op->a.from_regs = a0.a_regs != nullptr;
  Thread *reader = &b.threads[first];
  if (op->a.from_regs) {
    // A from registers, read at issue (the ISA requires them unchanged until the wait): thread t's
    // register r, element e is A element frag_wgmma_m64k16_a(t, r, e).
    op->a.bytes.resize(64 * 32);
    for (int i = 0; i < kWarpgroupThreads; ++i) {
      const uint32_t *regs = static_cast<const WgmmaArgs *>(b.threads[first + i].op_in)->a_regs;
      for (int r = 0; r < 4; ++r)
        for (int e = 0; e < 2; ++e) {
          const ptx::RowCol rc = ptx::frag_wgmma_m64k16_a(i, r, e);
          const uint16_t v = (uint16_t)(regs[r] >> (16 * e));
          std::memcpy(&op->a.bytes[(size_t)rc.row * 32 + 2 * rc.col], &v, 2);
        }
    }
  } else {
    op->a.desc = check_desc(a0.desc_a, 'A', op->a);
    gather(op->a, 'A', op->a.bytes, reader, &op->chunks);
  }
  op->b.desc = check_desc(a0.desc_b, 'B', op->b);
  gather(op->b, 'B', op->b.bytes, reader, &op->chunks);
  std::sort(op->chunks.begin(), op->chunks.end());
  op->chunks.erase(std::unique(op->chunks.begin(), op->chunks.end()), op->chunks.end());

  // C: the accumulator each thread's registers will hold when this op runs in order after the
  // warpgroup's pending ones on the same registers (the ISA orders same-shape accumulator chains).
  std::vector<float> c((size_t)kWarpgroupThreads * regs, 0.f);
  bool fence_reported = false;
  for (int i = 0; i < kWarpgroupThreads; ++i) {
    Thread &u = b.threads[first + i];
    const WgmmaArgs &ai = *static_cast<const WgmmaArgs *>(u.op_in);
    op->d[i] = ai.d;
    const uint32_t *prev = chained_op(u.wg, ai.d);
    if (prev && hb().ops[*prev]) {
      std::memcpy(&c[(size_t)i * regs], &hb().ops[*prev]->result[(size_t)i * regs], sizeof(float) * regs);
    } else {
      std::memcpy(&c[(size_t)i * regs], ai.d, sizeof(float) * regs);
      // PTX ISA "wgmma.fence": required before the first wgmma.mma_async, and between another access
      // to the accumulator registers and a wgmma.mma_async that uses them. Detected: no fence ever,
      // or registers changed since wait_group wrote them and no fence since.
      const std::vector<float> *last = retired_values(u.wg, ai.d);
      const bool changed =
          last && (last->size() != (size_t)regs || std::memcmp(last->data(), ai.d, sizeof(float) * regs) != 0);
      if (!fence_reported && (!u.wg.ever_fenced || (!u.wg.fenced && changed))) {
        report(Check::kSync, false,
               "wgmma.mma_async: thread %d issues it without a wgmma.fence %s (PTX ISA \"wgmma.fence\")", u.linear,
               u.wg.ever_fenced ? "after its accumulator registers were written by other instructions"
                                : "before its first wgmma.mma_async");
        fence_reported = true;
        u.wg.ever_fenced = true;  // one report of a missing first fence per thread is enough
      }
    }
  }
  op->result.resize((size_t)kWarpgroupThreads * regs);
  if (a0.type == WgmmaType::kBF16) {
    std::vector<uint16_t> a16(64 * 16), b16((size_t)n * 16);  // little-endian codes, K-major
    std::memcpy(a16.data(), op->a.bytes.data(), op->a.bytes.size());
    std::memcpy(b16.data(), op->b.bytes.data(), op->b.bytes.size());
    ptx::wgmma_m64nk16_bf16_f32(n, a16.data(), b16.data(), c.data(), op->result.data(), a0.scale_d != 0);
  } else {
    ptx::Fp8MmaModel model;
    model.accum = options().fp8_accum;
    ptx::wgmma_m64nk32_fp8_f32(ptx::Fp8Type::kE4M3, ptx::Fp8Type::kE4M3, n, op->a.bytes.data(), op->b.bytes.data(),
                               c.data(), op->result.data(), a0.scale_d != 0, model);
  }
  op->pending = kWarpgroupThreads;
  const uint32_t id = (uint32_t)hb().ops.size();
  for (int i = 0; i < kWarpgroupThreads; ++i) {
    WgmmaThread &w = b.threads[first + i].wg;
    w.open.push_back(id);
    if (uint32_t *prev = chained_op(w, op->d[i])) *prev = id;
    else w.chained.emplace_back(op->d[i], id);
  }
  hb().ops.push_back(std::move(op));
  hb().inflight.push_back(id);
}

// Retires op `id` for the calling thread: its registers get D.
void retire(Thread &t, uint32_t id) {
  WgmmaOp *op = hb().ops[id].get();
  const int i = t.linear - op->first;
  const int regs = op->n / 2;
  op->retires.push_back({t.gid, mbarrier_clock(t.gid), current_block()->barrier_epoch});
  if (!op->any_retired) {
    // The op completes here. Writes the sanitizer saw were checked as they happened
    // (hopper_shared_write); this also catches changes made by no thread (a copy engine).
    op->any_retired = true;
    if (options().racecheck) {
      std::vector<uint8_t> now;
      for (Operand *o : {&op->a, &op->b}) {
        if (o->from_regs) continue;
        gather(*o, o == &op->a ? 'A' : 'B', now, nullptr);
        if (now != o->bytes) {
          size_t k = 0;
          while (now[k] == o->bytes[k]) ++k;
          report(Check::kRacecheck, false,
                 "shared memory operand %s of a wgmma.mma_async of warpgroup %d (row %zu, byte %zu, shared offset %u) "
                 "changed between the wgmma and the wgmma.wait_group that retires it: overwritten before the wgmma "
                 "finished reading it",
                 o == &op->a ? "A" : "B", op->first / kWarpgroupThreads, k / 32, k % 32,
                 operand_address(*o, (int)(k / 32), (int)(k % 32)));
          break;
        }
      }
    }
  }
  float *d = op->d[i];
  std::memcpy(d, &op->result[(size_t)i * regs], sizeof(float) * regs);
  std::vector<float> *last = retired_values(t.wg, d);
  if (!last) {
    t.wg.retired.emplace_back(d, std::vector<float>());
    last = &t.wg.retired.back().second;
  }
  last->assign(d, d + regs);
  for (size_t k = 0; k < t.wg.chained.size(); ++k)
    if (t.wg.chained[k].second == id) {
      t.wg.chained.erase(t.wg.chained.begin() + (long)k);
      break;
    }
  if (--op->pending == 0) {
    hb().ops[id].reset();
    hb().inflight.erase(std::find(hb().inflight.begin(), hb().inflight.end(), id));
  }
}

void perform_setmaxnreg(int first) {
  Block &b = *current_block();
  const Thread &t0 = b.threads[first];
  if (t0.op_arg < 24 || t0.op_arg > 256 || t0.op_arg % 8 != 0)
    report(Check::kSync, false,
           "setmaxnreg.%s %d (warpgroup %d): the count must be a multiple of 8 in [24, 256] (PTX ISA "
           "\"setmaxnreg\"); ignored",
           t0.op_arg2 ? "inc" : "dec", t0.op_arg, first / kWarpgroupThreads);
  for (int i = first; i < first + kWarpgroupThreads; ++i) {
    const Thread &u = b.threads[i];
    if (u.op_arg != t0.op_arg || u.op_arg2 != t0.op_arg2) {
      report(Check::kSync, false,
             "setmaxnreg: thread %d asks for %s %d and thread %d for %s %d: the count must be the same across the "
             "warpgroup (PTX ISA \"setmaxnreg\"); ignored",
             first, t0.op_arg2 ? "inc" : "dec", t0.op_arg, i, u.op_arg2 ? "inc" : "dec", u.op_arg);
      break;
    }
  }
  // .dec must not raise and .inc must not lower the warpgroup's count (known after its first
  // setmaxnreg; the compiled count before that is not). Registers are not a resource here: a valid
  // setmaxnreg changes nothing else the emulator models.
  const size_t g = (size_t)(first / kWarpgroupThreads);
  if (hb().maxnreg.size() <= g) hb().maxnreg.resize(g + 1, 0);
  const int cur = hb().maxnreg[g], want = t0.op_arg;
  if (cur != 0 && (t0.op_arg2 ? want < cur : want > cur))
    report(Check::kSync, false,
           "setmaxnreg.%s %d (warpgroup %d): the warpgroup holds %d registers per thread; .%s must not %s the count "
           "(PTX ISA \"setmaxnreg\"); ignored",
           t0.op_arg2 ? "inc" : "dec", want, first / kWarpgroupThreads, cur, t0.op_arg2 ? "inc" : "dec",
           t0.op_arg2 ? "lower" : "raise");
  else if (want >= 24 && want <= 256 && want % 8 == 0)
    hb().maxnreg[g] = want;
}

// The calling thread's part of a wgmma.mma_async: arrive; the last of the warpgroup performs it.
void issue_wgmma(const WgmmaArgs &args) {
  Thread &t = *current_thread();
  t.op_in = &args;
  if (!wg_arrive(WarpOpKind::kWgmma)) return;
  const int first = warpgroup_first(t);
  perform_wgmma(first);
  wg_release(first);
}

}  // namespace

// ---- hooks (emu_internal.h)

void hopper_block_reset(Block &b) {
  if (g_hbs.size() <= (size_t)b.rank) g_hbs.resize(b.rank + 1);
  Block *prev = set_current_block(&b);
  hb().ops.clear();
  hb().inflight.clear();
  hb().maxnreg.clear();
  for (NamedBarrier &nb : hb().bars) nb = NamedBarrier{};
  set_current_block(prev);
}

// Whether thread w's accesses now are ordered after op's completion: w waited for it itself, or a
// barrier completed since some thread waited for it, or w acquired (mbarrier wait) what such a
// thread released after its wait. Threads by gid (w may be another CTA's: a multicast's issuer).
bool ordered_after_completion(const WgmmaOp &op, int w) {
  const Block &b = *current_block();
  for (const WgmmaOp::Retire &e : op.retires)
    if (e.thread == w || b.barrier_epoch > e.epoch || ordered_by_mbarrier(w, e.thread, e.clock)) return true;
  return false;
}

// A shared-memory write while a wgmma.mma_async may still read the bytes: by a thread not ordered
// after the op's completion (see ordered_after_completion), or by a TMA load landing before it.
void hopper_shared_write(Thread *t, const uint8_t *p, size_t n) {
  EmulatorCode in_emulator;
  if (hb().inflight.empty() || !options().racecheck) return;
  Block &b = *current_block();
  if (p + n <= b.dyn || p >= b.dyn + b.dyn_bytes) return;
  const uint8_t *end = b.dyn + b.dyn_bytes;
  const uint32_t lo = (uint32_t)((p < b.dyn ? b.dyn : p) - b.dyn);
  const uint32_t hi = (uint32_t)((p + n > end ? end : p + n) - b.dyn);
  for (uint32_t id : hb().inflight) {
    const WgmmaOp &op = *hb().ops[id];
    const bool own = t && t->gid / b.nthreads == b.rank;  // t belongs to the CTA whose op this is
    const int i = own ? t->linear - op.first : -1;
    const bool member = i >= 0 && i < kWarpgroupThreads;
    if (t ? ordered_after_completion(op, t->gid) : op.any_retired) continue;
    // The first chunk that ends after lo: does it start before hi?
    auto it = std::upper_bound(op.chunks.begin(), op.chunks.end(), lo, [](uint32_t v, uint32_t c) { return v < c + 16; });
    if (it == op.chunks.end() || *it >= hi) continue;
    char who[48];
    if (t) snprintf(who, sizeof who, "thread %d", t->linear);
    else snprintf(who, sizeof who, "a TMA load");
    report(Check::kRacecheck, false,
           "write-after-read hazard on shared memory %p: %s overwrites an operand of a wgmma.mma_async of "
           "warpgroup %d %s: the wgmma may still be reading it",
           (const void *)p, who, op.first / kWarpgroupThreads,
           member ? "before waiting for it (wgmma.wait_group)"
           : t    ? "with nothing ordering the write after a wgmma.wait_group that retired it (a wait of its own, "
                    "a barrier since, or an mbarrier released after such a wait)"
                  : "before any thread waited for it");
    return;
  }
}

const char *hopper_op_name(WarpOpKind k) {
  switch (k) {
    case WarpOpKind::kElect: return "elect.sync";
    case WarpOpKind::kWgmma: return "wgmma.mma_async.sync.aligned";
    case WarpOpKind::kSetmaxnreg: return "setmaxnreg.sync.aligned";
    default: return "?";
  }
}

bool hopper_diagnose_deadlock(Block &b) {
  for (Thread &t : b.threads) {
    if (t.state == ThreadState::kAtWarp && (t.op == WarpOpKind::kWgmma || t.op == WarpOpKind::kSetmaxnreg)) {
      const int first = warpgroup_first(t);
      for (int i = first; i < first + kWarpgroupThreads; ++i) {
        const Thread &u = b.threads[i];
        if (u.state == ThreadState::kAtWarp && u.op == t.op) continue;
        report(Check::kSync, false,
               "deadlock: warpgroup %d waits in %s (all 128 threads of warps %d..%d must take part), but thread %d "
               "(warp %d lane %d) %s",
               first / kWarpgroupThreads, hopper_op_name(t.op), first / 32, first / 32 + 3, u.linear, u.warp, u.lane,
               u.state == ThreadState::kAtBarrier      ? "waits at __syncthreads"
               : u.state == ThreadState::kAtWarp         ? "waits in another warp collective"
               : u.state == ThreadState::kAtNamedBarrier ? "waits at a named barrier"
                                                         : "has exited");
        return true;
      }
    }
  }
  for (int id = 0; id < 16; ++id) {
    const NamedBarrier &nb = hb().bars[id];
    if (nb.waiting.empty()) continue;
    int exited = 0;
    for (const Thread &t : b.threads) exited += t.state == ThreadState::kExited;
    report(Check::kSync, false,
           "deadlock: named barrier %d waits for %d threads, %d arrived (thread %d waits; %d threads of the block "
           "have exited)",
           id, nb.count, nb.arrived, nb.waiting.front(), exited);
    return true;
  }
  return false;
}

// ---- wgmma (k4j_emu/runtime.h)

uint64_t wgmma_desc(const void *smem, int swizzle_bytes, uint32_t lbo_bytes, uint32_t sbo_bytes) {
  EmulatorCode in_emulator;
  require_sm90("a wgmma descriptor");
  Block &b = *current_block();
  const uint8_t *p = static_cast<const uint8_t *>(smem);
  if (p < b.dyn || p >= b.dyn + b.dyn_bytes)
    report(Check::kMemcheck, true,
           "wgmma descriptor: %p is not in the launch's dynamic shared memory (the emulator places wgmma operands "
           "there only)",
           smem);
  const uint32_t addr = (uint32_t)(p - b.dyn);
  if (addr % 16 != 0 || lbo_bytes % 16 != 0 || sbo_bytes % 16 != 0 || addr >= (1u << 18) || lbo_bytes >= (1u << 18) ||
      sbo_bytes >= (1u << 18))
    report(Check::kSync, true,
           "wgmma descriptor: start offset %u, LBO %u, SBO %u must be multiples of 16 below 2^18 (PTX ISA \"Matrix "
           "Descriptor Format\")",
           addr, lbo_bytes, sbo_bytes);
  if (swizzle_bytes != 0 && swizzle_bytes != 32 && swizzle_bytes != 64 && swizzle_bytes != 128)
    report(Check::kSync, true, "wgmma descriptor: swizzle %d bytes; the modes are 0 (none), 32, 64 and 128",
           swizzle_bytes);
  ptx::WgmmaDesc d;
  d.swizzle = ptx::swizzle_from_bytes(swizzle_bytes);
  d.start_address = addr;
  d.lbo = lbo_bytes;
  d.sbo = sbo_bytes;
  return ptx::wgmma_desc_encode(d);
}

void wgmma_fence() {
  EmulatorCode in_emulator;
  require_sm90("wgmma.fence");
  Thread &t = *current_thread();
  t.wg.fenced = t.wg.ever_fenced = true;
}

void wgmma_commit_group() {
  EmulatorCode in_emulator;
  require_sm90("wgmma.commit_group");
  Thread &t = *current_thread();
  t.wg.groups.push_back(std::move(t.wg.open));
  t.wg.open.clear();
}

void wgmma_wait_group(int n) {
  EmulatorCode in_emulator;
  require_sm90("wgmma.wait_group");
  Thread &t = *current_thread();
  while ((int)t.wg.groups.size() > n) {
    for (uint32_t id : t.wg.groups.front()) retire(t, id);
    t.wg.groups.erase(t.wg.groups.begin());
  }
  t.wg.fenced = false;  // register accesses after the wait need a new wgmma.fence before the next wgmma
}

void wgmma_e4m3_m64k32(int n, float *d, uint64_t desc_a, uint64_t desc_b, int scale_d) {
  EmulatorCode in_emulator;
  require_sm90("wgmma.mma_async");
  if (n < 8 || n > 256 || n % 8 != 0)
    report(Check::kSync, true, "wgmma.mma_async m64nNk32: N = %d is not a multiple of 8 in [8, 256]", n);
  issue_wgmma(WgmmaArgs{WgmmaType::kE4M3, n, d, desc_a, desc_b, nullptr, 0, 0, scale_d});
}

void wgmma_bf16_m64k16(int n, float *d, uint64_t desc_a, const uint32_t *a_regs, uint64_t desc_b, int trans_a,
                       int trans_b, int scale_d) {
  EmulatorCode in_emulator;
  require_sm90("wgmma.mma_async");
  if (n < 8 || n > 256 || n % 8 != 0)
    report(Check::kSync, true, "wgmma.mma_async m64nNk16: N = %d is not a multiple of 8 in [8, 256]", n);
  if (a_regs && trans_a)
    report(Check::kSync, true, "wgmma.mma_async m64nNk16: A from registers has no imm-trans-a (PTX ISA \"wgmma.mma_async\")");
  issue_wgmma(WgmmaArgs{WgmmaType::kBF16, n, d, desc_a, desc_b, a_regs, trans_a != 0, trans_b != 0, scale_d});
}

// ---- elect.sync, setmaxnreg, named barriers

bool elect_one_sync() {
  EmulatorCode in_emulator;
  require_sm90("elect.sync");
  return elect_lane(0xffffffffu) == (unsigned)current_thread()->lane;
}

void setmaxnreg(bool inc, int regs) {
  EmulatorCode in_emulator;
  require_sm90("setmaxnreg");
  Thread &t = *current_thread();
  t.op_arg = regs;
  t.op_arg2 = inc ? 1 : 0;
  if (!wg_arrive(WarpOpKind::kSetmaxnreg)) return;
  const int first = warpgroup_first(t);
  perform_setmaxnreg(first);
  wg_release(first);
}

// bar.sync / bar.arrive id, count (PTX ISA "bar, barrier"). Counted per thread (the ISA counts
// whole warps for these .aligned forms: the same when whole warps arrive, as .aligned requires).
// Completion orders shared-memory accesses for racecheck like __syncthreads (racecheck does not
// check that two racing threads both took part).
void named_barrier(bool sync, int id, int thread_count) {
  EmulatorCode in_emulator;
  Thread &t = *current_thread();
  Block &b = *current_block();
  const int warps_threads = ((b.nthreads + 31) / 32) * 32;
  if (id < 1 || id > 15)
    report(Check::kSync, true,
           "bar.%s %d: named barrier ids are 0..15 and the emulator keeps 0 for __syncthreads; use 1..15",
           sync ? "sync" : "arrive", id);
  if (thread_count <= 0 || thread_count % 32 != 0 || thread_count > warps_threads)
    report(Check::kSync, true,
           "bar.%s %d, %d: the thread count must be a positive multiple of 32 not above the block's %d threads",
           sync ? "sync" : "arrive", id, thread_count, warps_threads);
  NamedBarrier &nb = hb().bars[id];
  if (nb.arrived > 0 && nb.count != thread_count)
    report(Check::kSync, true,
           "bar.%s %d, %d: thread %d arrives with count %d while barrier %d already counts to %d (mismatched thread "
           "counts)",
           sync ? "sync" : "arrive", id, thread_count, t.linear, thread_count, id, nb.count);
  for (int a : nb.arrivals)
    if (a == t.linear)
      report(Check::kSync, true,
             "bar.%s %d: thread %d arrives again before the barrier completed (PTX ISA \"bar, barrier\": a warp "
             "must not execute more barrier instructions on it than intended before it resets)",
             sync ? "sync" : "arrive", id, t.linear);
  nb.arrivals.push_back(t.linear);
  nb.count = thread_count;
  ++nb.arrived;
  if (nb.arrived == nb.count) {
    for (int w : nb.waiting) b.threads[w].state = ThreadState::kRunnable;
    std::vector<int> gids(nb.arrivals);  // racecheck clocks are by gid
    for (int &g : gids) g += b.rank * b.nthreads;
    sync_clocks_merge(gids.data(), (int)gids.size());  // mbarrier racecheck clocks
    nb = NamedBarrier{};
    ++b.barrier_epoch;
    return;
  }
  if (!sync) return;
  nb.waiting.push_back(t.linear);
  t.state = ThreadState::kAtNamedBarrier;
  wait_here();
}

}  // namespace k4j::emu
