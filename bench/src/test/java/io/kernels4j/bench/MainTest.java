package io.kernels4j.bench;

import static org.junit.jupiter.api.Assertions.*;

import io.kernels4j.ops.Cuda;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The CLI's contract without a GPU: info exits 0, check/bench exit 2 with a reason, bad usage exits 2. */
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
        if (Cuda.isAvailable()) return; // on a GPU these run for real (see the GPU checks)
        Run c = run("check", "--out", System.getProperty("java.io.tmpdir"));
        assertEquals(2, c.code());
        assertTrue(c.err().contains("no CUDA GPU found"), c.err());
        Run b = run("bench", "--out", System.getProperty("java.io.tmpdir"));
        assertEquals(2, b.code());
        assertTrue(b.err().contains("no CUDA GPU found"), b.err());
    }

    @Test
    void listingNeedsNoGpu() {
        Run c = run("check", "--list");
        assertEquals(0, c.code(), c.err());
        assertTrue(c.out().strip().endsWith("cases"), c.out());
        Run b = run("bench", "--list");
        assertEquals(0, b.code(), b.err());
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
}
