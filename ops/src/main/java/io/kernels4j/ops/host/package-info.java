/**
 * Host-side (plain Java, no GPU) number formats and quantisers, bit for bit what the kernels do:
 * {@link io.kernels4j.ops.host.Bf16} and {@link io.kernels4j.ops.host.E4m3} codecs, and
 * {@link io.kernels4j.ops.host.Fp8Quantizer} (1x128 per-token-group activations, 128x128 per-block
 * weights, the scale layouts the FP8 GEMMs consume). Use them to prepare FP8 weights and inputs
 * on the host and to check results; the validation references are built on them.
 */
package io.kernels4j.ops.host;
