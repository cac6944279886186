package io.kernels4j.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;
import org.junit.jupiter.api.Test;

class TimingTest {
    @Test
    void medianAndSpreadOfOddAndEvenCounts() {
        Timing t = Timing.of(new double[] {5, 1, 3, 2, 4});
        assertEquals(3, t.medianMs(), 1e-12);
        assertEquals(1, t.minMs());
        assertEquals(5, t.maxMs());
        assertEquals(1.4, t.p10Ms(), 1e-12);
        assertEquals(4.6, t.p90Ms(), 1e-12);
        assertEquals(5, t.runs());
        assertEquals(2.5, Timing.of(new double[] {4, 1, 3, 2}).medianMs(), 1e-12);
    }

    @Test
    void emptyRunsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Timing.of(new double[0]));
    }

    @Test
    void throughputUsesTheMedian() {
        BenchResult r = new BenchResult("op", "case", Timing.of(new double[] {2, 2, 2}), 4e12, 6e9, Map.of());
        assertEquals(2000.0, r.tflops(), 1e-9); // 4e12 FLOP in 2 ms
        assertEquals(3000.0, r.gbps(), 1e-9); // 6e9 bytes in 2 ms
    }
}
