/**
 * Host-side tools for checking kernels4j's results (the BF16/FP8 codecs and the FP8 quantiser they use
 * live in {@link io.kernels4j.ops.host}): error metrics, seeded random tensors, emulator-sized check
 * shapes ({@link io.kernels4j.validation.EmulatorSizes}), and the check framework
 * ({@link io.kernels4j.validation.CheckSuite}, {@link io.kernels4j.validation.CheckCase}) that
 * {@code kernels4j check} runs.
 */
package io.kernels4j.validation;
