package io.kernels4j.bench.cublas;

/**
 * The few cuBLASLt and CUDA enum values the peer uses, written by hand because nothing is generated
 * from headers at build time (the library is bound at run time). Values are those of
 * {@code cublasLt.h} / {@code cublas_api.h} / {@code library_types.h} of CUDA 12.9 and 13.0 (the
 * block-scale modes appeared in 12.9); cross-checked against NVIDIA's generated nvmath-python
 * bindings ({@code nvmath.bindings.cublasLt.MatmulDescAttribute}, {@code MatmulMatrixScale}) and the
 * CUDALibrarySamples {@code LtBlk128x128Fp8Matmul} sample. They are ABI: cuBLAS never renumbers them.
 */
final class CublasLtApi {
    private CublasLtApi() {}

    // cudaDataType_t (library_types.h)
    static final int CUDA_R_32F = 0;
    static final int CUDA_R_16BF = 14;
    static final int CUDA_R_8F_E4M3 = 28;

    // cublasComputeType_t (cublas_api.h)
    static final int CUBLAS_COMPUTE_32F = 68;

    // cublasOperation_t (cublas_api.h)
    static final int CUBLAS_OP_N = 0;
    static final int CUBLAS_OP_T = 1;

    // cublasLtMatmulDescAttributes_t (cublasLt.h)
    static final int CUBLASLT_MATMUL_DESC_TRANSA = 3;
    static final int CUBLASLT_MATMUL_DESC_TRANSB = 4;
    static final int CUBLASLT_MATMUL_DESC_A_SCALE_POINTER = 17;
    static final int CUBLASLT_MATMUL_DESC_B_SCALE_POINTER = 18;
    static final int CUBLASLT_MATMUL_DESC_A_SCALE_MODE = 31;
    static final int CUBLASLT_MATMUL_DESC_B_SCALE_MODE = 32;

    // cublasLtMatmulMatrixScale_t (cublasLt.h, CUDA 12.9+)
    static final int CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F = 0;
    static final int CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F = 4;
    static final int CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F = 5;

    // cublasLtMatmulPreferenceAttributes_t (cublasLt.h)
    static final int CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1;

    /**
     * sizeof(cublasLtMatmulHeuristicResult_t): {@code cublasLtMatmulAlgo_t algo} (uint64_t[8], 64
     * bytes), {@code size_t workspaceSize} (at 64), {@code cublasStatus_t state} (int, at 72),
     * {@code float wavesCount} (at 76), {@code int reserved[4]} (at 80).
     */
    static final long HEURISTIC_RESULT_BYTES = 96;
    static final long HEURISTIC_WORKSPACE_OFFSET = 64;
    static final long HEURISTIC_STATE_OFFSET = 72;
    static final long HEURISTIC_WAVES_OFFSET = 76;
    static final long ALGO_BYTES = 64;

    /** cublasStatus_t names (cublas_api.h), for messages when cublasLtGetStatusName is absent. */
    static String statusName(int status) {
        return switch (status) {
            case 0 -> "CUBLAS_STATUS_SUCCESS";
            case 1 -> "CUBLAS_STATUS_NOT_INITIALIZED";
            case 3 -> "CUBLAS_STATUS_ALLOC_FAILED";
            case 7 -> "CUBLAS_STATUS_INVALID_VALUE";
            case 8 -> "CUBLAS_STATUS_ARCH_MISMATCH";
            case 11 -> "CUBLAS_STATUS_MAPPING_ERROR";
            case 13 -> "CUBLAS_STATUS_EXECUTION_FAILED";
            case 14 -> "CUBLAS_STATUS_INTERNAL_ERROR";
            case 15 -> "CUBLAS_STATUS_NOT_SUPPORTED";
            case 16 -> "CUBLAS_STATUS_LICENSE_ERROR";
            default -> "cublasStatus_t " + status;
        };
    }
}
