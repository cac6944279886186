// Tensor maps and TMA (the Tensor Memory Accelerator) for the emulated sm_90 device.
//
// Host: the CUDA driver's cuTensorMapEncodeTiled, reached as on a GPU through the runtime's driver
// entry point (cudaGetDriverEntryPoint[ByVersion]; libkernels4j links no libcuda). Its arguments are
// validated by the rules the CUDA driver API documents for cuTensorMapEncodeTiled (cuda.h, "Tensor
// Map Object Management"); a violation gives CUDA_ERROR_INVALID_VALUE, as the driver does. The
// decoded map is stored in the 128-byte opaque CUtensorMap.
//
// Device: cp.async.bulk.tensor (PTX ISA 8.x 9.7.9.25.5.1, tile mode; 5.5 "Tensors": 5.5.3
// "Tensor coordinates", 5.5.4 "Bounding box" with out-of-bounds elements filled with zeros by a
// load and not written by a store, 5.5.6/5.5.7 "Shared memory layout and swizzling"), the bulk
// async-groups (cp.async.bulk.commit_group / wait_group.read, 9.7.9.25.6), prefetch.tensormap and
// fence.proxy.async (9.7.12.4 "membar/fence").
//
// A TMA load does not copy at issue: it is in flight until the block can make no other progress
// (every live thread waits on an mbarrier or a barrier); then the loads of one mbarrier, drawn from
// the seed, land (zero-filled out of bounds, swizzled) and signal complete-tx with the box's bytes
// (out-of-bounds bytes included, as the hardware counts them). So a thread that reads a stage before
// its mbarrier phase completed reads the poisoned or stale stage, and the sanitizer reports the
// access to a range a TMA load has in flight. A TMA store reads its shared-memory source at
// cp.async.bulk.wait_group.read (the last moment the ISA allows) and writes global memory then;
// a generic write to that source before the wait is reported.
#include <cuda.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>

#include "emu_internal.h"
#include "k4j_emu/wgmma_ops.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

namespace k4j::emu {

void mbarrier_block_begin(Cluster &c);  // mbarrier.cpp
bool mbarrier_initialised(const uint64_t *bar);
uint64_t mbarrier_phase(const uint64_t *bar);  // phases completed (0 if not initialised)

namespace {

// ---------------------------------------------------------------- the decoded tensor map
constexpr uint32_t kMapMagic = 0x4b344a54;  // "K4JT": written by this emulator's encoder
constexpr int kMaxRank = 5;

struct MapDesc {
  uint32_t magic;
  uint8_t rank, dtype, interleave, swizzle, oob_fill, l2, elem_bits, pad;
  uint64_t base;
  uint64_t dims[kMaxRank];
  uint64_t strides[kMaxRank - 1];  // byte strides of dims 1..rank-1
  uint16_t box[kMaxRank];
  uint8_t elem_strides[kMaxRank];
};
static_assert(sizeof(MapDesc) <= sizeof(CUtensorMap), "the decoded map must fit the opaque CUtensorMap");

// Element size in bits per CUtensorMapDataType (cuda.h; the packed 16U4/16U6 types by value, as
// older headers lack them).
int elem_bits(int dtype) {
  switch (dtype) {
    case CU_TENSOR_MAP_DATA_TYPE_UINT8: return 8;
    case CU_TENSOR_MAP_DATA_TYPE_UINT16: case CU_TENSOR_MAP_DATA_TYPE_FLOAT16: case CU_TENSOR_MAP_DATA_TYPE_BFLOAT16:
      return 16;
    case CU_TENSOR_MAP_DATA_TYPE_UINT32: case CU_TENSOR_MAP_DATA_TYPE_INT32: case CU_TENSOR_MAP_DATA_TYPE_FLOAT32:
    case CU_TENSOR_MAP_DATA_TYPE_FLOAT32_FTZ: case CU_TENSOR_MAP_DATA_TYPE_TFLOAT32:
    case CU_TENSOR_MAP_DATA_TYPE_TFLOAT32_FTZ:
      return 32;
    case CU_TENSOR_MAP_DATA_TYPE_UINT64: case CU_TENSOR_MAP_DATA_TYPE_INT64: case CU_TENSOR_MAP_DATA_TYPE_FLOAT64:
      return 64;
    case 13: case 14: return 4;  // 16U4_ALIGN8B, 16U4_ALIGN16B
    case 15: return 6;           // 16U6_ALIGN16B
    default: return 0;
  }
}
bool is_packed(int dtype) { return dtype >= 13 && dtype <= 15; }
bool is_align16b_packed(int dtype) { return dtype == 14 || dtype == 15; }
bool is_float(int dtype) {
  switch (dtype) {
    case CU_TENSOR_MAP_DATA_TYPE_FLOAT16: case CU_TENSOR_MAP_DATA_TYPE_FLOAT32: case CU_TENSOR_MAP_DATA_TYPE_FLOAT64:
    case CU_TENSOR_MAP_DATA_TYPE_BFLOAT16: case CU_TENSOR_MAP_DATA_TYPE_FLOAT32_FTZ:
    case CU_TENSOR_MAP_DATA_TYPE_TFLOAT32: case CU_TENSOR_MAP_DATA_TYPE_TFLOAT32_FTZ:
      return true;
    default: return false;
  }
}
// The swizzle span in bytes of CU_TENSOR_MAP_SWIZZLE_* (0: none).
uint32_t swizzle_span(int swizzle) {
  switch (swizzle) {
    case CU_TENSOR_MAP_SWIZZLE_32B: return 32;
    case CU_TENSOR_MAP_SWIZZLE_64B: return 64;
    case CU_TENSOR_MAP_SWIZZLE_NONE: return 0;
    default: return 128;  // 128B and the 128B_ATOM_* variants
  }
}

// The rules of cuTensorMapEncodeTiled's documentation (cuda.h), in its order. Returns the first
// violated rule, or null.
const char *violation(const void *map, int dtype, uint32_t rank, const void *gaddr, const cuuint64_t *dims,
                      const cuuint64_t *strides, const cuuint32_t *box, const cuuint32_t *estrides, int interleave,
                      int swizzle, int l2, int oob) {
  if (map == nullptr || ((uintptr_t)map & 63) != 0) return "tensorMap address must be aligned to 64 bytes";
  const int bits = elem_bits(dtype);
  if (dtype < 0 || bits == 0) return "tensorDataType is not a CUtensorMapDataType";
  if (interleave < CU_TENSOR_MAP_INTERLEAVE_NONE || interleave > CU_TENSOR_MAP_INTERLEAVE_32B)
    return "interleave is not a CUtensorMapInterleave";
  if (swizzle < CU_TENSOR_MAP_SWIZZLE_NONE || swizzle > 6) return "swizzle is not a CUtensorMapSwizzle";
  if (l2 < CU_TENSOR_MAP_L2_PROMOTION_NONE || l2 > CU_TENSOR_MAP_L2_PROMOTION_L2_256B)
    return "l2Promotion is not a CUtensorMapL2promotion";
  if (oob < CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE || oob > CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA)
    return "oobFill is not a CUtensorMapFloatOOBfill";
  if (rank == 0 || rank > kMaxRank) return "tensorRank must be non-zero and at most 5";
  if (interleave != CU_TENSOR_MAP_INTERLEAVE_NONE && rank < 3)
    return "tensorRank must be at least 3 when interleave is not NONE";
  if (gaddr == nullptr || dims == nullptr || box == nullptr || estrides == nullptr || (rank > 1 && strides == nullptr))
    return "null globalAddress or array";
  const bool align32 = interleave == CU_TENSOR_MAP_INTERLEAVE_32B || is_align16b_packed(dtype);
  if (((uintptr_t)gaddr & 15) != 0) return "globalAddress must be 16-byte aligned";
  if (align32 && ((uintptr_t)gaddr & 31) != 0)
    return "globalAddress must be 32-byte aligned (32B interleave or a 16U4/16U6_ALIGN16B type)";
  for (uint32_t i = 0; i < rank; ++i)
    if (dims[i] == 0 || dims[i] > (1ull << 32)) return "globalDim must be non-zero and at most 2^32";
  if (is_align16b_packed(dtype) && dims[0] % 128 != 0)
    return "globalDim[0] must be a multiple of 128 for 16U4/16U6_ALIGN16B";
  if (dtype == 13 && dims[0] % 2 != 0) return "globalDim[0] must be a multiple of 2 for 16U4_ALIGN8B";
  for (uint32_t i = 0; i + 1 < rank; ++i) {
    if (strides[i] % 16 != 0) return "globalStrides must be multiples of 16";
    if (strides[i] >= (1ull << 40)) return "globalStrides must be less than 2^40";
    if (align32 && strides[i] % 32 != 0)
      return "globalStrides must be multiples of 32 (32B interleave or a 16U4/16U6_ALIGN16B type)";
  }
  for (uint32_t i = 0; i < rank; ++i)
    if (box[i] == 0 || box[i] > 256) return "boxDim must be non-zero and at most 256";
  const uint64_t inner_bits = (uint64_t)box[0] * bits;
  if (interleave == CU_TENSOR_MAP_INTERLEAVE_NONE && inner_bits % (16 * 8) != 0)
    return "boxDim[0] * elementSize must be a multiple of 16 bytes (interleave NONE)";
  if (is_align16b_packed(dtype) && box[0] != 128) return "boxDim[0] must be 128 for 16U4/16U6_ALIGN16B";
  for (uint32_t i = 0; i < rank; ++i)
    if (estrides[i] == 0 || estrides[i] > 8) return "elementStrides must be non-zero and at most 8";
  if (interleave == CU_TENSOR_MAP_INTERLEAVE_NONE && swizzle != CU_TENSOR_MAP_SWIZZLE_NONE &&
      inner_bits > 8ull * swizzle_span(swizzle))
    return "the inner box dimension (boxDim[0] * elementSize) must be at most the swizzle span";
  if (interleave == CU_TENSOR_MAP_INTERLEAVE_32B && swizzle != CU_TENSOR_MAP_SWIZZLE_32B)
    return "interleave 32B requires swizzle 32B";
  if (dtype == 15 && interleave != CU_TENSOR_MAP_INTERLEAVE_NONE) return "16U6_ALIGN16B requires interleave NONE";
  if (is_align16b_packed(dtype) && swizzle != CU_TENSOR_MAP_SWIZZLE_NONE && swizzle != CU_TENSOR_MAP_SWIZZLE_128B &&
      swizzle != CU_TENSOR_MAP_SWIZZLE_128B_ATOM_32B &&
      !(dtype == 15 && swizzle == CU_TENSOR_MAP_SWIZZLE_128B_ATOM_64B))
    return "swizzle mode not supported for 16U4/16U6_ALIGN16B";
  if (oob == CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA && (!is_float(dtype) || is_packed(dtype)))
    return "oobFill NAN_REQUEST_ZERO_FMA needs a floating-point tensorDataType";
  return nullptr;
}

}  // namespace

// The emulator's cuTensorMapEncodeTiled (not exported by name: reached through the entry point).
CUresult tensor_map_encode_tiled(CUtensorMap *map, CUtensorMapDataType dtype, cuuint32_t rank, void *gaddr,
                                 const cuuint64_t *dims, const cuuint64_t *strides, const cuuint32_t *box,
                                 const cuuint32_t *estrides, CUtensorMapInterleave interleave,
                                 CUtensorMapSwizzle swizzle, CUtensorMapL2promotion l2,
                                 CUtensorMapFloatOOBfill oob) {
  if (const char *why = violation(map, (int)dtype, rank, gaddr, dims, strides, box, estrides, (int)interleave,
                                  (int)swizzle, (int)l2, (int)oob)) {
    if (getenv("KERNELS4J_EMULATOR_VERBOSE"))
      fprintf(stderr, "kernels4j emulator: cuTensorMapEncodeTiled: CUDA_ERROR_INVALID_VALUE: %s\n", why);
    return CUDA_ERROR_INVALID_VALUE;
  }
  MapDesc d{};
  d.magic = kMapMagic;
  d.rank = (uint8_t)rank;
  d.dtype = (uint8_t)dtype;
  d.interleave = (uint8_t)interleave;
  d.swizzle = (uint8_t)swizzle;
  d.oob_fill = (uint8_t)oob;
  d.l2 = (uint8_t)l2;
  d.elem_bits = (uint8_t)elem_bits((int)dtype);
  d.base = (uint64_t)(uintptr_t)gaddr;
  for (uint32_t i = 0; i < rank; ++i) {
    d.dims[i] = dims[i];
    d.box[i] = (uint16_t)box[i];
    d.elem_strides[i] = (uint8_t)estrides[i];
    if (i + 1 < rank) d.strides[i] = strides[i];
  }
  std::memset(map, 0, sizeof *map);
  std::memcpy(map, &d, sizeof d);
  return CUDA_SUCCESS;
}

// A rule violated by these arguments (tests: which documented rule rejected them), or null.
const char *tensor_map_violation(const CUtensorMap *map, int dtype, uint32_t rank, const void *gaddr,
                                 const uint64_t *dims, const uint64_t *strides, const uint32_t *box,
                                 const uint32_t *estrides, int interleave, int swizzle, int l2, int oob) {
  return violation(map, dtype, rank, gaddr, dims, strides, box, estrides, interleave, swizzle, l2, oob);
}

namespace {

// ---------------------------------------------------------------- box geometry and copies
struct Box {
  int rank = 0;
  uint32_t eb = 0;             // element bytes
  uint32_t n[kMaxRank] = {};   // elements traversed per dimension
  uint32_t row_bytes = 0;      // n[0] * eb
  uint32_t rows = 0;           // product of n[1..]
  uint32_t bytes = 0;          // the box in shared memory (and its complete-tx bytes)
  uint32_t span = 0;           // swizzle span (0: none)
};

Box box_of(const MapDesc &m, const char *what) {
  Box b;
  b.rank = m.rank;
  b.eb = m.elem_bits / 8;
  b.rows = 1;
  uint64_t bytes = b.eb;
  for (int i = 0; i < m.rank; ++i) {
    // Interleave NONE: elementStrides[0] is ignored (the documentation's note); others traverse
    // ceil(boxDim / elementStride) elements.
    b.n[i] = i == 0 ? m.box[0] : (m.box[i] + m.elem_strides[i] - 1) / m.elem_strides[i];
    if (i > 0) b.rows *= b.n[i];
    bytes *= b.n[i];
  }
  if (bytes > (1u << 20))
    report(Check::kMemcheck, true, "%s: a box of %llu bytes is larger than any shared memory", what,
           (unsigned long long)bytes);
  b.row_bytes = b.n[0] * b.eb;
  b.bytes = b.row_bytes * b.rows;
  b.span = swizzle_span(m.swizzle);
  return b;
}

// Swizzled byte offset within the box (5.5.7): the 16-byte chunk index within each 128-byte row of
// shared memory is XORed with the row index modulo span/16, i.e. address bits [4, 4 + log2(span/16))
// ^= bits [7, 7 + log2(span/16)); the pattern repeats every 8 * span bytes (256, 512, 1024).
// One home for the map, shared with wgmma's descriptors: ptx::swizzle_address (k4j_emu/wgmma_ops.h).
uint32_t swizzle(uint32_t off, uint32_t span) {
  return ptx::swizzle_address(off, ptx::swizzle_from_bytes((int)span));
}

// Calls f(row_index, global_address_or_0, first_in_bounds_elem, in_bounds_elems) for every box row.
template <typename F>
void for_rows(const MapDesc &m, const Box &b, const int32_t *c, F &&f) {
  for (uint32_t r = 0; r < b.rows; ++r) {
    uint32_t rem = r;
    bool in = true;
    uint64_t off = 0;
    for (int i = 1; i < m.rank; ++i) {
      const uint32_t k = rem % b.n[i];
      rem /= b.n[i];
      const int64_t g = (int64_t)c[i] + (int64_t)k * m.elem_strides[i];
      if (g < 0 || g >= (int64_t)m.dims[i]) in = false;
      else off += (uint64_t)g * m.strides[i - 1];
    }
    const int64_t lo = std::max<int64_t>(0, c[0]), hi = std::min<int64_t>((int64_t)m.dims[0], (int64_t)c[0] + b.n[0]);
    if (!in || lo >= hi) {
      f(r, (uint8_t *)nullptr, 0u, 0u);
      continue;
    }
    f(r, reinterpret_cast<uint8_t *>(m.base + off + (uint64_t)lo * b.eb), (uint32_t)(lo - c[0]), (uint32_t)(hi - lo));
  }
}

struct LoadTx {
  Block *dst_block;  // the CTA whose shared memory (and mbarrier) it lands in
  uint8_t *dst;
  MapDesc map;
  int32_t c[kMaxRank];
  uint64_t *bar;
  Box box;
  int issuer;
  bool reported;
};
struct StoreOp {
  const uint8_t *src;
  MapDesc map;
  int32_t c[kMaxRank];
  Box box;
  int issuer;
  bool reported;
};
struct ThreadBulk {
  std::vector<StoreOp> open;
  std::deque<std::vector<StoreOp>> groups;
};
std::vector<LoadTx> g_loads;         // in flight, in issue order
std::vector<ThreadBulk> g_bulk;      // per thread of the cluster (gid)
std::vector<uint32_t> g_proxy_fences;  // fence.proxy.async executed, per thread (gid)
int g_pending_stores = 0;           // bulk stores not yet performed, all threads
uint64_t g_progress_draws = 0;

// The tensor map operand: this emulator's encoding, of the instruction's rank, a mode it copies.
MapDesc read_map(const void *p, int rank, bool load, const char *what) {
  if (p == nullptr || ((uintptr_t)p & 63) != 0)
    report(Check::kMemcheck, true, "%s: tensor map address %p is not 64-byte aligned", what, p);
  MapDesc m;
  std::memcpy(&m, p, sizeof m);
  if (m.magic != kMapMagic)
    report(Check::kMemcheck, true, "%s: the tensor map at %p was not written by cuTensorMapEncodeTiled", what, p);
  if (m.rank != rank)
    report(Check::kSync, true, "%s: a %dd instruction with a rank-%d tensor map", what, rank, (int)m.rank);
  if (m.interleave != CU_TENSOR_MAP_INTERLEAVE_NONE || is_packed(m.dtype) || m.swizzle > CU_TENSOR_MAP_SWIZZLE_128B)
    report(Check::kSync, true,
           "%s: the emulator copies only interleave NONE, byte-sized types and the NONE/32B/64B/128B swizzles", what);
  if (load && m.oob_fill != CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)
    report(Check::kSync, true, "%s: the emulator fills out-of-bounds elements with zeros only (OOB fill NONE)", what);
  return m;
}

// The shared-memory side: 128-byte aligned (the ISA), and aligned to the swizzle pattern's repeat
// (8 * span: 1024 for 128B) so the pattern starts at the box's first byte, as the kernels assume.
void check_smem(const void *p, const Box &b, const char *what) {
  const uintptr_t align = b.span ? 8u * b.span : 128u;
  if (((uintptr_t)p & (align - 1)) != 0)
    report(Check::kMemcheck, true, "%s: shared-memory address %p is not %u-byte aligned%s", what, p, (unsigned)align,
           b.span ? " (the swizzle pattern's repeat)" : "");
  if (!is_shared(p, b.bytes))
    report(Check::kMemcheck, true, "%s: the %u-byte box at shared-memory address %p is not inside the block's shared "
           "memory", what, b.bytes, p);
}

bool overlaps(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) { return a < b + bn && b < a + an; }

void land(LoadTx &tx) {
  const Box &b = tx.box;
  std::vector<uint8_t> lin(b.bytes, 0);  // out-of-bounds elements: zeros (OOB fill NONE)
  for_rows(tx.map, b, tx.c, [&](uint32_t r, const uint8_t *g, uint32_t e0, uint32_t ne) {
    if (ne) std::memcpy(&lin[(size_t)r * b.row_bytes + (size_t)e0 * b.eb], g, (size_t)ne * b.eb);
  });
  for (uint32_t o = 0; o < b.bytes; o += 16) std::memcpy(tx.dst + swizzle(o, b.span), &lin[o], 16);
  shared_async_write(tx.dst, b.bytes);
}

void perform_store(const StoreOp &op) {
  const Box &b = op.box;
  std::vector<uint8_t> lin(b.bytes);
  for (uint32_t o = 0; o < b.bytes; o += 16) std::memcpy(&lin[o], op.src + swizzle(o, b.span), 16);
  for_rows(op.map, b, op.c, [&](uint32_t r, uint8_t *g, uint32_t e0, uint32_t ne) {
    if (ne) std::memcpy(g, &lin[(size_t)r * b.row_bytes + (size_t)e0 * b.eb], (size_t)ne * b.eb);
  });
  --g_async_ranges;
  --g_pending_stores;
}

}  // namespace

int g_async_ranges = 0;

void hopper_tma_block_begin(Cluster &c) {
  mbarrier_block_begin(c);
  g_loads.clear();
  g_bulk.assign(c.total_threads(), ThreadBulk{});
  g_proxy_fences.assign(c.total_threads(), 0);
  g_async_ranges = 0;
  g_pending_stores = 0;
}

uint32_t proxy_fence_count(int thread) { return thread < (int)g_proxy_fences.size() ? g_proxy_fences[thread] : 0; }

void hopper_tma_block_end(Cluster &c) {
  (void)c;
  // Bulk stores the block left pending still happen (their source is no longer read afterwards).
  for (ThreadBulk &tb : g_bulk) {
    for (auto &grp : tb.groups)
      for (const StoreOp &op : grp) perform_store(op);
    for (const StoreOp &op : tb.open) perform_store(op);
    tb = ThreadBulk{};
  }
  g_loads.clear();
  g_async_ranges = 0;
}

bool hopper_tma_progress(Cluster &c) {
  (void)c;
  if (g_loads.empty()) return false;
  std::vector<uint64_t *> bars;
  for (const LoadTx &tx : g_loads)
    if (std::find(bars.begin(), bars.end(), tx.bar) == bars.end()) bars.push_back(tx.bar);
  std::mt19937_64 rng(options().seed * 0xD1B54A32D192ED03ull + ++g_progress_draws);
  uint64_t *bar = bars[rng() % bars.size()];
  std::vector<LoadTx> done;
  for (auto it = g_loads.begin(); it != g_loads.end();) {
    if (it->bar == bar) {
      done.push_back(*it);
      it = g_loads.erase(it);
      --g_async_ranges;
    } else {
      ++it;
    }
  }
  for (size_t i = 0; i < done.size(); ++i) {
    LoadTx &tx = done[i];
    Block *prev = set_current_block(tx.dst_block);  // the destination CTA's shadow, wgmma ops, waiters
    land(tx);
    const uint64_t phase = mbarrier_phase(tx.bar);
    mbarrier_complete_tx(tx.bar, tx.box.bytes);
    set_current_block(prev);
    // A phase completed before the barrier's last load landed (its tx-count reached zero early: bytes
    // the barrier did not expect): the rest stay in flight, and the released waiters run first.
    if (mbarrier_phase(tx.bar) != phase && i + 1 < done.size()) {
      for (size_t j = i + 1; j < done.size(); ++j) {
        g_loads.push_back(done[j]);
        ++g_async_ranges;
      }
      break;
    }
  }
  return true;
}

void async_shared_check(Thread &t, const uint8_t *p, size_t n, bool write) {
  if (!options().racecheck) return;
  for (LoadTx &tx : g_loads)
    if (!tx.reported && overlaps(p, n, tx.dst, tx.box.bytes)) {
      tx.reported = true;
      report(Check::kRacecheck, false,
             "%s of shared memory %p by thread %d while a TMA load into [%p, +%u) (issued by thread %d, complete-tx on "
             "mbarrier %p) is in flight: wait for the mbarrier phase first",
             write ? "write" : "read", (const void *)p, t.linear, (const void *)tx.dst, tx.box.bytes, tx.issuer,
             (const void *)tx.bar);
    }
  if (!write || g_pending_stores == 0) return;
  for (ThreadBulk &tb : g_bulk) {
    auto check = [&](StoreOp &op) {
      if (!op.reported && overlaps(p, n, op.src, op.box.bytes)) {
        op.reported = true;
        report(Check::kRacecheck, false,
               "write of shared memory %p by thread %d while a TMA store issued by thread %d still reads [%p, +%u): "
               "cp.async.bulk.wait_group.read first",
               (const void *)p, t.linear, op.issuer, (const void *)op.src, op.box.bytes);
      }
    };
    for (auto &grp : tb.groups)
      for (StoreOp &op : grp) check(op);
    for (StoreOp &op : tb.open) check(op);
  }
}

// ---------------------------------------------------------------- the device-side interface
void fence_proxy_async_shared() {
  require_sm90("fence.proxy.async");
  ++g_proxy_fences[current_thread()->gid];
}

void prefetch_tensormap(const void *tensor_map) {
  require_sm90("prefetch.tensormap");
  if (tensor_map == nullptr) report(Check::kMemcheck, true, "prefetch.tensormap: null tensor map");
  MapDesc m;
  std::memcpy(&m, tensor_map, sizeof m);
  if (m.magic != kMapMagic)
    report(Check::kMemcheck, true, "prefetch.tensormap: the tensor map at %p was not written by "
           "cuTensorMapEncodeTiled", tensor_map);
}

namespace {

// What every TMA load checks once, at issue: the tensor map, the box, the coordinates, the box's
// place in the executing CTA's shared memory, and the global rows it reads (bounded by the tensor
// map: its in-bounds elements must be device memory).
LoadTx describe_load(void *smem_dst, const void *tensor_map, int rank, const int32_t *coords, const char *what) {
  LoadTx tx{};
  tx.map = read_map(tensor_map, rank, true, what);
  tx.box = box_of(tx.map, what);
  tx.issuer = current_thread()->linear;
  for (int i = 0; i < rank; ++i) tx.c[i] = coords[i];
  check_smem(smem_dst, tx.box, what);
  for_rows(tx.map, tx.box, tx.c, [&](uint32_t, const uint8_t *g, uint32_t, uint32_t ne) {
    if (ne) check_global(g, (size_t)ne * tx.box.eb, false, what);
  });
  return tx;
}

// Puts a described load in flight into `dst` of CTA `dst_block`, its complete-tx on `bar` there;
// cta_rank names that CTA in the reports (a multicast destination), -1 for the executing CTA.
void enqueue_load(LoadTx tx, Block *dst_block, uint8_t *dst, uint64_t *bar, int cta_rank, const char *what) {
  Thread &t = *current_thread();
  tx.dst_block = dst_block;
  tx.dst = dst;
  tx.bar = bar;
  char where[32] = "";
  if (cta_rank >= 0) std::snprintf(where, sizeof where, " of CTA rank %d", cta_rank);
  Block *prev = set_current_block(dst_block);
  hopper_shared_write(&t, dst, tx.box.bytes);  // --- Hopper: into a wgmma operand still being read?
  set_current_block(prev);
  if (!mbarrier_initialised(bar)) {
    if (cta_rank < 0)
      report(Check::kSync, true, "%s: complete-tx on mbarrier %p, which mbarrier.init has not initialised in this "
             "block", what, (const void *)bar);
    report(Check::kSync, true,
           "%s: complete-tx on the mbarrier of CTA rank %d at %p, which mbarrier.init has not initialised (that CTA "
           "must initialise it and the cluster synchronise before the multicast)",
           what, cta_rank, (const void *)bar);
  }
  for (const LoadTx &o : g_loads)
    if (overlaps(o.dst, o.box.bytes, dst, tx.box.bytes))
      report(Check::kRacecheck, false, "%s into [%p, +%u)%s by thread %d while another TMA load into [%p, +%u) is in "
             "flight", what, (const void *)dst, tx.box.bytes, where, t.linear, (const void *)o.dst, o.box.bytes);
  g_loads.push_back(tx);
  ++g_async_ranges;
}

}  // namespace

void tma_load(void *smem_dst, const void *tensor_map, uint64_t *bar, int rank, const int32_t *coords) {
  const char *what = "cp.async.bulk.tensor (TMA load)";
  require_sm90(what);
  LoadTx tx = describe_load(smem_dst, tensor_map, rank, coords, what);
  if (((uintptr_t)bar & 7) != 0 || !is_shared(bar, 8))
    report(Check::kMemcheck, true, "%s: mbarrier address %p is not an 8-byte aligned shared-memory word", what,
           (const void *)bar);
  enqueue_load(tx, current_block(), static_cast<uint8_t *>(smem_dst), bar, -1, what);
}

void tma_store(const void *tensor_map, const void *smem_src, int rank, const int32_t *coords) {
  const char *what = "cp.async.bulk.tensor (TMA store)";
  require_sm90(what);
  Thread &t = *current_thread();
  StoreOp op{};
  op.map = read_map(tensor_map, rank, false, what);
  op.box = box_of(op.map, what);
  op.src = static_cast<const uint8_t *>(smem_src);
  op.issuer = t.linear;
  for (int i = 0; i < rank; ++i) op.c[i] = coords[i];
  check_smem(smem_src, op.box, what);
  // Sanitizers: the source is read on behalf of the issuing thread (a race with generic writes of
  // other threads not ordered by a barrier, or an uninitialised source, is reported now).
  shared_access(t, op.src, op.box.bytes, false, false);
  if (options().racecheck) async_proxy_read(op.src, op.box.bytes, what);
  for_rows(op.map, op.box, op.c, [&](uint32_t, uint8_t *g, uint32_t, uint32_t ne) {
    if (ne) check_global(g, (size_t)ne * op.box.eb, true, what);
  });
  g_bulk[t.gid].open.push_back(op);
  ++g_async_ranges;
  ++g_pending_stores;
}

void tma_store_commit() {
  require_sm90("cp.async.bulk.commit_group");
  ThreadBulk &tb = g_bulk[current_thread()->gid];
  tb.groups.push_back(std::move(tb.open));
  tb.open.clear();
}

void tma_store_wait_read(int n) {
  require_sm90("cp.async.bulk.wait_group.read");
  ThreadBulk &tb = g_bulk[current_thread()->gid];
  while ((int)tb.groups.size() > n) {
    for (const StoreOp &op : tb.groups.front()) perform_store(op);
    tb.groups.pop_front();
  }
}

// --- Hopper: clusters. cp.async.bulk.tensor.{2,3}d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// .multicast::cluster [dstMem], [tensorMap, coords], [mbar], ctaMask (PTX ISA "cp.async.bulk.tensor"):
// the box is copied into the shared memory of every CTA whose %cluster_ctarank has its bit set in the
// 16-bit ctaMask, at the same CTA-relative offset as dstMem, and the complete-tx (the box's bytes) is
// signalled on the mbarrier at the same CTA-relative offset as mbar in each destination CTA. Here
// one in-flight load per destination: each lands, and completes its barrier, on its own.
void tma_load_multicast(void *smem_dst, const void *tensor_map, uint64_t *bar, uint16_t cta_mask, int rank,
                        const int32_t *coords) {
  const char *what = "cp.async.bulk.tensor .multicast::cluster (TMA multicast load)";
  require_sm90(what);
  Block &me = *current_block();
  Cluster &c = *current_cluster();
  if (cta_mask == 0) report(Check::kSync, true, "%s: ctaMask is 0 (no destination CTA)", what);
  if (c.size() < 16 && (cta_mask >> c.size()) != 0)
    report(Check::kSync, true, "%s: ctaMask 0x%04x names a CTA rank the cluster (%d CTAs) does not have", what,
           cta_mask, c.size());
  const uint8_t *d = static_cast<const uint8_t *>(smem_dst);
  const uint8_t *bb = reinterpret_cast<const uint8_t *>(bar);
  if (me.dyn_bytes == 0 || d < me.dyn || d >= me.dyn + me.dyn_bytes || bb < me.dyn || bb >= me.dyn + me.dyn_bytes)
    report(Check::kMemcheck, true,
           "%s: the destination %p and the mbarrier %p must be in the executing CTA's dynamic shared memory (their "
           "CTA-relative offsets name the locations in each destination CTA)",
           what, smem_dst, (const void *)bar);
  const size_t doff = (size_t)(d - me.dyn), boff = (size_t)(bb - me.dyn);
  const LoadTx tx = describe_load(smem_dst, tensor_map, rank, coords, what);
  if (((uintptr_t)bar & 7) != 0)
    report(Check::kMemcheck, true, "%s: mbarrier address %p is not 8-byte aligned", what, (const void *)bar);
  for (int r = 0; r < c.size(); ++r) {
    if (!(cta_mask & (1u << r))) continue;
    Block &peer = *c.blocks[r];
    if (peer.exited)
      report(Check::kSync, true, "%s: destination CTA rank %d has exited (its shared memory is gone)", what, r);
    enqueue_load(tx, &peer, peer.dyn + doff, reinterpret_cast<uint64_t *>(peer.dyn + boff), r, what);
  }
}

}  // namespace k4j::emu

using namespace k4j::emu;

// The runtime's driver entry point: the emulator's "driver" has one function, the tensor map
// encoder (the CUDA 12.0 ABI of cuTensorMapEncodeTiled).
static cudaError_t driver_entry_point(const char *symbol, void **fn, cudaDriverEntryPointQueryResult *status) {
  if (symbol == nullptr || fn == nullptr) return cudaErrorInvalidValue;
  const bool found = std::strcmp(symbol, "cuTensorMapEncodeTiled") == 0;
  *fn = found ? reinterpret_cast<void *>(&tensor_map_encode_tiled) : nullptr;
  if (status) *status = found ? cudaDriverEntryPointSuccess : cudaDriverEntryPointSymbolNotFound;
  return cudaSuccess;
}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
EXPORT cudaError_t cudaGetDriverEntryPoint(const char *symbol, void **fn, unsigned long long flags,
                                           cudaDriverEntryPointQueryResult *status) {
  (void)flags;
  return driver_entry_point(symbol, fn, status);
}
#pragma GCC diagnostic pop
EXPORT cudaError_t cudaGetDriverEntryPointByVersion(const char *symbol, void **fn, unsigned int version,
                                                    unsigned long long flags,
                                                    cudaDriverEntryPointQueryResult *status) {
  (void)flags;
  if (version < 12000 && symbol && std::strcmp(symbol, "cuTensorMapEncodeTiled") == 0) {
    if (fn) *fn = nullptr;
    if (status) *status = cudaDriverEntryPointVersionNotSufficent;
    return cudaSuccess;
  }
  return driver_entry_point(symbol, fn, status);
}
