/* The one home of TMA tensor maps on the host: encodes a CUtensorMap (CUDA driver API
 * cuTensorMapEncodeTiled) for the Hopper kernels, which take it as a `const __grid_constant__
 * CUtensorMap` parameter and load/store boxes of it with cuda-kernels/common/ptx.cuh's tma_*.
 *
 * libkernels4j.so links no libcuda: the driver function is reached through the runtime's driver
 * entry point (cudaGetDriverEntryPointByVersion, CUDA 12.5+; cudaGetDriverEntryPoint is deprecated
 * in CUDA 13). In the CPU emulator the same call returns the emulator's cuTensorMapEncodeTiled,
 * which validates the arguments as the driver documents them and stores its decoded form in the
 * 128-byte opaque map (emulator/src/tma.cpp). */
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "k4j_internal.h"

namespace k4j {

/* Element types the kernels move with TMA. FP8 (e4m3/e5m2) travels as bytes: TMA never converts. */
enum class TmaType { kFp8, kBf16, kFp32 };
/* Shared-memory layout of the box (the driver's CU_TENSOR_MAP_SWIZZLE_*): the inner box row
 * (box_inner * element bytes) must fit the span, e.g. 128 FP8 or 64 BF16 elements for k128B. */
enum class TmaSwizzle { kNone = 0, k32B = 32, k64B = 64, k128B = 128 };

namespace tensor_map_detail {

using EncodeTiled = decltype(&cuTensorMapEncodeTiled);

/* The driver's cuTensorMapEncodeTiled (the CUDA 12.0 ABI of it), looked up once. */
inline EncodeTiled encode_fn(cudaError_t *err, cudaDriverEntryPointQueryResult *query) {
  static cudaError_t s_err = cudaErrorUnknown;
  static cudaDriverEntryPointQueryResult s_query = cudaDriverEntryPointSymbolNotFound;
  static EncodeTiled s_fn = [] {
    void *fn = nullptr;
    s_err = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &s_query);
    return (s_err == cudaSuccess && s_query == cudaDriverEntryPointSuccess) ? reinterpret_cast<EncodeTiled>(fn)
                                                                              : nullptr;
  }();
  *err = s_err;
  *query = s_query;
  return s_fn;
}

inline CUtensorMapDataType data_type(TmaType t) {
  switch (t) {
    case TmaType::kFp8: return CU_TENSOR_MAP_DATA_TYPE_UINT8;
    case TmaType::kBf16: return CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
    default: return CU_TENSOR_MAP_DATA_TYPE_FLOAT32;
  }
}

inline CUtensorMapSwizzle swizzle_mode(TmaSwizzle s) {
  switch (s) {
    case TmaSwizzle::k32B: return CU_TENSOR_MAP_SWIZZLE_32B;
    case TmaSwizzle::k64B: return CU_TENSOR_MAP_SWIZZLE_64B;
    case TmaSwizzle::k128B: return CU_TENSOR_MAP_SWIZZLE_128B;
    default: return CU_TENSOR_MAP_SWIZZLE_NONE;
  }
}

/* dims[0] is the innermost (contiguous) dimension; strides[i] is the byte stride of dims[i + 1]. */
inline int encode(CUtensorMap *map, TmaType type, const void *base, uint32_t rank, const uint64_t *dims,
                  const uint64_t *strides, const uint32_t *box, TmaSwizzle swizzle) {
  cudaError_t err;
  cudaDriverEntryPointQueryResult query;
  EncodeTiled fn = encode_fn(&err, &query);
  if (fn == nullptr)
    return set_error(K4J_ERR_UNSUPPORTED,
                     "tensor map: the driver's cuTensorMapEncodeTiled is not available (%s, entry point query %d); "
                     "TMA needs CUDA 12.0+ drivers",
                     cudaGetErrorName(err), (int)query);
  const cuuint32_t elem_strides[5] = {1, 1, 1, 1, 1};
  /* OOB fill NONE = zeros in the out-of-bounds box elements; L2 promotion 256 B (whole sectors of
   * the wide rows the GEMM streams). */
  const CUresult r = fn(map, data_type(type), rank, const_cast<void *>(base), dims, strides, box, elem_strides,
                        CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle_mode(swizzle), CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                        CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    return set_error(K4J_ERR_INVALID_ARGUMENT,
                     "tensor map: cuTensorMapEncodeTiled failed (CUresult %d) for rank %u, base %p, dims {%llu, %llu, "
                     "%llu}, byte strides {%llu, %llu}, box {%u, %u, %u}, swizzle %d B (rules: base and strides "
                     "16-byte aligned, box <= 256 per dim, box[0] bytes a multiple of 16 and <= the swizzle span)",
                     (int)r, rank, base, (unsigned long long)dims[0], (unsigned long long)dims[1],
                     (unsigned long long)(rank > 2 ? dims[2] : 1), (unsigned long long)strides[0],
                     (unsigned long long)(rank > 2 ? strides[1] : 0), box[0], box[1], rank > 2 ? box[2] : 1,
                     (int)swizzle);
  return K4J_OK;
}

}  // namespace tensor_map_detail

/* A 2-D tensor of `rows` x `cols` elements (cols contiguous, row_stride_bytes apart), read or
 * written in boxes of box_rows x box_cols elements; coordinates in the kernel are (col, row).
 * Returns K4J_OK, or an error with the message recorded (k4j_last_error). */
inline int make_tensor_map_2d(CUtensorMap *map, TmaType type, const void *base, uint64_t cols, uint64_t rows,
                              uint64_t row_stride_bytes, uint32_t box_cols, uint32_t box_rows, TmaSwizzle swizzle) {
  const uint64_t dims[2] = {cols, rows};
  const uint64_t strides[1] = {row_stride_bytes};
  const uint32_t box[2] = {box_cols, box_rows};
  return tensor_map_detail::encode(map, type, base, 2, dims, strides, box, swizzle);
}

/* A 3-D tensor dim2 x dim1 x dim0 (dim0 contiguous; stride1/stride2 the byte strides of dims 1
 * and 2), boxes box2 x box1 x box0; coordinates in the kernel are (c0, c1, c2). */
inline int make_tensor_map_3d(CUtensorMap *map, TmaType type, const void *base, uint64_t dim0, uint64_t dim1,
                              uint64_t dim2, uint64_t stride1_bytes, uint64_t stride2_bytes, uint32_t box0,
                              uint32_t box1, uint32_t box2, TmaSwizzle swizzle) {
  const uint64_t dims[3] = {dim0, dim1, dim2};
  const uint64_t strides[2] = {stride1_bytes, stride2_bytes};
  const uint32_t box[3] = {box0, box1, box2};
  return tensor_map_detail::encode(map, type, base, 3, dims, strides, box, swizzle);
}

/* Bytes of one box (what an mbarrier's expect-tx must announce for one tma_load of this map):
 * out-of-bounds elements count too, as the hardware signals the whole box. */
inline uint32_t tensor_map_box_bytes(TmaType type, uint32_t box0, uint32_t box1, uint32_t box2 = 1) {
  const uint32_t e = type == TmaType::kFp8 ? 1u : type == TmaType::kBf16 ? 2u : 4u;
  return e * box0 * box1 * box2;
}

}  // namespace k4j
