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

    /** The cudaEvent_t. Throws IllegalStateException once closed. */
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

    /** Records the event at the current end of {@code stream}. */
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

    public void synchronize() {
        MemorySegment e = retainHandle();
        try {
            Cuda.check(cudaEventSynchronize(e), "cudaEventSynchronize");
        } finally {
            releaseHandle();
        }
    }

    /** True once all work before the record is done. */
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

    /** Milliseconds between this (start) and {@code end}; waits for {@code end}. */
    public float elapsedMillis(Event end) {
        Checks.requireNonNull(end, "end");
        end.synchronize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ms = a.allocate(JAVA_FLOAT);
            Cuda.check(withHandle(s -> end.withHandle(e -> cudaEventElapsedTime(ms, s, e))), "cudaEventElapsedTime");
            return ms.get(JAVA_FLOAT, 0);
        }
    }

    public boolean isClosed() {
        return life.isClosed();
    }

    /** Destroys the event; idempotent. Deferred until a call running on another thread returns. */
    @Override
    public void close() {
        if (life.close()) Cuda.check(cudaEventDestroy(handle), "cudaEventDestroy");
    }
}
