package io.kernels4j.bench.report;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run cut short after some cases leaves a valid report of exactly those cases, marked incomplete. */
class ProgressiveReportTest {
    @Test
    void everyFinishedCaseIsOnDiskBeforeTheNextStarts(@TempDir Path dir) throws Exception {
        ProgressiveReport report = new ProgressiveReport(dir, "check-all-x", ReportWriter.header("check", ReportWriterTest.INFO), 3);
        StringBuilder md = new StringBuilder("# kernels4j check\n\n| op | case |\n|---|---|\n");
        List<Path> files = report.update(md.toString());
        assertEquals(0, read(files).get("cases").size());

        for (int i = 0; i < 2; i++) { // the run is "killed" after two of three cases: finish() is never called
            report.cases().addObject().put("op", "Fp8Gemm.dense").put("case", "m=" + i);
            md.append("| Fp8Gemm.dense | m=").append(i).append(" |\n");
            files = report.update(md.toString());

            JsonNode back = read(files);
            assertEquals(i + 1, back.get("cases").size(), "every finished case is in the JSON");
            assertEquals("m=" + i, back.get("cases").get(i).get("case").asText());
            assertEquals(i + 1, back.get("casesDone").asInt());
            assertEquals(3, back.get("casesPlanned").asInt());
            assertFalse(back.get("complete").asBoolean());
            String text = Files.readString(files.get(1));
            assertTrue(text.contains("| Fp8Gemm.dense | m=" + i + " |"), text);
            assertTrue(text.contains("_Incomplete: " + (i + 1) + " of 3 cases finished"), text);
        }
    }

    @Test
    void finishMarksTheReportComplete(@TempDir Path dir) throws Exception {
        ProgressiveReport report = new ProgressiveReport(dir, "bench-all-x", ReportWriter.header("bench", ReportWriterTest.INFO), 1);
        report.cases().addObject().put("op", "MoeCombine.contiguous").put("case", "T=128");
        report.update("# partial\n");
        List<Path> files = report.finish("# kernels4j bench\n");
        JsonNode back = read(files);
        assertTrue(back.get("complete").asBoolean());
        assertEquals(1, back.get("casesDone").asInt());
        assertEquals("# kernels4j bench\n", Files.readString(files.get(1)), "no progress note once complete");
    }

    static JsonNode read(List<Path> files) throws Exception {
        return ReportWriter.JSON.readTree(files.get(0).toFile());
    }
}
