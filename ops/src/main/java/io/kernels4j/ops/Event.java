package io.kernels4j.ops;

import static io.kernels4j.bindings.cuda.CudaRuntime.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A CUDA event, with timing enabled unless created with {@code timing = false}. */
public final class Event implements AutoCloseable {
    private final MemorySegment handle;
    private volatile boolean closed;

    private Event(MemorySegment handle) {
        this.handle = handle;
    }

    public static Event create() {
        return create(true);
    }

    public static Event create(boolean timing) {
        Cuda.requireAvailable();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            Cuda.check(cudaEventCreateWithFlags(p, timing ? cudaEventDefault() : cudaEventDisableTiming()),
                    "cudaEventCreateWithFlags");
            return new Event(p.get(ADDRESS, 0));
        }
    }

    public MemorySegment handle() {
        if (closed) throw new IllegalStateException("event used after close");
        return handle;
    }

    /** Records the event at the current end of {@code stream}. */
    public Event record(Stream stream) {
        Cuda.check(cudaEventRecord(handle(), stream.handle()), "cudaEventRecord");
        return this;
    }

    public void synchronize() {
        Cuda.check(cudaEventSynchronize(handle()), "cudaEventSynchronize");
    }

    /** True once all work before the record is done. */
    public boolean isDone() {
        int err = cudaEventQuery(handle());
        if (err == cudaErrorNotReady()) return false;
        Cuda.check(err, "cudaEventQuery");
        return true;
    }

    /** Milliseconds between this (start) and {@code end}; waits for {@code end}. */
    public float elapsedMillis(Event end) {
        end.synchronize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ms = a.allocate(JAVA_FLOAT);
            Cuda.check(cudaEventElapsedTime(ms, handle(), end.handle()), "cudaEventElapsedTime");
            return ms.get(JAVA_FLOAT, 0);
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        Cuda.check(cudaEventDestroy(handle), "cudaEventDestroy");
    }
}
