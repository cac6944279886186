/**
 * Zero-copy bridges to other CUDA code: {@link io.kernels4j.ops.interop.NativeHandles} gives the raw
 * device pointer of a tensor and the {@code cudaStream_t} of a stream;
 * {@link io.kernels4j.ops.interop.JCudaInterop} converts to and from JCuda's objects (JCuda is an
 * optional dependency). Nothing changes owner.
 */
package io.kernels4j.ops.interop;
