package io.kernels4j.bench.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;

/**
 * CI smoke of the host-only JMH benchmarks (no GPU needed): a short forked run that must produce a
 * finite, positive score for every benchmark. The numbers are not checked (100 ms iterations on a
 * shared CI machine say little); that they exist is.
 */
@Tag("jmh-smoke")
class JmhSmokeTest {
    @Test
    void benchmarkListIsGenerated() throws Exception {
        try (InputStream in = getClass().getResourceAsStream("/META-INF/BenchmarkList")) {
            assertTrue(in != null, "META-INF/BenchmarkList missing: the JMH annotation processor did not run");
            String list = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            for (String c : new String[] {"HostOnlyBench", "GpuOverheadBench", "JCudaOverheadBench"})
                assertTrue(list.contains("io.kernels4j.bench.jmh." + c), c + " not in BenchmarkList");
        }
    }

    @Test
    void hostOnlyBenchmarksRun() throws Exception {
        Collection<RunResult> results = new Runner(JmhLauncher.options(true, false).build()).run();
        Set<String> names = new TreeSet<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            double score = r.getPrimaryResult().getScore();
            assertTrue(Double.isFinite(score) && score > 0, name + ": score " + score);
            assertEquals("ns/op", r.getPrimaryResult().getScoreUnit());
            names.add(name.substring(name.lastIndexOf('.') + 1));
            System.out.printf("jmh-smoke %-28s %10.1f ns/op%n", name.substring(name.lastIndexOf('.') + 1), score);
        }
        assertFalse(names.isEmpty(), "JMH produced no results");
        assertEquals(Set.of("javaCallBaseline", "downcallLibcAbs", "downcallAbiVersion", "downcallAbiVersionCritical",
                "downcallLastError", "gemmScalarChecks"), names);
    }
}
