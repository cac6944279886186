/**
 * Mixture-of-experts token routing on one GPU (docs/CONTRACT.md section 4, DeepEP / vLLM semantics).
 *
 * <p>One MoE layer, prefill (grouped-contiguous layout):
 * <pre>{@code
 * MoeLayout.compute(topkIdx, E, 128, counts, offsets, totalRows, rowOf, workspace, stream);
 * MoeDispatch.contiguous(x, rowOf, counts, offsets, xq, xqScales, false, mIndices, stream); // FP8 cast fused
 * Fp8Gemm.groupedContiguous(xq, xqScales, w1, w1Scales, null, gateUp, mIndices, stream);
 * SiluAndMul.contiguous(gateUp, mIndices, h, hScales, false, stream);                      // FP8 re-quantised
 * Fp8Gemm.groupedContiguous(h, hScales, w2, w2Scales, null, y, mIndices, stream);
 * MoeCombine.contiguous(y, rowOf, topkWeights, out, stream);
 * }</pre>
 * Decode (masked layout, CUDA-graph friendly): {@link io.kernels4j.ops.moe.MoeDispatch#masked}
 * writes {@code [E, maxTokensPerExpert, H]} plus {@code counts} (the masked GEMM's
 * {@code maskedM}) and {@code slotOf}, which {@link io.kernels4j.ops.moe.MoeCombine#masked} reads.
 *
 * <p>{@link io.kernels4j.ops.moe.MoeLayer} runs this whole chain in one call from a
 * {@link io.kernels4j.ops.moe.MoeLayerConfig}, with workspaces it sizes and owns, in either layout,
 * and takes PyTorch's INT64 top-k ids ({@link io.kernels4j.ops.moe.MoeLayout#topkIdsToInt32}).
 *
 * <p>Sizes that depend on the routing are never read back: outputs are sized from capacities
 * ({@link io.kernels4j.ops.moe.MoeLayout#maxPaddedRows}, {@code maxTokensPerExpert}) and the
 * actual counts stay on the device. Rows within an expert follow ascending token order, so every
 * output is deterministic. {@link io.kernels4j.ops.moe.MoeShapes} holds the shape rules as pure
 * functions. An op call allocates nothing on the Java heap unless its checks throw.
 */
package io.kernels4j.ops.moe;
