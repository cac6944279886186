package io.kernels4j.bench.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

/**
 * Writes a report as JSON plus Markdown: {@code <kind>-<scope>-<gpu>-<date>.json|.md}. Every JSON
 * report has top-level {@code schemaVersion}, {@code kind}, {@code device}, {@code driver}, {@code cuda},
 * {@code commit}, {@code date} and {@code cases} (objects with at least {@code op} and {@code case}).
 */
public final class ReportWriter {
    /**
     * Version of the report layout, in every JSON report ({@code schemaVersion}) and Markdown header.
     * Raised when a field is removed or renamed or changes meaning; adding a field does not raise it.
     */
    public static final int SCHEMA_VERSION = 1;

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ReportWriter() {}

    /** An empty JSON object. */
    public static ObjectNode object() {
        return JSON.createObjectNode();
    }

    /** {@code node} as indented JSON text. */
    public static String text(JsonNode node) throws IOException {
        return JSON.writeValueAsString(node);
    }

    public static ObjectNode header(String kind, RunInfo info) {
        ObjectNode root = JSON.createObjectNode();
        root.put("schemaVersion", SCHEMA_VERSION);
        root.put("kind", kind);
        root.put("device", info.device());
        root.put("driver", info.driver());
        root.put("cuda", info.cuda());
        root.put("commit", info.commit());
        root.put("date", info.date());
        root.put("library", info.library());
        ArrayNode archs = root.putArray("archs");
        info.archs().forEach(archs::add);
        root.put("computeCapability", info.computeCapability());
        root.put("smCount", info.smCount());
        root.put("memoryBytes", info.memoryBytes());
        root.putArray("cases");
        return root;
    }

    /** Adds a value of any simple type (numbers, strings, booleans, maps, lists) under {@code key}. */
    public static void put(ObjectNode node, String key, Object value) {
        node.set(key, JSON.valueToTree(sanitize(value)));
    }

    /** JSON has no NaN/Infinity: write them as strings so a report never fails to parse. */
    static Object sanitize(Object v) {
        if (v instanceof Double d && (d.isNaN() || d.isInfinite())) return d.toString();
        if (v instanceof Float f && (f.isNaN() || f.isInfinite())) return f.toString();
        if (v instanceof Map<?, ?> m) {
            var out = new java.util.LinkedHashMap<Object, Object>();
            m.forEach((k, x) -> out.put(k, sanitize(x)));
            return out;
        }
        if (v instanceof List<?> l) return l.stream().map(ReportWriter::sanitize).toList();
        return v;
    }

    /**
     * Writes {@code base}.json and {@code base}.md into {@code dir}; returns the two paths. Each file is
     * written to a temporary file and moved into place, so a reader, or a run killed while writing, sees
     * the previous complete file or the new one, never part of one.
     */
    public static List<Path> write(Path dir, String base, ObjectNode json, String markdown) throws IOException {
        Files.createDirectories(dir);
        Path j = dir.resolve(base + ".json");
        Path m = dir.resolve(base + ".md");
        replace(j, JSON.writeValueAsBytes(json));
        replace(m, markdown.getBytes(StandardCharsets.UTF_8));
        return List.of(j, m);
    }

    private static void replace(Path target, byte[] content) throws IOException {
        Path tmp = Files.createTempFile(target.toAbsolutePath().getParent(), "." + target.getFileName(), ".tmp");
        try {
            Files.write(tmp, content);
            try {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** {@code <kind>-<scope>-<gpu>-<yyyymmdd-hhmmss>} */
    public static String baseName(String kind, String scope, RunInfo info) {
        String stamp = info.date().replace("-", "").replace(":", "").replace("T", "-").replace("Z", "");
        return kind + "-" + scope + "-" + info.deviceSlug() + "-" + stamp;
    }

    /** Formats a number for Markdown tables: 3 significant digits, scientific when tiny. */
    public static String fmt(double v) {
        if (Double.isNaN(v)) return "NaN";
        if (v == 0) return "0";
        double a = Math.abs(v);
        if (a < 1e-3 || a >= 1e6) return String.format(java.util.Locale.ROOT, "%.2e", v);
        if (a >= 100) return String.format(java.util.Locale.ROOT, "%.1f", v);
        if (a >= 10) return String.format(java.util.Locale.ROOT, "%.2f", v);
        return String.format(java.util.Locale.ROOT, "%.3f", v);
    }
}
