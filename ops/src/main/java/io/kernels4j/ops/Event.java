package io.kernels4j.ops;

import static io.kernels4j.bindings.cuda.CudaRuntime.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import io.kernels4j.ops.internal.Checks;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.ToIntFunction;

/**
 * A CUDA event, with timing enabled unless created with {@code timing = false}. Closing it while
 * another thread records or waits on it is safe: that call either throws IllegalStateException or
 * completes, and the event is destroyed afterwards.
 */
public final class Event implements AutoCloseable {
    private final MemorySegment handle;
    private final Lifetime life;

    private Event(MemorySegment handle) {
        this.handle = handle;
        this.life = new Lifetime("event", () -> Cuda.check(cudaEventDestroy(handle), "cudaEventDestroy"));
    }

    /**
     * A new event with timing enabled.
     *
     * @return the event
     * @throws GpuUnavailableException when there is no usable GPU
     */
    public static Event create() {
        return create(true);
    }

    /**
     * A new event.
     *
     * @param timing whether {@link #elapsedMillis} may be used with it (timing costs a little)
     * @return the event
     * @throws GpuUnavailableException when there is no usable GPU
     */
    public static Event create(boolean timing) {
        Cuda.requireAvailable();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            Cuda.check(cudaEventCreateWithFlags(p, timing ? cudaEventDefault() : cudaEventDisableTiming()),
                    "cudaEventCreateWithFlags");
            return new Event(p.get(ADDRESS, 0));
        }
    }

    /**
     * The cudaEvent_t. Throws IllegalStateException once closed.
     *
     * @return the cudaEvent_t
     */
    public MemorySegment handle() {
        if (life.isClosed()) throw new IllegalStateException("event used after close");
        return handle;
    }

    /** Runs a native call with the event held open for its duration. */
    int withHandle(ToIntFunction<MemorySegment> call) {
        if (!life.tryRetain()) throw new IllegalStateException("event used after close");
        try {
            return call.applyAsInt(handle);
        } finally {
            life.release();
        }
    }

    /** The handle, held open until {@link #releaseHandle()} (no allocation on the timing paths). */
    MemorySegment retainHandle() {
        if (!life.tryRetain()) throw new IllegalStateException("event used after close");
        return handle;
    }

    void releaseHandle() {
        life.release();
    }

    /**
     * Records the event at the current end of {@code stream}.
     *
     * @param stream the stream whose queued work the event marks
     * @return this event
     */
    public Event record(Stream stream) {
        Checks.requireNonNull(stream, "stream");
        MemorySegment e = retainHandle();
        try {
            MemorySegment s = stream.retainHandle();
            try {
                Cuda.check(cudaEventRecord(e, s), "cudaEventRecord");
            } finally {
                stream.releaseHandle();
            }
        } finally {
            releaseHandle();
        }
        return this;
    }

    /** Blocks until the work before the last {@link #record} is done. */
    public void synchronize() {
        MemorySegment e = retainHandle();
        try {
            Cuda.check(cudaEventSynchronize(e), "cudaEventSynchronize");
        } finally {
            releaseHandle();
        }
    }

    /**
     * True once all work before the record is done.
     *
     * @return true when the recorded work is done (never blocks)
     */
    public boolean isDone() {
        int err;
        MemorySegment e = retainHandle();
        try {
            err = cudaEventQuery(e);
        } finally {
            releaseHandle();
        }
        if (err == cudaErrorNotReady()) {
            cudaGetLastError(); // "not ready" must not linger as the thread's last error for the next launch check
            return false;
        }
        Cuda.check(err, "cudaEventQuery");
        return true;
    }

    /**
     * Milliseconds between this (start) and {@code end}; waits for {@code end}.
     *
     * @param end an event recorded after this one
     * @return milliseconds between the two records
     */
    public float elapsedMillis(Event end) {
        Checks.requireNonNull(end, "end");
        end.synchronize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ms = a.allocate(JAVA_FLOAT);
            Cuda.check(withHandle(s -> end.withHandle(e -> cudaEventElapsedTime(ms, s, e))), "cudaEventElapsedTime");
            return ms.get(JAVA_FLOAT, 0);
        }
    }

    /** {@return whether {@link #close()} was called} */
    public boolean isClosed() {
        return life.isClosed();
    }

    /** Destroys the event; idempotent. Deferred until a call running on another thread returns. */
    @Override
    public void close() {
        if (life.close()) Cuda.check(cudaEventDestroy(handle), "cudaEventDestroy");
    }
}
