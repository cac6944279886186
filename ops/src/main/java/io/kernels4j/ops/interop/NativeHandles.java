package io.kernels4j.ops.interop;

import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.Checks;
import io.kernels4j.ops.internal.OpSupport;

/**
 * The raw CUDA values behind kernels4j objects, for handing them to other native code (your own
 * Panama downcalls, cuBLAS, NCCL, ...). The reverse direction is {@link DeviceTensor#wrap} and
 * {@link Stream#wrap}; for JCuda see {@link JCudaInterop}.
 *
 * <p>A value read here is valid only while the object is open: nothing here keeps it open, and
 * work queued by other code on the stream is outside kernels4j's close-while-in-use protection.
 */
public final class NativeHandles {
    private NativeHandles() {}

    /**
     * The device address of a tensor's first element.
     *
     * @param tensor an open tensor
     * @return its device address (0 for an empty tensor)
     * @throws IllegalArgumentException if {@code tensor} is null
     * @throws IllegalStateException if it is closed
     */
    public static long devicePointer(DeviceTensor tensor) {
        Checks.requireNonNull(tensor, "tensor");
        return OpSupport.address(tensor);
    }

    /**
     * The {@code cudaStream_t} of a stream.
     *
     * @param stream an open stream
     * @return its native handle
     * @throws IllegalArgumentException if {@code stream} is null
     * @throws IllegalStateException if it is closed
     */
    public static long streamHandle(Stream stream) {
        Checks.requireNonNull(stream, "stream");
        return OpSupport.handle(stream).address();
    }
}
