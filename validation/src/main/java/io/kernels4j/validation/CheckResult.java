package io.kernels4j.validation;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Outcome of a {@link CheckCase}: pass/fail, the metrics it measured and a one-line message. */
public record CheckResult(boolean passed, Map<String, Object> metrics, String message) {
    public CheckResult {
        metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Collects metrics and failed gates; passes only when no gate failed. */
    public static final class Builder {
        /** An empty builder: no metrics, no failed gate. */
        public Builder() {}

        private final Map<String, Object> metrics = new LinkedHashMap<>();
        private final StringBuilder failures = new StringBuilder();

        public Builder metric(String name, Object value) {
            metrics.put(name, value);
            return this;
        }

        /** Records a gate: when {@code ok} is false the result fails with {@code description}. */
        public Builder gate(boolean ok, String description) {
            if (!ok) {
                if (!failures.isEmpty()) failures.append("; ");
                failures.append(description);
            }
            return this;
        }

        public CheckResult build() {
            boolean passed = failures.isEmpty();
            return new CheckResult(passed, metrics, passed ? "ok" : failures.toString());
        }
    }
}
