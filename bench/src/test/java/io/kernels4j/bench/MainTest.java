package io.kernels4j.bench;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kernels4j.bench.report.ReportWriter;
import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.Cuda;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI's contract without a GPU: info (text and --json) exits 0, check/bench exit 2 with a reason, bad
 * usage exits 2, a bad report given to plot is one line and exit 2.
 */
class MainTest {
    record Run(int code, String out, String err) {}

    static synchronized Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void infoPrintsLibraryAndDevicesAndExitsZero() {
        Run r = run("info");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("kernels4j "), r.out());
        assertTrue(r.out().contains("sm_90a"), r.out());
        assertTrue(r.out().contains("CUDA runtime: "), r.out());
        if (!Cuda.isAvailable()) {
            long deviceLines = r.out().lines().filter(l -> l.startsWith("devices: none (")).count();
            assertEquals(1, deviceLines, "one line says there is no GPU: " + r.out());
        } else {
            assertTrue(r.out().contains("device 0: "), r.out());
        }
    }

    @Test
    void checkAndBenchWithoutGpuExitTwoWithReason() {
        assumeFalse(Cuda.isAvailable(), "a GPU is present: check and bench run for real there (the GPU checks)");
        Run c = run("check", "--out", System.getProperty("java.io.tmpdir"));
        assertEquals(2, c.code());
        assertTrue(c.err().contains("no CUDA GPU found"), c.err());
        Run b = run("bench", "--out", System.getProperty("java.io.tmpdir"));
        assertEquals(2, b.code());
        assertTrue(b.err().contains("no CUDA GPU found"), b.err());
    }

    @Test
    void listingNeedsNoGpuAndCountsOnStderr() {
        for (String cmd : List.of("check", "bench")) {
            Run r = run(cmd, "--list");
            assertEquals(0, r.code(), r.err());
            List<String> lines = r.out().lines().toList();
            assertFalse(lines.isEmpty(), cmd + " --list printed no case");
            for (String l : lines) assertEquals(3, l.split("\t").length, cmd + ": stdout holds only 'family op case' lines: " + l);
            assertEquals(lines.size() + " cases", r.err().strip(), cmd + ": the count goes to stderr");
        }
    }

    @Test
    void infoJsonIsMachineReadable() throws Exception {
        Run r = run("info", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(ReportWriter.SCHEMA_VERSION, j.path("schemaVersion").asInt());
        assertEquals(Kernels4jNative.versionString(), j.path("version").asText());
        assertEquals(Kernels4jNative.EXPECTED_ABI_VERSION, j.path("abi").asInt());
        assertTrue(j.path("archs").isArray() && j.path("archs").toString().contains("sm_90a"), j.toString());
        for (String f : List.of("cudaBuild", "runtime", "driver", "library"))
            assertFalse(j.path(f).asText().isEmpty(), "missing " + f + ": " + j);
        assertEquals(Cuda.isAvailable(), j.path("available").asBoolean());
        assertEquals(Cuda.deviceCount(), j.path("devices").size());
        if (!Cuda.isAvailable()) {
            assertFalse(j.path("reason").asText().isEmpty(), j.toString());
        } else {
            JsonNode d = j.path("devices").get(0);
            for (String f : List.of("name", "computeCapability", "memoryBytes", "smCount"))
                assertTrue(d.has(f), "device field " + f + ": " + d);
            assertTrue(d.path("smCount").asInt() > 0 && d.path("memoryBytes").asLong() > 0, d.toString());
        }
    }

    /** A user error of plot: exit 2, exactly one line on stderr naming the file, no stack trace. */
    static void assertOneLineUserError(Run r, Path file, String reason) {
        assertEquals(2, r.code(), r.out() + r.err());
        List<String> err = r.err().lines().toList();
        assertEquals(1, err.size(), "one line: " + r.err());
        assertTrue(err.get(0).startsWith("kernels4j plot: " + file + ": "), err.get(0));
        assertTrue(err.get(0).contains(reason), err.get(0));
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
    }

    @Test
    void plotOnABadReportIsOneLineAndExitTwo(@TempDir Path dir) throws Exception {
        // plot needs AWT; the GPU bundle's jlink'd runtime has none (plot says so: tested there by hand).
        org.junit.jupiter.api.Assumptions.assumeTrue(ModuleLayer.boot().findModule("java.desktop").isPresent(),
                "this Java runtime has no java.desktop (AWT)");
        Path missing = dir.resolve("no-such-report.json");
        assertOneLineUserError(run("plot", missing.toString()), missing, "no such file");
        assertOneLineUserError(run("plot", dir.toString()), dir, "not a file");

        Path garbage = Files.writeString(dir.resolve("garbage.json"), "{\"kind\": \"bench\", \"cases\": [");
        assertOneLineUserError(run("plot", garbage.toString()), garbage, "not valid JSON");
        Path empty = Files.writeString(dir.resolve("empty.json"), "");
        assertOneLineUserError(run("plot", empty.toString()), empty, "not a kernels4j bench report");
        Path check = Files.writeString(dir.resolve("check.json"), "{\"schemaVersion\": 1, \"kind\": \"check\", \"cases\": []}");
        assertOneLineUserError(run("plot", check.toString()), check, "a 'check' report, not a bench report");
        Path newer = Files.writeString(dir.resolve("newer.json"),
                "{\"schemaVersion\": " + (ReportWriter.SCHEMA_VERSION + 1) + ", \"kind\": \"bench\", \"cases\": []}");
        assertOneLineUserError(run("plot", newer.toString()), newer, "newer than this kernels4j reads");

        Path unreadable = Files.writeString(dir.resolve("unreadable.json"), "{}");
        Files.setPosixFilePermissions(unreadable, Set.of());
        if (!Files.isReadable(unreadable)) // root reads everything: nothing to test there
            assertOneLineUserError(run("plot", unreadable.toString()), unreadable, "not readable");
    }

    @Test
    void versionIsTheProjectVersion() throws java.io.IOException {
        java.util.Properties build = new java.util.Properties();
        try (var in = MainTest.class.getResourceAsStream("build.properties")) {
            assertNotNull(in, "build.properties (a filtered test resource) is missing");
            build.load(in);
        }
        Run r = run("--version");
        assertEquals(0, r.code(), r.err());
        assertEquals("kernels4j " + build.getProperty("project.version"), r.out().strip());
    }

    @Test
    void badUsageExitsTwo() {
        assertEquals(2, run("check", "no-such-family").code());
        assertEquals(2, run("bench", "--runs", "0").code());
        assertEquals(2, run("check", "--filter", "(").code());
        assertEquals(2, run("frobnicate").code());
    }

    @Test
    void anUnwritableOutIsOneLineAndExitCode2() throws Exception {
        picocli.CommandLine cmd = new picocli.CommandLine(new Main()).getSubcommands().get("check");
        java.io.StringWriter err = new java.io.StringWriter();
        cmd.setErr(new java.io.PrintWriter(err, true));
        int code = Main.fileError(new java.nio.file.FileSystemException("/tmp/bench/results", null, "Not a directory"), cmd, null);
        assertEquals(2, code);
        assertEquals("kernels4j check: cannot write /tmp/bench/results: Not a directory", err.toString().strip());
        // Anything else is not a file problem: picocli's default handling (a stack trace, exit 1) stays.
        IllegalStateException bug = new IllegalStateException("bug");
        assertSame(bug, assertThrows(IllegalStateException.class, () -> Main.fileError(bug, cmd, null)));
    }
}
