package io.kernels4j.validation;

/** One check: runs an op on fresh random inputs and compares it with its reference. */
public interface CheckCase {
    /**
     * Op name as in every layer, e.g. {@code Fp8Gemm.dense}.
     *
     * @return the op
     */
    String op();

    /**
     * Case label, e.g. {@code m=64 n=2112 k=7168}.
     *
     * @return the label
     */
    String name();

    /**
     * Runs the case.
     *
     * @param ctx the device, stream and seed
     * @return the outcome of its gates
     * @throws Exception if the case could not run (a failed gate is a result, not an exception)
     */
    CheckResult run(CheckContext ctx) throws Exception;

}
