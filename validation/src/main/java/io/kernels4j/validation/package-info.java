/**
 * Host-side tools for checking kernels4j's results: BF16 and FP8 e4m3 codecs
 * ({@link io.kernels4j.validation.Bf16}, {@link io.kernels4j.validation.E4m3}), the FP8 quantiser
 * ({@link io.kernels4j.validation.Fp8Quantizer}), error metrics, seeded random tensors, and the check
 * framework ({@link io.kernels4j.validation.CheckSuite}, {@link io.kernels4j.validation.CheckCase})
 * that {@code kernels4j check} runs.
 */
package io.kernels4j.validation;
