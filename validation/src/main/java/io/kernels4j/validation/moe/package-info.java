/** MoE routing, dispatch, SiLU-and-mul and combine: pure-Java references and the op and full-layer checks. */
package io.kernels4j.validation.moe;
