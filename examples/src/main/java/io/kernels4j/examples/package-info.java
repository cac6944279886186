/**
 * Runnable examples of the kernels4j API, each a {@code main} that exits 0 when its result matches
 * an FP64 reference, 1 when it does not and 2 when there is no usable GPU (see {@link
 * io.kernels4j.examples.Examples}): an FP8 GEMM ({@link io.kernels4j.examples.Fp8GemmExample}), one
 * DeepSeek-V3 MoE layer ({@link io.kernels4j.examples.MoeLayerExample}), one MLA decode step over a
 * paged cache ({@link io.kernels4j.examples.MlaDecodeExample}) and FP8 weights in DeepSeek-V3's
 * checkpoint layout loaded from a safetensors file ({@link io.kernels4j.examples.SafetensorsFp8Example},
 * with the reader and writer {@link io.kernels4j.examples.Safetensors}).
 */
package io.kernels4j.examples;
