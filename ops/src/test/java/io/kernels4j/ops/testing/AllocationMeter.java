package io.kernels4j.ops.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;

/**
 * Measures the Java heap bytes a piece of code allocates on the calling thread
 * ({@code com.sun.management.ThreadMXBean#getThreadAllocatedBytes}), for the "no allocation per
 * op call" rule. A path without {@code new} allocates nothing even in the interpreter, but the JVM
 * itself sometimes allocates on the calling thread (a deoptimisation, a class loaded by a newly
 * compiled path: about 1 KiB once, seen in CI). So the verdict is the smallest of up to
 * {@link #ROUNDS} measured rounds: a one-off event shows in one round, while even one 16-byte object
 * per call is 3.2 MB in every round and fails. The small slack covers the meter's own bookkeeping.
 */
public final class AllocationMeter {
    /** Warm-up calls (lets C2 compile the path) and measured calls of {@link #assertNoAllocation}. */
    public static final int WARMUP = 50_000, CALLS = 200_000;
    /** Largest total allocation over all measured calls that still counts as none. */
    public static final long SLACK_BYTES = 1024;
    /** Measured rounds at most; the first under {@link #SLACK_BYTES} ends the measurement. */
    public static final int ROUNDS = 3;

    private AllocationMeter() {}

    /** Heap bytes allocated by this thread while running {@code call} {@code calls} times. */
    public static long bytesAllocated(int calls, Runnable call) {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(mx.isThreadAllocatedMemorySupported() && mx.isThreadAllocatedMemoryEnabled(),
                "this JVM does not measure per-thread allocation");
        long id = Thread.currentThread().threadId();
        long before = mx.getThreadAllocatedBytes(id);
        for (int i = 0; i < calls; i++) call.run();
        return mx.getThreadAllocatedBytes(id) - before;
    }

    /**
     * Runs {@code call} {@link #WARMUP} times, then asserts that {@link #CALLS} more allocate (next to)
     * nothing in at least one of {@link #ROUNDS} rounds.
     */
    public static void assertNoAllocation(String what, Runnable call) {
        bytesAllocated(WARMUP, call);
        long bytes = Long.MAX_VALUE;
        for (int round = 0; round < ROUNDS && bytes >= SLACK_BYTES; round++)
            bytes = Math.min(bytes, bytesAllocated(CALLS, call));
        assertTrue(bytes < SLACK_BYTES, what + ": " + bytes + " bytes allocated over " + CALLS + " calls in the best of "
                + ROUNDS + " rounds (" + (double) bytes / CALLS + " bytes per call); an op call must not allocate on the Java heap");
    }
}
