/* kernels4j C ABI: moe ops. Included from kernels4j.h; same conventions. */
#ifndef K4J_MOE_H
#define K4J_MOE_H
#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
