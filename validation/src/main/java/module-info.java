/**
 * kernels4j validation: pure-Java FP64 references of every op, host-side BF16/FP8 codecs and
 * quantisers, error metrics, and the op checks that {@code kernels4j check} runs on a GPU.
 *
 * <p>Native access: as for {@code io.kernels4j.ops}.
 */
module io.kernels4j.validation {
    requires transitive io.kernels4j.ops;

    exports io.kernels4j.validation;
    exports io.kernels4j.validation.gemm;
    exports io.kernels4j.validation.mla;
    exports io.kernels4j.validation.moe;
}
