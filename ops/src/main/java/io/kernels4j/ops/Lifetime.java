package io.kernels4j.ops;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Close-versus-use arbitration for one native resource (a CUDA stream, a device memory block, an
 * event, a graph). Users {@link #tryRetain()} it around the native calls that pass its handle;
 * {@link #close()} marks it closed at once, and the native release runs either right away (nobody
 * is using it) or when the last user {@link #release()}s it. So a handle read before a close on
 * another thread is never destroyed under a call that is still passing it to CUDA.
 *
 * <p>Ordering: a user increments the count, then reads {@code closed}; the closer writes
 * {@code closed}, then reads the count. Both are volatile, so at least one sees the other: either
 * the user backs off, or the closer leaves the release to the user.
 */
final class Lifetime {
    private static final System.Logger LOG = System.getLogger("io.kernels4j.ops");

    private final AtomicInteger users = new AtomicInteger();
    private final AtomicBoolean released = new AtomicBoolean();
    private volatile boolean closed;
    private final String what;
    private final Runnable releaseAction;

    /** {@code releaseAction} frees the native resource; it runs at most once. */
    Lifetime(String what, Runnable releaseAction) {
        this.what = what;
        this.releaseAction = releaseAction;
    }

    boolean isClosed() {
        return closed;
    }

    /** Adds a user unless closed; returns false (adding nothing) when closed. */
    boolean tryRetain() {
        users.incrementAndGet();
        if (closed) {
            release();
            return false;
        }
        return true;
    }

    /** Drops a user; the last user of a closed resource runs the deferred release (errors are logged). */
    void release() {
        if (users.decrementAndGet() == 0 && closed && released.compareAndSet(false, true)) {
            try {
                releaseAction.run();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "deferred release of " + what + " failed", e);
            }
        }
    }

    /**
     * Marks the resource closed. Returns true when the caller must run the release now (nobody is
     * using it), false when it was already closed or a user still holds it (that user releases it).
     */
    boolean close() {
        synchronized (this) {
            if (closed) return false;
            closed = true;
        }
        return users.get() == 0 && released.compareAndSet(false, true);
    }

    /** Users right now (for tests and diagnostics). */
    int users() {
        return users.get();
    }

    /** True once the native release ran (or was claimed by a thread running it). */
    boolean isReleased() {
        return released.get();
    }
}
