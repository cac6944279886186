/* kernels4j C ABI: mla ops. Included from kernels4j.h; same conventions. */
#ifndef K4J_MLA_H
#define K4J_MLA_H
#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
