/**
 * The kernels4j examples: an FP8 GEMM, one DeepSeek-V3 MoE layer, one MLA decode step and FP8
 * weights from a safetensors file, each checked against the FP64 references of
 * {@code io.kernels4j.validation}. Run with {@code --enable-native-access=io.kernels4j.bindings,io.kernels4j.ops}
 * on the module path ({@code ALL-UNNAMED} on the class path), plus the platform jar (see
 * {@code io.kernels4j.bindings}).
 */
module io.kernels4j.examples {
    requires transitive io.kernels4j.ops; // Safetensors hands out device tensors
    requires io.kernels4j.validation;

    requires com.fasterxml.jackson.databind;

    exports io.kernels4j.examples;
}
