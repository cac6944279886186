package io.kernels4j.bench.report;

import com.fasterxml.jackson.core.JsonProcessingException;
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

    /** A file that cannot be read as a bench report; the message is one line for the user. */
    public static final class BadReportException extends IOException {
        private static final long serialVersionUID = 1L;

        BadReportException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Reads a bench JSON report.
     *
     * @throws BadReportException when the file cannot be read, is not JSON, is not a {@code kernels4j bench}
     *                            report, or has a newer {@link ReportWriter#SCHEMA_VERSION} than this reader
     */
    public static Report read(Path json) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json.toFile());
        } catch (JsonProcessingException e) {
            String why = e.getOriginalMessage().lines().findFirst().orElse("");
            int source = why.indexOf(" (start marker at [Source"); // a second location, unreadable in one line
            if (source >= 0) why = why.substring(0, source);
            var at = e.getLocation();
            throw new BadReportException("not valid JSON" + (at == null ? "" : " at line " + at.getLineNr() + ", column "
                    + at.getColumnNr()) + ": " + why, e);
        } catch (IOException e) {
            throw new BadReportException("cannot read it (" + e.getMessage() + ")", e);
        }
        String kind = root != null && root.isObject() ? root.path("kind").asText("") : "";
        if (!kind.equals("bench") || !root.path("cases").isArray())
            throw new BadReportException(kind.isEmpty() || kind.equals("bench") ? "not a kernels4j bench report"
                    : "a '" + kind + "' report, not a bench report", null);
        int schema = root.path("schemaVersion").asInt(1); // reports from before the field existed are version 1
        if (schema > ReportWriter.SCHEMA_VERSION)
            throw new BadReportException("report schema version " + schema + " is newer than this kernels4j reads ("
                    + ReportWriter.SCHEMA_VERSION + ")", null);
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
