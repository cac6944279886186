package io.kernels4j.ops.interop;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.Checks;
import io.kernels4j.ops.internal.OpSupport;
import java.lang.reflect.Constructor;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.runtime.cudaStream_t;

/**
 * Zero-copy bridges between JCuda ({@code org.jcuda:jcuda}) and kernels4j, for code that already
 * allocates with JCuda. JCuda is an optional dependency of kernels4j-ops: only callers of this
 * class need it on their class path; nothing else in kernels4j touches it.
 *
 * <p>Both libraries address the same driver context (the device's primary context, which the CUDA
 * runtime uses), so a device pointer or stream made by one is valid in the other. Nothing is copied
 * and nothing changes owner: memory and streams stay owned (and freed) by whoever created them, and
 * must outlive every view made here.
 *
 * <p>How addresses are read: a JCuda {@link Pointer} holds a native pointer plus a byte offset in
 * protected fields; the protected copy constructor, called from a private subclass here, reads
 * both without reflection. The reverse direction is JCuda's public
 * {@code new CUdeviceptr().withByteOffset(address)} (a null base plus the address as offset, which
 * JCuda's natives add up).
 */
@SuppressWarnings("exports") // JCuda's types appear here by design; callers of this class require jcuda themselves
public final class JCudaInterop {
    private JCudaInterop() {}

    /** Reads a Pointer's native address (base + byte offset) through the protected copy constructor. */
    private static final class PointerAddress extends Pointer {
        PointerAddress(Pointer p) {
            super(p);
        }

        long address() {
            return getNativePointer() + getByteOffset();
        }
    }

    /** Reads a handle object's native value (streams, events) through the protected copy constructor. */
    private static final class HandleValue extends NativePointerObject {
        HandleValue(NativePointerObject o) {
            super(o);
        }

        long value() {
            return getNativePointer();
        }
    }

    /**
     * The device address {@code p} points at: its native pointer plus its byte offset. Throws
     * {@link IllegalArgumentException} for a null pointer and for pointers to Java arrays or buffers
     * ({@code Pointer.to(float[])} and friends), which are host memory.
     *
     * @param p a JCuda device pointer
     * @return its device address
     */
    public static long address(Pointer p) {
        Checks.requireNonNull(p, "pointer");
        if (!(p instanceof CUdeviceptr)) {
            String s = p.toString(); // Pointer.toString names a backing buffer or pointer array
            if (s.startsWith("Pointer[buffer=") || s.startsWith("Pointer[pointers="))
                throw new IllegalArgumentException("pointer: " + s + " points to Java host memory, not device memory");
        }
        long addr = new PointerAddress(p).address();
        if (addr == 0) throw new IllegalArgumentException("pointer: null device pointer (" + p + ")");
        return addr;
    }

    /**
     * A tensor view of JCuda device memory ({@code cuMemAlloc}'s {@link CUdeviceptr} or
     * {@code cudaMalloc}'s {@link Pointer}), without copying or taking ownership: closing the tensor
     * is a no-op; free the memory with JCuda once no kernel uses it. {@code shape} is dense row-major;
     * nothing can check that the allocation is large enough, so that is the caller's promise.
     *
     * @param devicePointer JCuda device memory
     * @param dtype the element type
     * @param device the device the memory is on
     * @param shape the dimensions
     * @return a non-owning tensor over the memory
     */
    public static DeviceTensor wrap(Pointer devicePointer, DType dtype, Device device, long... shape) {
        return DeviceTensor.wrap(address(devicePointer), dtype, device, shape);
    }

    /**
     * A JCuda {@link CUdeviceptr} to a tensor's memory (usable wherever JCuda takes a {@link Pointer},
     * e.g. {@code JCuda.cudaMemcpy}); no copy. Valid while the tensor (or its owner) is open.
     *
     * @param tensor an open tensor
     * @return a JCuda pointer to its memory
     */
    public static CUdeviceptr toCUdeviceptr(DeviceTensor tensor) {
        Checks.requireNonNull(tensor, "tensor");
        return new CUdeviceptr().withByteOffset(OpSupport.address(tensor));
    }

    /**
     * The native value of a JCuda stream ({@code cudaStream_t} or {@code CUstream}); 0 is the legacy default stream.
     *
     * @param jcudaStream a JCuda {@code cudaStream_t} or {@code CUstream}
     * @return its native value
     */
    public static long streamHandle(NativePointerObject jcudaStream) {
        Checks.requireNonNull(jcudaStream, "stream");
        if (!(jcudaStream instanceof cudaStream_t) && !(jcudaStream instanceof CUstream))
            throw new IllegalArgumentException("stream: expected a jcuda cudaStream_t or CUstream, got " + jcudaStream.getClass().getName());
        return new HandleValue(jcudaStream).value();
    }

    /**
     * A kernels4j {@link Stream} over a JCuda stream ({@code cudaStream_t} or {@code CUstream}),
     * without taking ownership ({@link Stream#wrap}); destroy the JCuda stream yourself after closing
     * the kernels4j one.
     *
     * @param jcudaStream a JCuda {@code cudaStream_t} or {@code CUstream}
     * @param device the stream's device
     * @return a kernels4j stream that does not own it
     */
    public static Stream wrap(NativePointerObject jcudaStream, Device device) {
        return Stream.wrap(streamHandle(jcudaStream), device);
    }

    /**
     * A JCuda {@code cudaStream_t} for a kernels4j stream (no ownership moves). JCuda exposes no
     * public way to build one from an address, so this calls its package-private
     * {@code cudaStream_t(long)} constructor reflectively; that needs JCuda on the class path (or its
     * package opened to kernels4j under JPMS).
     *
     * @param stream an open kernels4j stream
     * @return a JCuda stream object with the same handle
     */
    public static cudaStream_t toCudaStream(Stream stream) {
        Checks.requireNonNull(stream, "stream");
        long h = OpSupport.handle(stream).address();
        try {
            Constructor<cudaStream_t> c = cudaStream_t.class.getDeclaredConstructor(long.class);
            c.setAccessible(true);
            return c.newInstance(h);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new UnsupportedOperationException("stream: cannot build a jcuda cudaStream_t from 0x"
                    + Long.toHexString(h) + " (" + e + ")", e);
        }
    }
}
