package io.kernels4j.bench.report;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportWriterTest {
    static final RunInfo INFO = new RunInfo("NVIDIA H100 80GB HBM3", "13.0", "13.0", "abc123", "2026-11-24T05:06:07Z",
            "0.1.0", List.of("sm_80", "sm_90a"), "9.0", 132, 85L << 30);

    @Test
    void jsonHasTheRequiredTopLevelFieldsAndCases(@TempDir Path dir) throws Exception {
        ObjectNode root = ReportWriter.header("check", INFO);
        ObjectNode c = ((com.fasterxml.jackson.databind.node.ArrayNode) root.get("cases")).addObject();
        c.put("op", "Fp8Gemm.dense");
        c.put("case", "m=1");
        c.put("passed", true);
        ReportWriter.put(c, "metrics", Map.of("diff", Double.NaN, "relL2", 1.5e-3));
        List<Path> files = ReportWriter.write(dir, ReportWriter.baseName("check", "all", INFO), root, "# md\n");
        JsonNode back = ReportWriter.JSON.readTree(files.get(0).toFile());
        for (String f : List.of("schemaVersion", "kind", "device", "driver", "cuda", "commit", "date", "cases"))
            assertTrue(back.has(f), "missing " + f);
        assertEquals(ReportWriter.SCHEMA_VERSION, back.get("schemaVersion").asInt());
        assertEquals("check", back.get("kind").asText());
        JsonNode c0 = back.get("cases").get(0);
        assertEquals("Fp8Gemm.dense", c0.get("op").asText());
        assertEquals("NaN", c0.get("metrics").get("diff").asText(), "NaN is written as a string, keeping the JSON valid");
        assertEquals("# md\n", Files.readString(files.get(1)));
        assertEquals("check-all-nvidia-h100-80gb-hbm3-20261124-050607.json", files.get(0).getFileName().toString());
    }

    @Test
    void markdownHeaderNamesEverything() {
        String h = INFO.markdownHeader();
        for (String s : List.of("NVIDIA H100", "Driver", "13.0", "abc123", "2026-11-24", "sm_90a",
                "Report schema version: " + ReportWriter.SCHEMA_VERSION)) assertTrue(h.contains(s), s);
    }

    @Test
    void rewritingReplacesBothFilesAndLeavesNoTemporaryFile(@TempDir Path dir) throws Exception {
        ObjectNode root = ReportWriter.header("bench", INFO);
        List<Path> first = ReportWriter.write(dir, "r", root, "# one\n");
        root.put("extra", 1);
        List<Path> second = ReportWriter.write(dir, "r", root, "# two\n");
        assertEquals(first, second);
        assertEquals(1, ReportWriter.JSON.readTree(second.get(0).toFile()).get("extra").asInt());
        assertEquals("# two\n", Files.readString(second.get(1)));
        try (var files = Files.list(dir)) {
            assertEquals(List.of("r.json", "r.md"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void numberFormatting() {
        assertEquals("0", ReportWriter.fmt(0));
        assertEquals("1.235", ReportWriter.fmt(1.23456));
        assertEquals("123.5", ReportWriter.fmt(123.45));
        assertEquals("1.50e-05", ReportWriter.fmt(1.5e-5));
        assertEquals("NaN", ReportWriter.fmt(Double.NaN));
    }
}
