package io.kernels4j.validation;

/** One check: runs an op on fresh random inputs and compares it with its reference. */
public interface CheckCase {
    /** Op name as in every layer, e.g. {@code Fp8Gemm.dense}. */
    String op();

    /** Case label, e.g. {@code m=64 n=2112 k=7168}. */
    String name();

    CheckResult run(CheckContext ctx) throws Exception;
}
