package io.kernels4j.ops;

import static io.kernels4j.bindings.cuda.CudaRuntime.*;
import static java.lang.foreign.ValueLayout.ADDRESS;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Page-locked host memory (cudaMallocHost): the source or target of truly asynchronous copies. */
public final class PinnedBuffer implements AutoCloseable {
    private final MemorySegment segment;
    private volatile boolean closed;

    private PinnedBuffer(MemorySegment segment) {
        this.segment = segment;
    }

    public static PinnedBuffer allocate(long bytes) {
        Checks.requirePositive(bytes, "bytes");
        Cuda.requireAvailable();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            Cuda.check(cudaMallocHost(p, bytes), "cudaMallocHost(" + bytes + ")");
            return new PinnedBuffer(p.get(ADDRESS, 0).reinterpret(bytes));
        }
    }

    /** The memory, {@code bytes} long. Throws IllegalStateException once closed. */
    public MemorySegment segment() {
        if (closed) throw new IllegalStateException("pinned buffer used after close");
        return segment;
    }

    /** The first {@code bytes} bytes, e.g. to match a tensor's byte size for a copy. */
    public MemorySegment segment(long bytes) {
        return segment().asSlice(0, bytes);
    }

    public long byteSize() {
        return segment.byteSize();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        Cuda.check(cudaFreeHost(segment), "cudaFreeHost");
    }
}
