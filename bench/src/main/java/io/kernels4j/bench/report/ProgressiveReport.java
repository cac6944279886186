package io.kernels4j.bench.report;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A report written as the run goes: {@link #update} after every finished case rewrites the JSON and
 * Markdown files (each replaced atomically, see {@link ReportWriter#write}), so a run cut short (a time
 * limit, a crash) leaves a valid report of every case it finished. The JSON says how far it got:
 * {@code casesPlanned}, {@code casesDone} and {@code complete} (true only after {@link #finish}).
 */
public final class ProgressiveReport {
    private final Path dir;
    private final String base;
    private final ObjectNode json;

    /** {@code json} is the report's root ({@link ReportWriter#header}); its {@code cases} array is appended to. */
    public ProgressiveReport(Path dir, String base, ObjectNode json, int casesPlanned) {
        this.dir = dir;
        this.base = base;
        this.json = json;
        json.put("casesPlanned", casesPlanned);
        json.put("casesDone", 0);
        json.put("complete", false);
    }

    /** The report's root object, for run-level fields (counts, ceilings). */
    public ObjectNode json() {
        return json;
    }

    /** The {@code cases} array, one object per finished case. */
    public ArrayNode cases() {
        return (ArrayNode) json.get("cases");
    }

    /** Rewrites both files with the cases so far; {@code markdown} is the whole document as it stands. */
    public List<Path> update(String markdown) throws IOException {
        json.put("casesDone", cases().size());
        return ReportWriter.write(dir, base, json, markdown + progressNote());
    }

    /** Writes the final report ({@code complete: true}); returns the JSON and Markdown paths. */
    public List<Path> finish(String markdown) throws IOException {
        json.put("casesDone", cases().size());
        json.put("complete", true);
        return ReportWriter.write(dir, base, json, markdown);
    }

    private String progressNote() {
        return "\n_Incomplete: " + cases().size() + " of " + json.path("casesPlanned").asInt()
                + " cases finished (the run is still going, or was cut short)._\n";
    }
}
