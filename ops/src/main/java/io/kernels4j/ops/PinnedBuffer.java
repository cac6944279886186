package io.kernels4j.ops;

import static io.kernels4j.bindings.cuda.CudaRuntime.*;
import static java.lang.foreign.ValueLayout.ADDRESS;

import io.kernels4j.ops.internal.Checks;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Page-locked host memory (cudaMallocHost): the source or target of truly asynchronous copies.
 *
 * <p>The segment belongs to a shared arena that {@link #close()} closes before freeing the memory,
 * so every segment handed out (and every slice of it) becomes inaccessible: a use after close throws
 * IllegalStateException instead of touching freed memory. A close while another thread is passing
 * the segment to a copy fails with IllegalStateException and leaves the buffer open.
 */
public final class PinnedBuffer implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment segment;
    private final long bytes;
    private volatile boolean closed;

    private PinnedBuffer(Arena arena, MemorySegment segment, long bytes) {
        this.arena = arena;
        this.segment = segment;
        this.bytes = bytes;
    }

    /**
     * Allocates page-locked host memory (fast, asynchronous copies).
     *
     * @param bytes the size, > 0
     * @return the buffer
     * @throws GpuUnavailableException when there is no usable GPU
     */
    public static PinnedBuffer allocate(long bytes) {
        Checks.requirePositive(bytes, "bytes");
        Cuda.requireAvailable();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            Cuda.check(cudaMallocHost(p, bytes), "cudaMallocHost(" + bytes + ")");
            Arena arena = Arena.ofShared();
            return new PinnedBuffer(arena, p.get(ADDRESS, 0).reinterpret(bytes, arena, null), bytes);
        }
    }

    /**
     * The memory, {@code bytes} long. Throws IllegalStateException once closed (so do segments obtained before).
     *
     * @return the memory
     */
    public MemorySegment segment() {
        if (closed) throw new IllegalStateException("pinned buffer used after close");
        return segment;
    }

    /**
     * The first {@code bytes} bytes, e.g. to match a tensor's byte size for a copy.
     *
     * @param bytes how many bytes, at most {@link #byteSize()}
     * @return the first {@code bytes} bytes
     */
    public MemorySegment segment(long bytes) {
        return segment().asSlice(0, bytes);
    }

    /** {@return the size in bytes} */
    public long byteSize() {
        return bytes;
    }

    /** {@return whether {@link #close()} was called} */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Invalidates every segment of this buffer, then frees it. Idempotent. An asynchronous copy still
     * queued on a stream with this buffer is the caller's to finish first (synchronise that stream).
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            arena.close(); // throws IllegalStateException while a downcall on another thread holds the segment
            closed = true;
        }
        Cuda.check(cudaFreeHost(MemorySegment.ofAddress(segment.address())), "cudaFreeHost");
    }
}
