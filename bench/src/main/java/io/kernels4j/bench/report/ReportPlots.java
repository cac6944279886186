package io.kernels4j.bench.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kernels4j.bench.BenchResult;
import io.kernels4j.bench.Ceilings;
import io.kernels4j.bench.Timing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Draws the pictures of a finished {@code kernels4j bench} JSON report (for reports written where
 * no picture could be drawn, e.g. by the GPU bundle): {@code <report>-<family>.png} next to it, and
 * the image links added to the Markdown report of the same name when it exists.
 */
public final class ReportPlots {
    private ReportPlots() {}

    /** Results and ceilings read back from a bench JSON report. */
    public record Report(List<BenchResult> results, List<String> families, Ceilings ceilings, String subtitle) {}

    public static Report read(Path json) throws IOException {
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        List<BenchResult> results = new ArrayList<>();
        List<String> families = new ArrayList<>();
        for (JsonNode c : root.path("cases")) {
            if (c.has("error") || !c.has("medianMs")) continue; // failed cases have no timing
            Timing t = new Timing(c.path("medianMs").asDouble(), c.path("minMs").asDouble(), c.path("maxMs").asDouble(),
                    c.path("p10Ms").asDouble(), c.path("p90Ms").asDouble(), c.path("runs").asInt());
            Map<String, Object> extra = new LinkedHashMap<>();
            c.path("extra").fields().forEachRemaining(e -> extra.put(e.getKey(),
                    e.getValue().isNumber() ? (Object) e.getValue().asDouble() : e.getValue().asText()));
            results.add(new BenchResult(c.path("op").asText(), c.path("case").asText(), t, c.path("flops").asDouble(),
                    c.path("bytes").asDouble(), extra));
            families.add(c.path("family").asText("bench"));
        }
        JsonNode ceil = root.path("ceilings");
        String device = ceil.path("device").asText(root.path("device").asText("unknown device"));
        Ceilings ceilings = Ceilings.of(device, ceil.path("copyGBps").asDouble(0) * 1e9);
        String subtitle = device + (root.has("date") ? ", " + root.path("date").asText() : "");
        return new Report(results, families, ceilings, subtitle);
    }

    /** Draws every family's picture next to {@code json}; returns family to PNG. */
    public static Map<String, Path> draw(Path json) throws IOException {
        Report r = read(json);
        String name = json.getFileName().toString();
        String base = name.endsWith(".json") ? name.substring(0, name.length() - 5) : name;
        Path dir = json.toAbsolutePath().getParent();
        Map<String, Path> pngs = PlotSupport.writeAll(dir, base, r.results(), r.families(), r.ceilings(), r.subtitle());
        Path md = dir.resolve(base + ".md");
        if (Files.isRegularFile(md) && !pngs.isEmpty()) {
            String text = Files.readString(md);
            for (var e : pngs.entrySet()) {
                String link = PlotSupport.markdownImage(e.getKey(), e.getValue());
                if (text.contains(link)) continue;
                String head = "## " + e.getKey() + "\n\n";
                text = text.contains(head) ? text.replace(head, head + link + "\n\n") : text + "\n" + link + "\n";
            }
            Files.writeString(md, text);
        }
        return pngs;
    }
}
