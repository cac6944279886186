/**
 * FP8 e4m3 GEMM with fine-grained block scaling (DeepGEMM semantics: 1x128 activation scales,
 * 128x128 weight scales), dense, grouped-contiguous, grouped by ends and grouped-masked for MoE
 * ({@link io.kernels4j.ops.gemm.Fp8Gemm}), and the quantisers that produce its inputs
 * ({@link io.kernels4j.ops.gemm.Fp8Quantize}). Numerics and layouts: docs/CONTRACT.md.
 */
package io.kernels4j.ops.gemm;
