package io.kernels4j.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls for {@code native/include/k4j_gemm.h}: FP8 quantisers and the FP8 block-scaled GEMM.
 * Device pointers are {@code long}, sizes {@code long}, flags {@code int}, the stream an
 * {@code ADDRESS}; every function returns a k4j status. Call with {@code invokeExact}.
 */
public final class GemmNative {
    private GemmNative() {}

    /** (x, xDtype, q, scales, m, k, pow2, stream) -> status. */
    public static final MethodHandle k4j_fp8_quant_1x128 = Downcalls.handle("k4j_fp8_quant_1x128",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS));

    /** (w, wDtype, q, scales, n, k, pow2, stream) -> status. */
    public static final MethodHandle k4j_fp8_quant_128x128 = Downcalls.handle("k4j_fp8_quant_128x128",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS));

    /** (a, sa, b, sb, c, d, dDtype, m, n, k, stream) -> status. */
    public static final MethodHandle k4j_fp8_gemm_dense = Downcalls.handle("k4j_fp8_gemm_dense",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT,
                    JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));

    /** (a, sa, b, sb, c, d, dDtype, mIndices, sumM, n, k, groups, errFlags, stream) -> status. */
    public static final MethodHandle k4j_fp8_gemm_grouped_contiguous = Downcalls.handle("k4j_fp8_gemm_grouped_contiguous",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT,
                    JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));

    /** (a, sa, b, sb, c, d, dDtype, groupEnds, sumM, n, k, groups, errFlags, stream) -> status. */
    public static final MethodHandle k4j_fp8_gemm_grouped_ends = Downcalls.handle("k4j_fp8_gemm_grouped_ends",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT,
                    JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));

    /** (a, sa, b, sb, c, d, dDtype, maskedM, groups, maxM, n, k, expectedM, errFlags, stream) -> status. */
    public static final MethodHandle k4j_fp8_gemm_grouped_masked = Downcalls.handle("k4j_fp8_gemm_grouped_masked",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT,
                    JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));

    /** (form, rows, n, k, groups, expectedM, dDtype, buf, size) -> status; buf receives the plan line. */
    public static final MethodHandle k4j_fp8_gemm_plan = Downcalls.handle("k4j_fp8_gemm_plan",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT,
                    ADDRESS, JAVA_LONG));
}
