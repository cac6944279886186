package io.kernels4j.bench;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One benchmark's outcome. {@code flops} and {@code bytes} use docs/CONTRACT.md's formulas (0 where a figure
 * does not apply); {@code extra} holds anything else worth reporting (peer times, ratios...).
 */
public record BenchResult(String op, String name, Timing timing, double flops, double bytes, Map<String, Object> extra) {
    public BenchResult {
        extra = Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    }

    public BenchResult(String op, String name, Timing timing, double flops, double bytes) {
        this(op, name, timing, flops, bytes, Map.of());
    }

    /** TFLOP/s at the median time. */
    public double tflops() {
        return flops / (timing.medianMs() * 1e-3) / 1e12;
    }

    /** GB/s (1e9 bytes) at the median time. */
    public double gbps() {
        return bytes / (timing.medianMs() * 1e-3) / 1e9;
    }
}
