package io.kernels4j.ops;

import static io.kernels4j.bindings.cuda.CudaRuntime.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A CUDA stream (non-blocking with respect to the legacy default stream) plus its device error word:
 * one device {@code uint32} into which kernels OR {@code K4J_DEVERR_*} bits when they meet device
 * data they must skip (see {@link DeviceDataException}). Ops only write it; reading it is a host sync
 * you ask for with {@link #deviceErrors()} or {@link #checkDeviceErrors()}. With the system property
 * {@code kernels4j.debug=true}, every op checks it (and synchronises) after its launch.
 */
public final class Stream implements AutoCloseable {
    /** Debug mode: every op synchronises and checks the device error word after launching. */
    public static final boolean DEBUG = Boolean.getBoolean("kernels4j.debug");

    private final Device device;
    private final MemorySegment handle;
    private final long errorFlag;
    private final boolean owned;
    private volatile boolean closed;

    private Stream(Device device, MemorySegment handle, boolean owned) {
        this.device = device;
        this.handle = handle;
        this.owned = owned;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            Cuda.check(cudaMalloc(p, 4), "cudaMalloc(error word)");
            this.errorFlag = p.get(ADDRESS, 0).address();
        }
        Cuda.check(cudaMemset(MemorySegment.ofAddress(errorFlag), 0, 4), "cudaMemset(error word)");
    }

    /** A new stream on the calling thread's current device. */
    public static Stream create() {
        return create(Device.current());
    }

    /** A new stream on {@code device}. */
    public static Stream create(Device device) {
        device.makeCurrent();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            Cuda.check(cudaStreamCreateWithFlags(p, cudaStreamNonBlocking()), "cudaStreamCreateWithFlags");
            return new Stream(device, p.get(ADDRESS, 0), true);
        }
    }

    /**
     * Wraps a cudaStream_t made elsewhere (JCuda, another library) without taking ownership: close()
     * frees only the error word. {@code device} must be the stream's device.
     */
    public static Stream wrap(long cudaStream, Device device) {
        device.makeCurrent();
        return new Stream(device, MemorySegment.ofAddress(cudaStream), false);
    }

    /** The cudaStream_t, for downcalls. Throws IllegalStateException once closed. */
    public MemorySegment handle() {
        if (closed) throw new IllegalStateException("stream used after close");
        return handle;
    }

    /** Device address of the error word (a uint32), for downcalls. */
    public long errorFlagAddress() {
        if (closed) throw new IllegalStateException("stream used after close");
        return errorFlag;
    }

    public Device device() {
        return device;
    }

    /** Makes the stream's device current on this thread; ops call this before launching. */
    public void activate() {
        if (closed) throw new IllegalStateException("stream used after close");
        device.activate();
    }

    /** Blocks until all work queued on the stream is done. */
    public void synchronize() {
        Cuda.check(cudaStreamSynchronize(handle()), "cudaStreamSynchronize");
    }

    /** Makes later work on this stream wait for {@code event}. */
    public void waitEvent(Event event) {
        Cuda.check(cudaStreamWaitEvent(handle(), event.handle(), 0), "cudaStreamWaitEvent");
    }

    /** Synchronises the stream and returns the device error bits raised so far (0 when clean). */
    public int deviceErrors() {
        synchronize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            Cuda.check(cudaMemcpy(v, MemorySegment.ofAddress(errorFlag), 4, cudaMemcpyDeviceToHost()),
                    "cudaMemcpy(error word)");
            return v.get(JAVA_INT, 0);
        }
    }

    /** Clears the error word (stream-ordered). */
    public void clearDeviceErrors() {
        Cuda.check(cudaMemsetAsync(MemorySegment.ofAddress(errorFlagAddress()), 0, 4, handle),
                "cudaMemsetAsync(error word)");
    }

    /** Synchronises; throws {@link DeviceDataException} (and clears the word) if any bit is set. */
    public void checkDeviceErrors() {
        int bits = deviceErrors();
        if (bits != 0) {
            clearDeviceErrors();
            throw new DeviceDataException(bits);
        }
    }

    /** Called by ops after a launch: a no-op unless {@link #DEBUG}. */
    public void afterOp(String op) {
        if (!DEBUG) return;
        int bits = deviceErrors();
        if (bits != 0) {
            clearDeviceErrors();
            throw new DeviceDataException(bits);
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /** Waits for queued work, then destroys the stream and frees the error word. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        device.makeCurrent();
        int e1 = cudaStreamSynchronize(handle);
        int e2 = owned ? cudaStreamDestroy(handle) : 0;
        int e3 = cudaFree(MemorySegment.ofAddress(errorFlag));
        Cuda.check(e1 != 0 ? e1 : e2 != 0 ? e2 : e3, "Stream.close");
    }

    @Override
    public String toString() {
        return "Stream[" + device.ordinal() + ", 0x" + Long.toHexString(handle.address()) + (closed ? ", closed]" : "]");
    }
}
