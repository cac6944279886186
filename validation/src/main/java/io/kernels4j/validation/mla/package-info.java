/** MLA decoding: a pure-Java FP64 reference, the FP8 cache row codec and the checks against them. */
package io.kernels4j.validation.mla;
