// Host launchers of the FP8 quantisers (1x128 activations, 128x128 weights).
#include <limits.h>

#include "gemm/fp8_quant.cuh"
#include "k4j_internal.h"

namespace {

int check_quant(k4j_dptr x, int x_dtype, k4j_dptr q, k4j_dptr scales, int64_t rows, const char *rows_name,
                int64_t k, const char *x_name) {
  K4J_REQUIRE(rows >= 1 && rows <= INT_MAX - 4, "%s: must be in [1, 2^31 - 4], got %lld", rows_name, (long long)rows);
  // k <= 2^31 - 128: the kernels compute ceil(k / 128) as (k + 127) / 128 and kb * 128 + 127 in int.
  K4J_REQUIRE(k >= 1 && k <= INT_MAX - 127, "k: must be in [1, 2^31 - 128], got %lld", (long long)k);
  K4J_REQUIRE(rows * k < (1ll << 62), "%s/k: tensor size overflows", rows_name);
  K4J_REQUIRE(x_dtype == K4J_DTYPE_BF16 || x_dtype == K4J_DTYPE_FP32,
              "%s: dtype must be BF16 (%d) or FP32 (%d), got code %d", x_name, K4J_DTYPE_BF16, K4J_DTYPE_FP32,
              x_dtype);
  K4J_REQUIRE_PTR(x, x_name);
  K4J_REQUIRE_PTR(q, "q");
  K4J_REQUIRE_PTR(scales, "scales");
  K4J_REQUIRE_ALIGNED(x, 16, x_name);
  K4J_REQUIRE_ALIGNED(q, 16, "q");
  K4J_REQUIRE_ALIGNED(scales, 16, "scales");
  return K4J_OK;
}

}  // namespace

extern "C" {

K4J_API int k4j_fp8_quant_1x128(k4j_dptr x, int x_dtype, k4j_dptr q, k4j_dptr scales, int64_t m, int64_t k,
                                int pow2_scales, k4j_stream stream) {
  int rc = check_quant(x, x_dtype, q, scales, m, "m", k, "x");
  if (rc != K4J_OK) return rc;
  const int64_t sa_ld = (m + 3) / 4 * 4;
  const int64_t warps = sa_ld * ((k + 127) / 128);
  const int64_t blocks = (warps * 32 + 255) / 256;
  K4J_REQUIRE(blocks <= INT_MAX, "m/k: too many groups (%lld)", (long long)warps);
  using namespace k4j::kernels::gemm;
  cudaStream_t s = (cudaStream_t)stream;
  if (x_dtype == K4J_DTYPE_FP32)
    k4j::launch("fp8_quant_1x128_kernel<float>", fp8_quant_1x128_kernel<float>, (unsigned)blocks, 256, 0, s,
        reinterpret_cast<const float *>(x), reinterpret_cast<uint8_t *>(q), reinterpret_cast<float *>(scales),
        (int)m, (int)k, (int)sa_ld, pow2_scales != 0);
  else
    k4j::launch("fp8_quant_1x128_kernel<__nv_bfloat16>", fp8_quant_1x128_kernel<__nv_bfloat16>, (unsigned)blocks, 256, 0, s,
        reinterpret_cast<const __nv_bfloat16 *>(x), reinterpret_cast<uint8_t *>(q),
        reinterpret_cast<float *>(scales), (int)m, (int)k, (int)sa_ld, pow2_scales != 0);
  return k4j::check_launch("fp8_quant_1x128");
}

K4J_API int k4j_fp8_quant_128x128(k4j_dptr w, int w_dtype, k4j_dptr q, k4j_dptr scales, int64_t n, int64_t k,
                                  int pow2_scales, k4j_stream stream) {
  int rc = check_quant(w, w_dtype, q, scales, n, "n", k, "w");
  if (rc != K4J_OK) return rc;
  const int64_t kb = (k + 127) / 128, nb = (n + 127) / 128;
  K4J_REQUIRE(nb <= 65535, "n: must be <= %d, got %lld", 65535 * 128, (long long)n);
  using namespace k4j::kernels::gemm;
  cudaStream_t s = (cudaStream_t)stream;
  const dim3 grid((unsigned)kb, (unsigned)nb);
  if (w_dtype == K4J_DTYPE_FP32)
    k4j::launch("fp8_quant_128x128_kernel<float>", fp8_quant_128x128_kernel<float>, grid, 256, 0, s, reinterpret_cast<const float *>(w),
                                                        reinterpret_cast<uint8_t *>(q),
                                                        reinterpret_cast<float *>(scales), (int)n, (int)k,
                                                        pow2_scales != 0);
  else
    k4j::launch("fp8_quant_128x128_kernel<__nv_bfloat16>", fp8_quant_128x128_kernel<__nv_bfloat16>, grid, 256, 0, s, reinterpret_cast<const __nv_bfloat16 *>(w),
                                                                reinterpret_cast<uint8_t *>(q),
                                                                reinterpret_cast<float *>(scales), (int)n,
                                                                (int)k, pow2_scales != 0);
  return k4j::check_launch("fp8_quant_128x128");
}

}  // extern "C"
