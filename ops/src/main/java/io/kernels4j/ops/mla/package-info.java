/**
 * Multi-head latent attention decoding over a paged latent KV cache, BF16 or FP8 (FlashMLA
 * semantics): {@link io.kernels4j.ops.mla.MlaDecode} (a split-KV schedule once per decode step,
 * then one forward per layer) and {@link io.kernels4j.ops.mla.MlaKvCache} (writes new tokens into
 * the cache). Numerics and layouts: docs/CONTRACT.md.
 */
package io.kernels4j.ops.mla;
