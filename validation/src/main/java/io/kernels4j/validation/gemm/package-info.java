/** FP8 GEMM: a pure-Java FP64 reference and the checks of every {@code Fp8Gemm} variant against it. */
package io.kernels4j.validation.gemm;
