package io.kernels4j.ops;

/** Element types of device tensors; {@link #code()} matches the K4J_DTYPE_* codes of kernels4j.h. */
public enum DType {
    /** bfloat16. */
    BF16(1, 2),
    /** FP8 e4m3fn: no infinities, max finite 448, one NaN code per sign. */
    FP8_E4M3(2, 1),
    /** IEEE binary32. */
    FP32(3, 4),
    /** Signed 32-bit integer. */
    INT32(4, 4),
    /** 64-bit integer: PyTorch's index dtype (top-k ids); see {@link io.kernels4j.ops.moe.MoeLayout#topkIdsToInt32}. */
    INT64(5, 8);

    private final int code;
    private final int byteSize;

    DType(int code, int byteSize) {
        this.code = code;
        this.byteSize = byteSize;
    }

    /** {@return the {@code K4J_DTYPE_*} code of the C ABI} */
    public int code() {
        return code;
    }

    /** {@return the bytes of one element} */
    public int byteSize() {
        return byteSize;
    }
}
