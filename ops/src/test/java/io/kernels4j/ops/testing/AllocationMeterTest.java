package io.kernels4j.ops.testing;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

/** The meter behind the "no allocation per op call" tests: it passes a path that allocates nothing and fails one that does. */
class AllocationMeterTest {
    private static volatile Object sink;
    private static long counter;

    @Test
    void aPathWithoutAllocationPasses() {
        AllocationMeter.assertNoAllocation("counter", () -> counter++);
    }

    @Test
    void oneSmallObjectPerCallFailsInEveryRound() {
        var e = assertThrows(AssertionFailedError.class,
                () -> AllocationMeter.assertNoAllocation("boxing", () -> sink = new long[] {counter++}));
        assertTrue(e.getMessage().contains("best of " + AllocationMeter.ROUNDS + " rounds"), e.getMessage());
    }
}
