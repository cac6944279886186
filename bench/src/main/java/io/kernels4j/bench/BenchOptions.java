package io.kernels4j.bench;

/**
 * Options shared by every benchmark.
 *
 * @param runs     timed runs per case (at least 30 per docs/CONTRACT.md section 5)
 * @param warmup   untimed runs before timing
 * @param quick    fewer shapes (smoke runs)
 * @param flushL2  write a buffer of twice the L2 size between runs
 */
public record BenchOptions(int runs, int warmup, boolean quick, boolean flushL2) {
    public static BenchOptions defaults() {
        return new BenchOptions(30, 5, false, true);
    }
}
