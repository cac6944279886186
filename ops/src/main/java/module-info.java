/**
 * The kernels4j Java API: devices, streams, events, device tensors, CUDA graphs, scopes, and the op
 * families FP8 GEMM ({@code io.kernels4j.ops.gemm}), MLA decoding ({@code io.kernels4j.ops.mla}) and
 * MoE dispatch/combine ({@code io.kernels4j.ops.moe}). Numerics and layouts: {@code docs/CONTRACT.md}.
 *
 * <p>Native access: run with {@code --enable-native-access=io.kernels4j.bindings,io.kernels4j.ops}
 * on the module path ({@code ALL-UNNAMED} on the class path). {@code io.kernels4j.ops.internal} is
 * plumbing shared with kernels4j's own validation and bench modules, not API.
 */
@SuppressWarnings({"module", "requires-automatic"}) // qualified exports to later modules; JCuda has no module name
module io.kernels4j.ops {
    requires transitive io.kernels4j.bindings;
    // Only io.kernels4j.ops.interop.JCudaInterop needs JCuda; callers of it bring it themselves.
    requires static jcuda;

    exports io.kernels4j.ops;
    exports io.kernels4j.ops.gemm;
    exports io.kernels4j.ops.mla;
    exports io.kernels4j.ops.moe;
    exports io.kernels4j.ops.interop;
    exports io.kernels4j.ops.host;
    exports io.kernels4j.ops.internal to io.kernels4j.validation, io.kernels4j.bench;
}
