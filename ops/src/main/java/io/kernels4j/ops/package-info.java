/**
 * The core of the kernels4j API: {@link io.kernels4j.ops.Device}, {@link io.kernels4j.ops.Stream},
 * {@link io.kernels4j.ops.Event}, {@link io.kernels4j.ops.DeviceTensor},
 * {@link io.kernels4j.ops.PinnedBuffer}, {@link io.kernels4j.ops.CudaGraph} and
 * {@link io.kernels4j.ops.Scope}; the op families live in the {@code gemm}, {@code mla} and
 * {@code moe} subpackages.
 *
 * <p>Start with {@link io.kernels4j.ops.Kernels4j#availability()}, which says without throwing
 * whether a GPU (or the CPU emulator) can be used and why not. Everything that needs a GPU throws
 * {@link io.kernels4j.ops.GpuUnavailableException} when there is none; a CUDA failure is a
 * {@link io.kernels4j.ops.CudaException}; invalid device data an op had to skip is reported by
 * {@link io.kernels4j.ops.Stream#checkDeviceErrors()} as a {@link io.kernels4j.ops.DeviceDataException}.
 *
 * <p>Thread-safety: devices, streams, events, tensors and graphs may be used from several threads,
 * and closing one while another thread uses it is safe (docs/ROBUSTNESS.md); a
 * {@link io.kernels4j.ops.Scope} belongs to one thread. Every close is idempotent.
 */
package io.kernels4j.ops;
