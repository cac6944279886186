/*
 * kernels4j C ABI.
 *
 * Plain C, every symbol prefixed k4j_. Conventions shared by every op:
 *  - Device memory is passed as k4j_dptr (a 64-bit device address), streams as k4j_stream
 *    (a cudaStream_t; NULL is the legacy default stream).
 *  - Every function returns an int status: K4J_OK (0); a negative K4J_ERR_* for a bad argument or
 *    an unsupported configuration (nothing was launched); a positive value is a cudaError_t raised
 *    by a launch. The message of the last failure on the calling thread is k4j_last_error().
 *  - Ops never synchronise, never allocate and never read device data on the host, so they can be
 *    captured into CUDA graphs. Scratch memory comes from a caller-sized workspace.
 *  - err_flags (may be 0) points at one device uint32; kernels OR K4J_DEVERR_* bits into it when
 *    they meet device-side data they must skip or clamp (bad expert/page ids, lengths...).
 */
#ifndef KERNELS4J_H
#define KERNELS4J_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define K4J_API __attribute__((visibility("default")))

/* Bumped whenever a signature or struct in this header changes; the Java side refuses a mismatch. */
#define K4J_ABI_VERSION 1
/* The library version is the Maven project's (pom.xml), defined by the build; k4j_version_string()
 * returns it at run time. */
#ifndef K4J_VERSION_STRING
#define K4J_VERSION_STRING "unknown"
#endif

typedef uint64_t k4j_dptr;
typedef void *k4j_stream;

/* Status codes (positive values are cudaError_t). */
#define K4J_OK 0
#define K4J_ERR_INVALID_ARGUMENT (-1)
#define K4J_ERR_UNSUPPORTED (-2)
#define K4J_ERR_INTERNAL (-3)

/* dtype codes, shared with io.kernels4j.ops.DType. */
#define K4J_DTYPE_BF16 1
#define K4J_DTYPE_FP8_E4M3 2
#define K4J_DTYPE_FP32 3
#define K4J_DTYPE_INT32 4
#define K4J_DTYPE_INT64 5

/* Bits of the device error word (err_flags). */
#define K4J_DEVERR_INDEX_OUT_OF_RANGE (1u << 0)  /* expert id, page id or row index outside its range */
#define K4J_DEVERR_LENGTH_OUT_OF_RANGE (1u << 1) /* seqlen past the block table, count < 0 or > capacity */
#define K4J_DEVERR_CAPACITY_OVERFLOW (1u << 2)   /* more rows than the caller-sized capacity */

/* ---- library information ---- */
K4J_API int k4j_abi_version(void);
K4J_API const char *k4j_version_string(void);
/* Comma-separated list of the GPU targets compiled in, e.g. "sm_80,sm_89,sm_90a,compute_90". */
K4J_API const char *k4j_cuda_archs(void);
/* CUDART_VERSION the library was built against (e.g. 13000). */
K4J_API int k4j_cuda_build_version(void);
/* Message of the last failure on this thread ("" if none). Valid until the next k4j_ call. */
K4J_API const char *k4j_last_error(void);

/* ---- host-side numerics, CUDA's own conversions run on the CPU (no GPU needed) ---- */
/* out[i] = __nv_cvt_float_to_fp8(in[i], __NV_SATFINITE or __NV_NOSAT, __NV_E4M3). */
K4J_API int k4j_host_f32_to_e4m3(const float *in, uint8_t *out, int64_t n, int saturate);
/* out[i] = float(__nv_cvt_fp8_to_halfraw(in[i], __NV_E4M3)). */
K4J_API int k4j_host_e4m3_to_f32(const uint8_t *in, float *out, int64_t n);
/* out[i] = __float2bfloat16_rn(in[i]) bits. */
K4J_API int k4j_host_f32_to_bf16(const float *in, uint16_t *out, int64_t n);

/* ---- device utilities ---- */
/* Fills n elements of elem_size bytes (1, 2 or 4) at dst with the bit pattern `pattern`. */
K4J_API int k4j_fill(k4j_dptr dst, int64_t n, int elem_size, uint32_t pattern, k4j_stream stream);

#ifdef __cplusplus
}
#endif

/* Op families, each in its own header with the same conventions. */
#include "k4j_gemm.h"
#include "k4j_mla.h"
#include "k4j_moe.h"

#endif /* KERNELS4J_H */
