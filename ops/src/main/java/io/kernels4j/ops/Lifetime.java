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
 * <p>The use count and the closed flag live in one atomic int (closed = the sign bit), so "closed
 * and unused" is observed by a single atomic step: a separate flag let a user that dropped the
 * count to zero read "closed" after another user had re-entered, and release under it (found by
 * CloseWhileInUseRaceTest).
 */
final class Lifetime {
    private static final System.Logger LOG = System.getLogger("io.kernels4j.ops");
    private static final int CLOSED = Integer.MIN_VALUE;

    /** CLOSED bit | number of users. */
    private final AtomicInteger state = new AtomicInteger();
    private final AtomicBoolean released = new AtomicBoolean();
    private final String what;
    private final Runnable releaseAction;

    /** {@code releaseAction} frees the native resource; it runs at most once. */
    Lifetime(String what, Runnable releaseAction) {
        this.what = what;
        this.releaseAction = releaseAction;
    }

    boolean isClosed() {
        return (state.get() & CLOSED) != 0;
    }

    /** Adds a user unless closed; returns false (adding nothing) when closed. */
    boolean tryRetain() {
        if ((state.incrementAndGet() & CLOSED) != 0) {
            release();
            return false;
        }
        return true;
    }

    /** Drops a user; the last user of a closed resource runs the deferred release (errors are logged). */
    void release() {
        if (state.decrementAndGet() == CLOSED && released.compareAndSet(false, true)) {
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
        int before = state.getAndUpdate(s -> s | CLOSED);
        if ((before & CLOSED) != 0) return false;
        return before == 0 && released.compareAndSet(false, true);
    }

    /** Users right now (for tests and diagnostics). */
    int users() {
        return state.get() & ~CLOSED;
    }

    /** True once the native release ran (or was claimed by a thread running it). */
    boolean isReleased() {
        return released.get();
    }
}
