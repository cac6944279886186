// Hopper TMA, tensor maps and mbarrier on the emulated sm_90 device, against the rules of the CUDA
// driver API (cuTensorMapEncodeTiled) and the PTX ISA (mbarrier, cp.async.bulk.tensor, swizzling),
// independent of any kernel of the library. The negative controls must be caught.
#include "emu_test_util.h"  // first: GoogleTest, then the emulated device language

#include <cstdarg>
#include <cstring>

#include "common/ptx.cuh"
#include "common/shared_memory.cuh"
#include "k4j_tensor_map.h"

using namespace k4j::emu::test;
namespace ptx = k4j::kernels::ptx;

namespace k4j::emu {
const char *tensor_map_violation(const CUtensorMap *map, int dtype, uint32_t rank, const void *gaddr,
                                 const uint64_t *dims, const uint64_t *strides, const uint32_t *box,
                                 const uint32_t *estrides, int interleave, int swizzle, int l2, int oob);
}

// k4j_tensor_map.h records its messages through the library's k4j::set_error (k4j_core.cu, not
// part of this test binary): a stand-in that keeps the last one.
static std::string g_last_error;
int k4j::set_error(int code, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  g_last_error = buf;
  return code;
}

namespace {

using EncodeTiled = decltype(&cuTensorMapEncodeTiled);

EncodeTiled encoder() {
  void *fn = nullptr;
  cudaDriverEntryPointQueryResult q = cudaDriverEntryPointSymbolNotFound;
  EXPECT_EQ(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &q), cudaSuccess);
  EXPECT_EQ(q, cudaDriverEntryPointSuccess);
  return reinterpret_cast<EncodeTiled>(fn);
}

// ------------------------------------------------------------------ tensor map encoding rules
// One valid 2-D encoding; each case below breaks one documented rule of cuTensorMapEncodeTiled.
struct EncodeArgs {
  int dtype = CU_TENSOR_MAP_DATA_TYPE_UINT8;
  uint32_t rank = 2;
  uintptr_t addr = 0;  // set from a device allocation
  uint64_t dims[5] = {256, 64, 1, 1, 1};
  uint64_t strides[4] = {256, 256 * 64, 256 * 64, 256 * 64};
  uint32_t box[5] = {128, 64, 1, 1, 1};
  uint32_t estrides[5] = {1, 1, 1, 1, 1};
  int interleave = CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle = CU_TENSOR_MAP_SWIZZLE_128B;
  int l2 = CU_TENSOR_MAP_L2_PROMOTION_L2_256B, oob = CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE;
};

struct EncodeCase {
  const char *name;
  void (*edit)(EncodeArgs &);
  const char *rule;  // null: accepted
};

const EncodeCase kEncodeCases[] = {
    {"baseline fp8 128B", [](EncodeArgs &) {}, nullptr},
    {"bf16 64x64 128B", [](EncodeArgs &a) { a.dtype = CU_TENSOR_MAP_DATA_TYPE_BFLOAT16; a.box[0] = 64; }, nullptr},
    {"fp32 32 wide 128B", [](EncodeArgs &a) { a.dtype = CU_TENSOR_MAP_DATA_TYPE_FLOAT32; a.box[0] = 32; }, nullptr},
    {"fp32 box 8 wide (32 B) no swizzle", [](EncodeArgs &a) {
       a.dtype = CU_TENSOR_MAP_DATA_TYPE_FLOAT32; a.box[0] = 8; a.swizzle = CU_TENSOR_MAP_SWIZZLE_NONE; }, nullptr},
    {"rank 1", [](EncodeArgs &a) { a.rank = 1; a.box[0] = 64; }, nullptr},
    {"rank 5", [](EncodeArgs &a) { a.rank = 5; }, nullptr},
    {"dim 2^32", [](EncodeArgs &a) { a.dims[1] = 1ull << 32; }, nullptr},
    {"box 256 rows", [](EncodeArgs &a) { a.box[1] = 256; }, nullptr},
    {"element stride 8", [](EncodeArgs &a) { a.estrides[1] = 8; }, nullptr},
    {"stride 2^40 - 16", [](EncodeArgs &a) { a.strides[0] = (1ull << 40) - 16; }, nullptr},
    {"32B swizzle, 32-byte rows", [](EncodeArgs &a) { a.swizzle = CU_TENSOR_MAP_SWIZZLE_32B; a.box[0] = 32; }, nullptr},
    {"64B swizzle, 64-byte rows", [](EncodeArgs &a) { a.swizzle = CU_TENSOR_MAP_SWIZZLE_64B; a.box[0] = 64; }, nullptr},
    {"NaN OOB fill for bf16", [](EncodeArgs &a) {
       a.dtype = CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
       a.box[0] = 64;
       a.oob = CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA; },
     nullptr},
    {"interleave 32B rank 3", [](EncodeArgs &a) {
       a.rank = 3; a.interleave = CU_TENSOR_MAP_INTERLEAVE_32B; a.swizzle = CU_TENSOR_MAP_SWIZZLE_32B; a.box[0] = 32; },
     nullptr},

    {"rank 0", [](EncodeArgs &a) { a.rank = 0; }, "tensorRank must be non-zero and at most 5"},
    {"rank 6", [](EncodeArgs &a) { a.rank = 6; }, "tensorRank must be non-zero and at most 5"},
    {"interleave with rank 2", [](EncodeArgs &a) {
       a.interleave = CU_TENSOR_MAP_INTERLEAVE_16B; }, "tensorRank must be at least 3"},
    {"address 8-aligned", [](EncodeArgs &a) { a.addr += 8; }, "globalAddress must be 16-byte aligned"},
    {"address 16- not 32-aligned, interleave 32B", [](EncodeArgs &a) {
       a.rank = 3; a.interleave = CU_TENSOR_MAP_INTERLEAVE_32B; a.swizzle = CU_TENSOR_MAP_SWIZZLE_32B; a.box[0] = 32;
       a.addr += 16; }, "globalAddress must be 32-byte aligned"},
    {"dim 0", [](EncodeArgs &a) { a.dims[1] = 0; }, "globalDim must be non-zero"},
    {"dim 2^32 + 1", [](EncodeArgs &a) { a.dims[0] = (1ull << 32) + 1; },
     "globalDim must be non-zero and at most 2^32"},
    {"stride 264", [](EncodeArgs &a) { a.strides[0] = 264; }, "globalStrides must be multiples of 16"},
    {"stride 2^40", [](EncodeArgs &a) { a.strides[0] = 1ull << 40; }, "globalStrides must be less than 2^40"},
    {"stride 16 with interleave 32B", [](EncodeArgs &a) {
       a.rank = 3; a.interleave = CU_TENSOR_MAP_INTERLEAVE_32B; a.swizzle = CU_TENSOR_MAP_SWIZZLE_32B; a.box[0] = 32;
       a.strides[0] = 272; }, "globalStrides must be multiples of 32"},
    {"box 0", [](EncodeArgs &a) { a.box[1] = 0; }, "boxDim must be non-zero and at most 256"},
    {"box 257", [](EncodeArgs &a) { a.box[1] = 257; }, "boxDim must be non-zero and at most 256"},
    {"inner box 24 bytes", [](EncodeArgs &a) {
       a.box[0] = 24; a.swizzle = CU_TENSOR_MAP_SWIZZLE_NONE; }, "multiple of 16 bytes"},
    {"bf16 inner box 144 bytes", [](EncodeArgs &a) {
       a.dtype = CU_TENSOR_MAP_DATA_TYPE_BFLOAT16; a.box[0] = 72; }, "at most the swizzle span"},
    {"fp8 inner box 144 bytes, 128B", [](EncodeArgs &a) { a.box[0] = 144; }, "at most the swizzle span"},
    {"64B swizzle, 128-byte rows", [](EncodeArgs &a) { a.swizzle = CU_TENSOR_MAP_SWIZZLE_64B; },
     "at most the swizzle span"},
    {"32B swizzle, 64-byte rows", [](EncodeArgs &a) {
       a.swizzle = CU_TENSOR_MAP_SWIZZLE_32B; a.box[0] = 64; }, "at most the swizzle span"},
    {"element stride 0", [](EncodeArgs &a) { a.estrides[1] = 0; }, "elementStrides must be non-zero and at most 8"},
    {"element stride 9", [](EncodeArgs &a) { a.estrides[1] = 9; }, "elementStrides must be non-zero and at most 8"},
    {"interleave 32B with 64B swizzle", [](EncodeArgs &a) {
       a.rank = 3; a.interleave = CU_TENSOR_MAP_INTERLEAVE_32B; a.swizzle = CU_TENSOR_MAP_SWIZZLE_64B; },
     "interleave 32B requires swizzle 32B"},
    {"NaN OOB fill for uint8", [](EncodeArgs &a) { a.oob = CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA; },
     "needs a floating-point tensorDataType"},
    {"unknown data type", [](EncodeArgs &a) { a.dtype = 16; }, "not a CUtensorMapDataType"},
    {"unknown swizzle", [](EncodeArgs &a) { a.swizzle = 7; }, "not a CUtensorMapSwizzle"},
    {"unknown L2 promotion", [](EncodeArgs &a) { a.l2 = 4; }, "not a CUtensorMapL2promotion"},
};

TEST(TensorMap, EncodeTiledFollowsTheDriverRules) {
  EncodeTiled encode = encoder();
  ASSERT_NE(encode, nullptr);
  DeviceBuffer<uint8_t> mem(1 << 20);
  for (const EncodeCase &c : kEncodeCases) {
    EncodeArgs a;
    a.addr = (uintptr_t)mem.p;
    c.edit(a);
    CUtensorMap map;
    const CUresult r =
        encode(&map, (CUtensorMapDataType)a.dtype, a.rank, (void *)a.addr, a.dims, a.strides, a.box, a.estrides,
               (CUtensorMapInterleave)a.interleave, (CUtensorMapSwizzle)a.swizzle, (CUtensorMapL2promotion)a.l2,
               (CUtensorMapFloatOOBfill)a.oob);
    const char *why = k4j::emu::tensor_map_violation(&map, a.dtype, a.rank, (void *)a.addr, a.dims, a.strides, a.box,
                                                     a.estrides, a.interleave, a.swizzle, a.l2, a.oob);
    if (c.rule == nullptr) {
      EXPECT_EQ(r, CUDA_SUCCESS) << c.name << ": " << (why ? why : "");
    } else {
      EXPECT_EQ(r, CUDA_ERROR_INVALID_VALUE) << c.name;
      ASSERT_NE(why, nullptr) << c.name;
      EXPECT_NE(std::string(why).find(c.rule), std::string::npos) << c.name << ": rejected by \"" << why << "\"";
    }
  }
  // The map object itself must be 64-byte aligned.
  alignas(128) uint8_t raw[256];
  EncodeArgs a;
  a.addr = (uintptr_t)mem.p;
  EXPECT_EQ(encode(reinterpret_cast<CUtensorMap *>(raw + 32), CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, mem.p, a.dims,
                   a.strides, a.box, a.estrides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                   CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE),
            CUDA_ERROR_INVALID_VALUE);
}

TEST(TensorMap, LibraryHelperReachesTheEncoderThroughTheEntryPoint) {
  DeviceBuffer<uint8_t> mem(1 << 16);
  CUtensorMap map;
  EXPECT_EQ(k4j::make_tensor_map_2d(&map, k4j::TmaType::kFp8, mem.p, 256, 64, 256, 128, 64, k4j::TmaSwizzle::k128B),
            K4J_OK);
  EXPECT_EQ(k4j::make_tensor_map_3d(&map, k4j::TmaType::kBf16, mem.p, 64, 16, 4, 128, 2048, 64, 16, 2,
                                    k4j::TmaSwizzle::k128B),
            K4J_OK);
  // 128 BF16 = 256 bytes per box row: more than the 128-byte swizzle span.
  EXPECT_EQ(k4j::make_tensor_map_2d(&map, k4j::TmaType::kBf16, mem.p, 256, 64, 512, 128, 64, k4j::TmaSwizzle::k128B),
            K4J_ERR_INVALID_ARGUMENT);
  EXPECT_NE(g_last_error.find("cuTensorMapEncodeTiled failed"), std::string::npos) << g_last_error;
  EXPECT_EQ(k4j::tensor_map_box_bytes(k4j::TmaType::kFp32, 32, 16, 2), 4096u);
}

// ------------------------------------------------------------------ TMA loads
// The ISA's swizzle definition ("Shared memory layout and swizzling"), written per 128-byte row of
// shared memory: the 16-byte chunk c of row r moves to chunk c XOR (r mod (span / 16)).
uint32_t isa_swizzled(uint32_t off, uint32_t span) {
  if (span == 0) return off;
  const uint32_t row = off / 128, chunk = (off % 128) / 16;
  return row * 128 + ((chunk ^ (row % (span / 16))) * 16) + off % 16;
}

CUtensorMap make_map(k4j::TmaType t, const void *base, std::vector<uint64_t> dims, std::vector<uint32_t> box,
                     k4j::TmaSwizzle sw) {
  CUtensorMap m;
  const uint64_t eb = t == k4j::TmaType::kFp8 ? 1 : t == k4j::TmaType::kBf16 ? 2 : 4;
  int rc;
  if (dims.size() == 2)
    rc = k4j::make_tensor_map_2d(&m, t, base, dims[0], dims[1], dims[0] * eb, box[0], box[1], sw);
  else
    rc = k4j::make_tensor_map_3d(&m, t, base, dims[0], dims[1], dims[2], dims[0] * eb, dims[0] * dims[1] * eb, box[0],
                                 box[1], box[2], sw);
  EXPECT_EQ(rc, K4J_OK) << g_last_error;
  return m;
}

// One thread loads one box (2-D or 3-D) into dynamic shared memory and waits on the mbarrier; the
// block then copies the shared-memory image out byte for byte.
template <int kRank>
__global__ void tma_load_kernel(const __grid_constant__ CUtensorMap map, int c0, int c1, int c2, uint32_t tx_bytes,
                                uint32_t image_bytes, uint8_t *image) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  __shared__ uint64_t bar;
  if (threadIdx.x == 0) {
    ptx::prefetch_tensormap(&map);
    ptx::mbarrier_init(&bar, 1);
    ptx::fence_mbarrier_init();
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    ptx::mbarrier_arrive_expect_tx(&bar, tx_bytes);
    if (kRank == 2) ptx::tma_load_2d(smem, &map, &bar, c0, c1);
    else ptx::tma_load_3d(smem, &map, &bar, c0, c1, c2);
  }
  ptx::mbarrier_wait_parity(&bar, 0);
  for (uint32_t i = threadIdx.x; i < image_bytes; i += blockDim.x) image[i] = smem[i];
}

// A box image from a scalar reference: element (e0, e1, e2) of the box at box-linear byte offset
// ((e2 * n1 + e1) * n0 + e0) * eb, swizzled per the ISA; zero where the coordinate is outside.
template <typename T>
std::vector<uint8_t> reference_image(const std::vector<T> &tensor, const std::vector<uint64_t> &dims,
                                     const std::vector<uint32_t> &box, const int32_t *c, uint32_t span) {
  const uint32_t n2 = box.size() > 2 ? box[2] : 1;
  std::vector<uint8_t> img((size_t)box[0] * box[1] * n2 * sizeof(T), 0);
  const uint64_t d2 = dims.size() > 2 ? dims[2] : 1;
  for (uint32_t e2 = 0; e2 < n2; ++e2)
    for (uint32_t e1 = 0; e1 < box[1]; ++e1)
      for (uint32_t e0 = 0; e0 < box[0]; ++e0) {
        const int64_t g0 = c[0] + (int64_t)e0, g1 = c[1] + (int64_t)e1, g2 = (box.size() > 2 ? c[2] : 0) + (int64_t)e2;
        T v{};
        if (g0 >= 0 && g0 < (int64_t)dims[0] && g1 >= 0 && g1 < (int64_t)dims[1] && g2 >= 0 && g2 < (int64_t)d2)
          v = tensor[(size_t)((g2 * dims[1] + g1) * dims[0] + g0)];
        const uint32_t off = (uint32_t)(((e2 * box[1] + e1) * box[0] + e0) * sizeof(T));
        std::memcpy(&img[isa_swizzled(off, span)], &v, sizeof(T));
      }
  return img;
}

template <typename T>
void check_load(k4j::TmaType type, std::vector<uint64_t> dims, std::vector<uint32_t> box, std::vector<int32_t> c,
                k4j::TmaSwizzle sw, const char *what) {
  size_t count = 1;
  for (uint64_t d : dims) count *= d;
  std::vector<T> h(count);
  std::mt19937 rng(7);
  for (size_t i = 0; i < count; ++i) {
    const uint32_t v = rng() | 1u;  // never zero: zero fill is visible
    std::memcpy(&h[i], &v, sizeof(T));
  }
  DeviceBuffer<T> t(count);
  t.upload(h);
  const CUtensorMap map = make_map(type, t.p, dims, box, sw);
  uint32_t bytes = sizeof(T);
  for (uint32_t b : box) bytes *= b;
  DeviceBuffer<uint8_t> image(bytes);
  c.resize(3, 0);
  if (dims.size() == 2)
    k4j::launch("tma_load_kernel<2>", tma_load_kernel<2>, 1, 64, bytes, nullptr, map, c[0], c[1], 0, bytes, bytes,
                image.p);
  else
    k4j::launch("tma_load_kernel<3>", tma_load_kernel<3>, 1, 64, bytes, nullptr, map, c[0], c[1], c[2], bytes, bytes,
                image.p);
  expect_clean();
  const std::vector<uint8_t> got = image.download();
  const std::vector<uint8_t> want = reference_image(h, dims, box, c.data(), (uint32_t)sw);
  size_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i) bad += got[i] != want[i];
  EXPECT_EQ(bad, 0u) << what;
}

TEST(TmaLoad, SwizzleMapsFollowTheIsa) {
  // Inner box row = the span (64 bytes for NONE), 16 rows: two repeats of the 1024-byte pattern.
  check_load<uint8_t>(k4j::TmaType::kFp8, {256, 64}, {128, 16}, {128, 16}, k4j::TmaSwizzle::k128B, "fp8 128B");
  check_load<uint16_t>(k4j::TmaType::kBf16, {256, 64}, {64, 16}, {64, 16}, k4j::TmaSwizzle::k128B, "bf16 128B");
  check_load<float>(k4j::TmaType::kFp32, {64, 64}, {32, 16}, {32, 16}, k4j::TmaSwizzle::k128B, "fp32 128B");
  check_load<uint16_t>(k4j::TmaType::kBf16, {256, 64}, {32, 16}, {32, 16}, k4j::TmaSwizzle::k64B, "bf16 64B");
  check_load<uint8_t>(k4j::TmaType::kFp8, {256, 64}, {64, 32}, {64, 8}, k4j::TmaSwizzle::k64B, "fp8 64B");
  check_load<float>(k4j::TmaType::kFp32, {64, 64}, {8, 16}, {8, 16}, k4j::TmaSwizzle::k32B, "fp32 32B");
  check_load<uint8_t>(k4j::TmaType::kFp8, {256, 64}, {32, 32}, {32, 0}, k4j::TmaSwizzle::k32B, "fp8 32B");
  check_load<uint16_t>(k4j::TmaType::kBf16, {256, 64}, {32, 16}, {32, 16}, k4j::TmaSwizzle::kNone, "bf16 none");
}

TEST(TmaLoad, SwizzleIsNotTheIdentity) {
  // A control of the test's own reference: the 128B pattern moves chunk 0 of row 1 to chunk 1.
  EXPECT_EQ(isa_swizzled(128, 128), 128u + 16u);
  EXPECT_EQ(isa_swizzled(7 * 128 + 7 * 16 + 3, 128), 7u * 128 + 3);
  EXPECT_EQ(isa_swizzled(3 * 128 + 16, 64), 3u * 128 + 2 * 16);
  EXPECT_EQ(isa_swizzled(128 + 16, 32), 128u);
  EXPECT_EQ(isa_swizzled(8 * 128 + 16, 128), 8u * 128 + 16);  // repeats after 1024 bytes
}

TEST(TmaLoad, OutOfBoundsBoxElementsAreZeroFilled) {
  // 2-D: tails past the end in both dimensions, and negative coordinates.
  check_load<float>(k4j::TmaType::kFp32, {100, 70}, {32, 16}, {80, 60}, k4j::TmaSwizzle::k128B, "fp32 right/bottom");
  check_load<float>(k4j::TmaType::kFp32, {100, 70}, {32, 16}, {-8, -3}, k4j::TmaSwizzle::kNone, "fp32 negative");
  check_load<uint8_t>(k4j::TmaType::kFp8, {208, 33}, {128, 64}, {128, 0}, k4j::TmaSwizzle::k128B, "fp8 tail");
  check_load<uint8_t>(k4j::TmaType::kFp8, {208, 33}, {128, 64}, {0, 200}, k4j::TmaSwizzle::k128B, "fp8 all outside");
  // 3-D with tails in every dimension.
  check_load<uint16_t>(k4j::TmaType::kBf16, {40, 12, 3}, {32, 8, 2}, {24, 8, 2}, k4j::TmaSwizzle::k64B, "bf16 3d");
  check_load<uint16_t>(k4j::TmaType::kBf16, {72, 12, 5}, {64, 16, 4}, {16, -4, 3}, k4j::TmaSwizzle::k128B,
                       "bf16 3d 128B");
}

// ------------------------------------------------------------------ mbarrier accounting
// Two producers arrive (one with expect-tx and two box loads totalling the announced bytes); a
// consumer waits on parity 0, then a second round fills the other half and it waits on parity 1.
__global__ void two_phase_kernel(const __grid_constant__ CUtensorMap map, int *out) {
  K4J_DYNAMIC_SMEM(float, smem, 1024);
  __shared__ uint64_t bar;
  if (threadIdx.x == 0) {
    ptx::mbarrier_init(&bar, 2);
    ptx::fence_mbarrier_init();
  }
  __syncthreads();
  for (int round = 0; round < 2; ++round) {
    if (threadIdx.x == 0) {
      ptx::mbarrier_arrive_expect_tx(&bar, 2 * 8 * 8 * 4);
      ptx::tma_load_2d(smem + round * 128, &map, &bar, 0, 16 * round);
      ptx::tma_load_2d(smem + round * 128 + 64, &map, &bar, 0, 16 * round + 8);
    } else if (threadIdx.x == 1) {
      ptx::mbarrier_arrive(&bar);
    } else if (threadIdx.x == 2) {
      ptx::mbarrier_wait_parity(&bar, round & 1);
      // The phase of this parity completed: waiting on it again returns at once.
      out[round * 130] = ptx::mbarrier_try_wait_parity(&bar, round & 1) ? 1 : 0;
      out[round * 130 + 1] = 100 + round;
      for (int i = 0; i < 128; ++i) out[round * 130 + 2 + i] = (int)smem[round * 128 + i];
    }
    __syncthreads();
  }
}

TEST(Mbarrier, TxCountAndParityOfTwoConsecutivePhases) {
  std::vector<float> h(8 * 32);
  for (size_t i = 0; i < h.size(); ++i) h[i] = (float)i;
  DeviceBuffer<float> t(h.size());
  t.upload(h);
  const CUtensorMap map = make_map(k4j::TmaType::kFp32, t.p, {8, 32}, {8, 8}, k4j::TmaSwizzle::kNone);
  DeviceBuffer<int> out(260);
  k4j::launch("two_phase_kernel", two_phase_kernel, 1, 32, 2 * 128 * 4, nullptr, map, out.p);
  expect_clean();
  const std::vector<int> o = out.download();
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(o[round * 130], 1);
    EXPECT_EQ(o[round * 130 + 1], 100 + round);
    for (int i = 0; i < 128; ++i) EXPECT_EQ(o[round * 130 + 2 + i], 128 * round + i) << round << " " << i;
  }
}

// expect-tx announces `announced` bytes for one 8x8 FP32 box (256 bytes): any other value leaves
// the tx-count non-zero, so the phase never completes.
__global__ void tx_mismatch_kernel(const __grid_constant__ CUtensorMap map, uint32_t announced, float *out) {
  K4J_DYNAMIC_SMEM(float, smem, 1024);
  __shared__ uint64_t bar;
  if (threadIdx.x == 0) {
    ptx::mbarrier_init(&bar, 1);
    ptx::fence_mbarrier_init();
    ptx::mbarrier_arrive_expect_tx(&bar, announced);
    ptx::tma_load_2d(smem, &map, &bar, 0, 28);  // rows 32..35 are out of bounds: still 256 bytes
  }
  __syncthreads();
  ptx::mbarrier_wait_parity(&bar, 0);
  out[threadIdx.x] = smem[threadIdx.x];
}

TEST(Mbarrier, CompleteTxCountsTheWholeBoxAndAMismatchIsADeadlock) {
  DeviceBuffer<float> t(8 * 32), out(64);
  t.upload(std::vector<float>(8 * 32, 3.f));
  const CUtensorMap map = make_map(k4j::TmaType::kFp32, t.p, {8, 32}, {8, 8}, k4j::TmaSwizzle::kNone);
  k4j::launch("tx_mismatch_kernel", tx_mismatch_kernel, 1, 64, 256, nullptr, map, 128u, out.p);
  expect_report("tx-count -128");  // only the 128 in-bounds bytes announced
  k4j::launch("tx_mismatch_kernel", tx_mismatch_kernel, 1, 64, 256, nullptr, map, 512u, out.p);
  expect_report("tx-count 256");
  k4j::launch("tx_mismatch_kernel", tx_mismatch_kernel, 1, 64, 256, nullptr, map, 256u, out.p);
  expect_clean();
  const std::vector<float> o = out.download();
  for (int i = 0; i < 64; ++i) EXPECT_EQ(o[i], i < 32 ? 3.f : 0.f) << i;  // box rows 0..3 = rows 28..31
}

// Misuse reported by the emulator: arrive before init, one arrival too many, tx-count overflow.
__global__ void mbarrier_misuse_kernel(int which) {
  __shared__ uint64_t bar;
  if (threadIdx.x != 0) return;
  if (which == 0) {
    ptx::mbarrier_arrive(&bar);
  } else if (which == 1) {
    ptx::mbarrier_init(&bar, 1);
    ptx::mbarrier_arrive_expect_tx(&bar, 16);
    ptx::mbarrier_arrive(&bar);  // the phase is still open (tx-count 16): no arrival is pending
  } else if (which == 2) {
    ptx::mbarrier_init(&bar, 2);
    ptx::mbarrier_arrive_expect_tx(&bar, (1u << 20) - 1);
    ptx::mbarrier_arrive_expect_tx(&bar, 1);
  } else {
    ptx::mbarrier_init(&bar, 2);
    ptx::mbarrier_arrive(&bar);
    ptx::mbarrier_arrive(&bar);
    ptx::mbarrier_arrive(&bar);
    ptx::mbarrier_wait_parity(&bar, 0);  // the correct use: phase 0 completed
  }
}

TEST(Mbarrier, MisuseIsReported) {
  k4j::launch("mbarrier_misuse_kernel", mbarrier_misuse_kernel, 1, 32, 0, nullptr, 0);
  expect_report("which mbarrier.init has not initialised");
  k4j::launch("mbarrier_misuse_kernel", mbarrier_misuse_kernel, 1, 32, 0, nullptr, 1);
  expect_report("more arrivals than the 1 the phase expects");
  k4j::launch("mbarrier_misuse_kernel", mbarrier_misuse_kernel, 1, 32, 0, nullptr, 2);
  expect_report("leaves the range");
  k4j::launch("mbarrier_misuse_kernel", mbarrier_misuse_kernel, 1, 32, 0, nullptr, 3);
  expect_clean();
}

// Generic shared-memory accesses ordered by an mbarrier: a write before the arrival (release) is
// visible to a thread whose wait (acquire) observed the phase; racecheck knows it. mode 0: correct;
// 1: the reader does not wait; 2: the write comes after the arrival.
__global__ void mbarrier_orders_generic_kernel(int mode, int slot, int *out) {
  __shared__ uint64_t bar;
  __shared__ int values[4];  // through an index: GCC does not instrument a static scalar named directly
  int &value = values[slot];
  if (threadIdx.x == 0) {
    ptx::mbarrier_init(&bar, 1);
    ptx::fence_mbarrier_init();
  }
  __syncthreads();
  if (threadIdx.x == 2) {
    if (mode != 1) ptx::mbarrier_wait_parity(&bar, 0);
    out[0] = value;
  } else if (threadIdx.x == 1) {
    if (mode != 2) value = 42;
    ptx::mbarrier_arrive(&bar);
    if (mode == 2) value = 42;
  }
}

TEST(Mbarrier, OrdersGenericSharedMemoryAccessesForRacecheck) {
  DeviceBuffer<int> out(1);
  k4j::launch("mbarrier_orders_generic_kernel", mbarrier_orders_generic_kernel, 1, 32, 0, nullptr, 0, 1, out.p);
  expect_clean();
  EXPECT_EQ(out.download()[0], 42);
  k4j::launch("mbarrier_orders_generic_kernel", mbarrier_orders_generic_kernel, 1, 32, 0, nullptr, 1, 1, out.p);
  expect_report("read-after-write hazard");
  k4j::launch("mbarrier_orders_generic_kernel", mbarrier_orders_generic_kernel, 1, 32, 0, nullptr, 2, 1, out.p);
  expect_report("hazard on shared memory");  // the waiter runs right after the arrival: read, then write
}

// ------------------------------------------------------------------ TMA stores
// Load a box, store it elsewhere (same layout and swizzle) with clipping at the tensor's edge.
__global__ void tma_copy_kernel(const __grid_constant__ CUtensorMap src, const __grid_constant__ CUtensorMap dst,
                                int c0, int c1, int overwrite_early) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  __shared__ uint64_t bar;
  if (threadIdx.x == 0) {
    ptx::mbarrier_init(&bar, 1);
    ptx::fence_mbarrier_init();
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    ptx::mbarrier_arrive_expect_tx(&bar, 32 * 16 * 4);
    ptx::tma_load_2d(smem, &src, &bar, c0, c1);
  }
  ptx::mbarrier_wait_parity(&bar, 0);
  if (threadIdx.x == 0) {
    ptx::fence_proxy_async_shared();
    ptx::tma_store_2d(&dst, smem, c0, c1);
    ptx::tma_store_commit();
    if (overwrite_early) smem[5] = 0;  // the bug: the store may still read it
    ptx::tma_store_wait<0>();
    smem[6] = 0;  // fine: the source has been read
  }
}

TEST(TmaStore, ClipsAtTheTensorEdgeAndKeepsTheSwizzledLayout) {
  const uint64_t cols = 52, rows = 37;
  std::vector<float> h(cols * rows), sentinel(cols * rows, -1.f);
  for (size_t i = 0; i < h.size(); ++i) h[i] = (float)i + 0.5f;
  DeviceBuffer<float> a(h.size()), b(h.size());
  a.upload(h);
  for (k4j::TmaSwizzle sw : {k4j::TmaSwizzle::kNone, k4j::TmaSwizzle::k128B}) {
    b.upload(sentinel);
    const CUtensorMap ma = make_map(k4j::TmaType::kFp32, a.p, {cols, rows}, {32, 16}, sw);
    const CUtensorMap mb = make_map(k4j::TmaType::kFp32, b.p, {cols, rows}, {32, 16}, sw);
    k4j::launch("tma_copy_kernel", tma_copy_kernel, 1, 32, 32 * 16 * 4, nullptr, ma, mb, 32, 32, 0);
    expect_clean();
    const std::vector<float> o = b.download();
    for (uint64_t r = 0; r < rows; ++r)
      for (uint64_t c = 0; c < cols; ++c) {
        const bool in_box = c >= 32 && r >= 32;  // the box [32, 64) x [32, 48), clipped to 52 x 37
        EXPECT_EQ(o[r * cols + c], in_box ? h[r * cols + c] : -1.f) << r << "," << c << " swizzle " << (int)sw;
      }
  }
  // Negative control: a generic write to the source before cp.async.bulk.wait_group.read.
  const CUtensorMap ma = make_map(k4j::TmaType::kFp32, a.p, {cols, rows}, {32, 16}, k4j::TmaSwizzle::kNone);
  const CUtensorMap mb = make_map(k4j::TmaType::kFp32, b.p, {cols, rows}, {32, 16}, k4j::TmaSwizzle::kNone);
  k4j::launch("tma_copy_kernel", tma_copy_kernel, 1, 32, 32 * 16 * 4, nullptr, ma, mb, 0, 0, 1);
  expect_report("while a TMA store issued by thread 0 still reads");
}

// An epilogue: every thread writes its part of a tile with generic stores, then (the rule of the
// ISA's proxies) fences the generic proxy against the async proxy, then one thread stores the tile.
__global__ void epilogue_store_kernel(const __grid_constant__ CUtensorMap dst, int fence) {
  K4J_DYNAMIC_SMEM(float, tile, 1024);
  for (int i = threadIdx.x; i < 32 * 16; i += blockDim.x) tile[i] = (float)(i * 3);
  if (fence) ptx::fence_proxy_async_shared();
  __syncthreads();
  if (threadIdx.x == 0) {
    ptx::tma_store_2d(&dst, tile, 0, 0);
    ptx::tma_store_commit();
    ptx::tma_store_wait<0>();
  }
}

TEST(TmaStore, GenericWritesNeedAProxyFenceBeforeTheStore) {
  DeviceBuffer<float> b(32 * 16);
  const CUtensorMap mb = make_map(k4j::TmaType::kFp32, b.p, {32, 16}, {32, 16}, k4j::TmaSwizzle::kNone);
  k4j::launch("epilogue_store_kernel", epilogue_store_kernel, 1, 64, 32 * 16 * 4, nullptr, mb, 1);
  expect_clean();
  const std::vector<float> o = b.download();
  for (int i = 0; i < 32 * 16; ++i) EXPECT_EQ(o[i], (float)(i * 3)) << i;
  k4j::launch("epilogue_store_kernel", epilogue_store_kernel, 1, 64, 32 * 16 * 4, nullptr, mb, 0);
  expect_report("without a fence.proxy.async after the write");
}

// A warp-specialised ring as the Hopper GEMM builds it: warp 0 produces (TMA, 128B swizzle) into
// kStages stages guarded by full/empty mbarriers, warps 1-2 consume (row sums over K), over several
// laps of the ring so every barrier's parity flips. early_release = 1 is the bug of releasing a
// stage (arriving on its empty barrier) before reading it.
constexpr int kStages = 3, kRows = 64, kBlockK = 128, kKBlocks = 8;
__global__ void ring_kernel(const __grid_constant__ CUtensorMap map, int early_release, uint32_t *row_sums) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  __shared__ uint64_t full[kStages], empty[kStages];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (threadIdx.x == 0) {
    ptx::prefetch_tensormap(&map);
    for (int s = 0; s < kStages; ++s) {
      ptx::mbarrier_init(&full[s], 1);
      ptx::mbarrier_init(&empty[s], 2);  // one arrival per consumer warp
    }
    ptx::fence_mbarrier_init();
  }
  __syncthreads();
  if (warp == 0) {
    if (lane == 0)
      for (int kb = 0; kb < kKBlocks; ++kb) {
        const int s = kb % kStages;
        const uint32_t phase = (kb / kStages) & 1;
        ptx::mbarrier_wait_parity(&empty[s], phase ^ 1);  // the first lap passes at once
        ptx::mbarrier_arrive_expect_tx(&full[s], kRows * kBlockK);
        ptx::tma_load_2d(smem + s * kRows * kBlockK, &map, &full[s], kb * kBlockK, 0);
      }
    return;
  }
  const int row = (warp - 1) * 32 + lane;
  uint32_t acc = 0;
  for (int kb = 0; kb < kKBlocks; ++kb) {
    const int s = kb % kStages;
    ptx::mbarrier_wait_parity(&full[s], (kb / kStages) & 1);
    if (early_release && lane == 0) ptx::mbarrier_arrive(&empty[s]);
    const uint8_t *stage = smem + s * kRows * kBlockK;
    for (int c = 0; c < kBlockK; ++c) {
      // 128B swizzle: 16-byte chunk c/16 of row `row` sits at chunk (c/16) ^ (row % 8).
      acc += stage[row * 128 + ((((c / 16) ^ (row % 8)) * 16) | (c % 16))];
    }
    __syncwarp();
    if (!early_release && lane == 0) ptx::mbarrier_arrive(&empty[s]);
  }
  row_sums[row] = acc;
}

TEST(TmaPipeline, WarpSpecialisedRingOverSeveralLaps) {
  const int cols = kKBlocks * kBlockK;
  std::vector<uint8_t> h((size_t)kRows * cols);
  std::mt19937 rng(11);
  for (auto &v : h) v = (uint8_t)rng();
  DeviceBuffer<uint8_t> t(h.size());
  t.upload(h);
  DeviceBuffer<uint32_t> sums(kRows);
  const CUtensorMap map = make_map(k4j::TmaType::kFp8, t.p, {(uint64_t)cols, kRows}, {kBlockK, kRows},
                                   k4j::TmaSwizzle::k128B);
  for (const char *seed : {"1", "2", "3"}) {
    ASSERT_EQ(k4j_emu_set_option("seed", seed), 0);
    k4j::launch("ring_kernel", ring_kernel, 1, 96, kStages * kRows * kBlockK, nullptr, map, 0, sums.p);
    expect_clean();
    const std::vector<uint32_t> o = sums.download();
    for (int r = 0; r < kRows; ++r) {
      uint32_t want = 0;
      for (int c = 0; c < cols; ++c) want += h[(size_t)r * cols + c];
      EXPECT_EQ(o[r], want) << "row " << r << " seed " << seed;
    }
  }
  k4j::launch("ring_kernel", ring_kernel, 1, 96, kStages * kRows * kBlockK, nullptr, map, 1, sums.p);
  expect_report("while a TMA load into");
}

// ------------------------------------------------------------------ negative controls
// A two-stage pipeline: the consumer reads stage s after waiting on full[s] (or, the bug, before).
template <bool kWait>
__global__ void early_read_kernel(const __grid_constant__ CUtensorMap map, float *out) {
  K4J_DYNAMIC_SMEM(float, smem, 1024);
  __shared__ uint64_t full[2];
  if (threadIdx.x == 0) {
    ptx::mbarrier_init(&full[0], 1);
    ptx::mbarrier_init(&full[1], 1);
    ptx::fence_mbarrier_init();
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int s = 0; s < 2; ++s) {
      ptx::mbarrier_arrive_expect_tx(&full[s], 8 * 8 * 4);
      ptx::tma_load_2d(smem + s * 64, &map, &full[s], 0, 8 * s);
    }
  }
  if (threadIdx.x < 32) {
    for (int s = 0; s < 2; ++s) {
      if (kWait) ptx::mbarrier_wait_parity(&full[s], 0);
      out[s * 64 + threadIdx.x] = smem[s * 64 + threadIdx.x] + smem[s * 64 + 32 + threadIdx.x] * 0;
      out[s * 64 + 32 + threadIdx.x] = smem[s * 64 + 32 + threadIdx.x];
    }
  }
  if (!kWait && threadIdx.x == 0) {
    ptx::mbarrier_wait_parity(&full[0], 0);  // let the copies finish before the block exits
    ptx::mbarrier_wait_parity(&full[1], 0);
  }
}

TEST(NegativeControl, ReadingAStageBeforeItsMbarrierPhaseIsCaught) {
  std::vector<float> h(8 * 16);
  for (size_t i = 0; i < h.size(); ++i) h[i] = 1.f + (float)i;
  DeviceBuffer<float> t(h.size()), out(128);
  t.upload(h);
  const CUtensorMap map = make_map(k4j::TmaType::kFp32, t.p, {8, 16}, {8, 8}, k4j::TmaSwizzle::kNone);
  k4j::launch("early_read_kernel<false>", early_read_kernel<false>, 1, 64, 512, nullptr, map, out.p);
  expect_report("while a TMA load into");
  // Without the sanitizers the read still sees no data: the stage is poisoned until the copy lands.
  ASSERT_EQ(k4j_emu_set_option("sanitize", "none"), 0);
  k4j::launch("early_read_kernel<false>", early_read_kernel<false>, 1, 64, 512, nullptr, map, out.p);
  expect_clean();
  ASSERT_EQ(k4j_emu_set_option("sanitize", "all"), 0);
  std::vector<float> o = out.download();
  int same = 0;
  for (int i = 0; i < 128; ++i) same += o[i] == h[i];
  EXPECT_EQ(same, 0);
  k4j::launch("early_read_kernel<true>", early_read_kernel<true>, 1, 64, 512, nullptr, map, out.p);
  expect_clean();
  o = out.download();
  for (int i = 0; i < 128; ++i) EXPECT_EQ(o[i], h[i]) << i;
}

// Waiting on a phase that never completes: one arrival of the two the barrier expects.
__global__ void never_completes_kernel() {
  __shared__ uint64_t bar;
  if (threadIdx.x == 0) ptx::mbarrier_init(&bar, 2);
  __syncthreads();
  if (threadIdx.x == 0) ptx::mbarrier_arrive(&bar);
  ptx::mbarrier_wait_parity(&bar, 0);
}

TEST(NegativeControl, AWaitOnAPhaseThatNeverCompletesIsADeadlockNotAHang) {
  k4j::launch("never_completes_kernel", never_completes_kernel, 1, 64, 0, nullptr);
  expect_report("deadlock: thread 0 (warp 0 lane 0) waits on mbarrier");
  std::string r;
  // The report says why: one of the two arrivals is missing, nothing is in flight.
  k4j::launch("never_completes_kernel", never_completes_kernel, 1, 64, 0, nullptr);
  EXPECT_EQ(sync(&r), cudaErrorLaunchFailure);
  EXPECT_NE(r.find("1 of 2 arrivals missing, tx-count 0, no TMA copy in flight"), std::string::npos) << r;
}

// The shared-memory side of a TMA load is checked: alignment to the swizzle pattern, and the box
// inside the block's shared memory.
__global__ void bad_destination_kernel(const __grid_constant__ CUtensorMap map, int offset) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  __shared__ uint64_t bar;
  if (threadIdx.x == 0) {
    ptx::mbarrier_init(&bar, 1);
    ptx::mbarrier_arrive_expect_tx(&bar, 128 * 16);
    ptx::tma_load_2d(smem + offset, &map, &bar, 0, 0);
    ptx::mbarrier_wait_parity(&bar, 0);
  }
}

// Two TMA loads into overlapping shared memory in flight at once (a stage reused before its
// previous load landed).
__global__ void overlapping_loads_kernel(const __grid_constant__ CUtensorMap map, int second_offset) {
  K4J_DYNAMIC_SMEM(uint8_t, smem, 1024);
  __shared__ uint64_t bar;
  if (threadIdx.x == 0) {
    ptx::mbarrier_init(&bar, 1);
    ptx::mbarrier_arrive_expect_tx(&bar, 2 * 128 * 16);
    ptx::tma_load_2d(smem, &map, &bar, 0, 0);
    ptx::tma_load_2d(smem + second_offset, &map, &bar, 0, 16);
    ptx::mbarrier_wait_parity(&bar, 0);
  }
}

TEST(NegativeControl, OverlappingTmaLoadsInFlightAreARace) {
  DeviceBuffer<uint8_t> t(256 * 64);
  const CUtensorMap map = make_map(k4j::TmaType::kFp8, t.p, {256, 64}, {128, 16}, k4j::TmaSwizzle::k128B);
  k4j::launch("overlapping_loads_kernel", overlapping_loads_kernel, 1, 32, 4096, nullptr, map, 1024);
  expect_report("while another TMA load into");
  k4j::launch("overlapping_loads_kernel", overlapping_loads_kernel, 1, 32, 4096, nullptr, map, 2048);
  expect_clean();
}

TEST(NegativeControl, TmaDestinationChecks) {
  DeviceBuffer<uint8_t> t(256 * 64);
  const CUtensorMap map = make_map(k4j::TmaType::kFp8, t.p, {256, 64}, {128, 16}, k4j::TmaSwizzle::k128B);
  k4j::launch("bad_destination_kernel", bad_destination_kernel, 1, 32, 4096, nullptr, map, 128);
  expect_report("is not 1024-byte aligned");
  k4j::launch("bad_destination_kernel", bad_destination_kernel, 1, 32, 4096, nullptr, map, 3072);
  expect_report("is not inside the block's shared memory");
  k4j::launch("bad_destination_kernel", bad_destination_kernel, 1, 32, 4096, nullptr, map, 1024);
  expect_clean();
}

// The global side is bounded by the tensor map: a map larger than its allocation is caught.
TEST(NegativeControl, TensorMapPastItsAllocationIsCaught) {
  DeviceBuffer<float> t(8 * 30), out(32);
  const CUtensorMap map = make_map(k4j::TmaType::kFp32, t.p, {8, 32}, {8, 8}, k4j::TmaSwizzle::kNone);
  k4j::launch("tx_mismatch_kernel", tx_mismatch_kernel, 1, 64, 256, nullptr, map, 256u, out.p);
  expect_report("TMA load");
}

}  // namespace
