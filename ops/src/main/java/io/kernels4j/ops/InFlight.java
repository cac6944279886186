package io.kernels4j.ops;

/**
 * What the calling thread's current op holds: the stream it activated ({@link Stream#activate()})
 * and the memory blocks whose addresses it read since ({@link DeviceTensor#address()}). All of it
 * is released when the op ends: {@link Stream#afterOp}, a failed {@link Status#check}, or the next
 * activate() of another stream on this thread. Until then, a close() of those resources on another
 * thread returns at once but defers the native release, so the op's launch never sees a destroyed
 * stream or freed memory. A thread makes one downcall at a time, so one record per thread suffices.
 */
final class InFlight {
    private static final ThreadLocal<InFlight> CURRENT = ThreadLocal.withInitial(InFlight::new);

    private Stream stream;
    private Lifetime[] held = new Lifetime[16];
    private int count;

    private InFlight() {}

    /** Starts an op on {@code s}: ends whatever this thread left open on another stream, holds {@code s}. */
    static void begin(Stream s, Lifetime life) {
        InFlight f = CURRENT.get();
        if (f.stream == s) return; // nested activate() of the same stream (composite op): keep what is held
        f.endAll();
        if (!life.tryRetain()) throw new IllegalStateException("stream used after close: " + s);
        f.stream = s;
        f.hold(life);
    }

    /** Keeps {@code life} alive until this thread's op ends; a no-op outside an op. False when it is closed. */
    static boolean pin(Lifetime life) {
        InFlight f = CURRENT.get();
        if (f.stream == null) return !life.isClosed();
        if (!life.tryRetain()) return false;
        f.hold(life);
        return true;
    }

    /** Ends this thread's op, if any: releases everything it held. */
    static void end() {
        CURRENT.get().endAll();
    }

    /** True while this thread is between activate() and the end of its op (tests). */
    static boolean active() {
        return CURRENT.get().stream != null;
    }

    private void hold(Lifetime life) {
        if (count == held.length) held = java.util.Arrays.copyOf(held, count * 2);
        held[count++] = life;
    }

    private void endAll() {
        stream = null;
        int n = count;
        count = 0;
        for (int i = n - 1; i >= 0; i--) {
            Lifetime l = held[i];
            held[i] = null;
            l.release();
        }
    }
}
