package io.kernels4j.bench;

/** One benchmark: sets up inputs, times the op with {@link BenchContext#timer()}, frees its inputs. */
public interface BenchCase {
    /** Op name as in every layer, e.g. {@code Fp8Gemm.dense}. */
    String op();

    /** Case label, e.g. {@code m=64 n=2112 k=7168}. */
    String name();

    BenchResult run(BenchContext ctx) throws Exception;
}
