package io.kernels4j.bench;

import java.util.Arrays;

/** Summary of timed runs in milliseconds: median, spread (min/max, p10/p90) and the count. */
public record Timing(double medianMs, double minMs, double maxMs, double p10Ms, double p90Ms, int runs) {
    public static Timing of(double[] ms) {
        if (ms.length == 0) throw new IllegalArgumentException("ms: no runs");
        double[] s = ms.clone();
        Arrays.sort(s);
        return new Timing(quantile(s, 0.5), s[0], s[s.length - 1], quantile(s, 0.1), quantile(s, 0.9), s.length);
    }

    /** Linear-interpolated quantile of sorted values. */
    static double quantile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    /** (p90 - p10) / median: the relative spread. */
    public double spread() {
        return medianMs == 0 ? 0 : (p90Ms - p10Ms) / medianMs;
    }
}
