/* kernels4j C ABI: gemm ops. Included from kernels4j.h; same conventions. */
#ifndef K4J_GEMM_H
#define K4J_GEMM_H
#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
