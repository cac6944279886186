package io.kernels4j.validation;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Outcome of a {@link CheckCase}: pass/fail, the metrics it measured and a one-line message.
 *
 * @param passed whether every gate passed
 * @param metrics what the case measured, by name, in insertion order (copied, unmodifiable)
 * @param message "ok", or the failed gates
 */
public record CheckResult(boolean passed, Map<String, Object> metrics, String message) {
    /** Copies the metrics. */
    public CheckResult {
        metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
    }

    /**
     * A new builder.
     *
     * @return an empty builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Collects metrics and failed gates; passes only when no gate failed. */
    public static final class Builder {
        /** An empty builder: no metrics, no failed gate. */
        public Builder() {}

        private final Map<String, Object> metrics = new LinkedHashMap<>();
        private final StringBuilder failures = new StringBuilder();

        /**
         * Records a metric (a later one of the same name replaces it).
         *
         * @param name the metric's name in reports
         * @param value its value (a number, string or boolean)
         * @return this builder
         */
        public Builder metric(String name, Object value) {
            metrics.put(name, value);
            return this;
        }

        /**
         * Records a gate: when {@code ok} is false the result fails with {@code description}.
         *
         * @param ok whether the gate passed
         * @param description the gate, as the failure message names it
         * @return this builder
         */
        public Builder gate(boolean ok, String description) {
            if (!ok) {
                if (!failures.isEmpty()) failures.append("; ");
                failures.append(description);
            }
            return this;
        }

        /**
         * The result: passed when no gate failed.
         *
         * @return the result
         */
        public CheckResult build() {

            boolean passed = failures.isEmpty();
            return new CheckResult(passed, metrics, passed ? "ok" : failures.toString());
        }
    }
}
