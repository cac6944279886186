package io.kernels4j.bench;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.kernels4j.bench.dump.PeerDump;
import io.kernels4j.ops.Cuda;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kernels4j dump}'s argument handling without a GPU (the dump itself runs in bin/gpu-validate). */
class DumpCommandTest {
    @TempDir
    Path dir;

    @Test
    void listNamesOneCasePerOpWithoutGpu() {
        MainTest.Run r = MainTest.run("dump", "--list", "--out", dir.toString());
        assertEquals(0, r.code(), r.err());
        // The case count goes to stderr, as for check/bench --list: stdout holds only the case lines.
        assertEquals(PeerDump.cases().size() + " cases", r.err().strip().lines().toList().getLast());
        assertEquals(PeerDump.cases().size(), r.out().strip().lines().count());
        for (String op : List.of("Fp8Gemm.dense", "Fp8Gemm.groupedContiguous", "Fp8Gemm.groupedMasked", "MlaDecode.forward",
                "MoeDispatch.contiguous", "MoeCombine.contiguous"))
            assertTrue(r.out().contains(op), op + " missing from " + r.out());
        Set<String> names = new HashSet<>();
        PeerDump.cases().forEach(c -> assertTrue(names.add(c.name()), "duplicate case name " + c.name()));
        assertTrue(names.stream().allMatch(n -> n.matches("[a-z0-9_]+")), "names are file-name safe: " + names);
    }

    @Test
    void filterSelectsCases() {
        MainTest.Run r = MainTest.run("dump", "--list", "--out", dir.toString(), "--filter", "^mla_");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().strip().endsWith("2 cases"), r.err());
        assertEquals(2, r.out().strip().lines().count(), r.out());
        assertFalse(r.out().contains("gemm"), r.out());
    }

    @Test
    void badUsageExitsTwo() {
        MainTest.Run listOnly = MainTest.run("dump", "--list");
        assertEquals(0, listOnly.code(), "--list needs no --out: " + listOnly.err());
        MainTest.Run noOut = MainTest.run("dump");
        assertEquals(2, noOut.code());
        assertTrue(noOut.err().contains("--out"), noOut.err());
        assertEquals(2, MainTest.run("dump", "--out", dir.toString(), "--filter", "(").code());
        MainTest.Run none = MainTest.run("dump", "--out", dir.toString(), "--filter", "no-such-case");
        assertEquals(2, none.code());
        assertTrue(none.err().contains("no case matches"), none.err());
        assertEquals(2, MainTest.run("dump", "--out", dir.toString(), "--seed", "x").code());
    }

    @Test
    void withoutGpuExitsTwoAndWritesNothing() throws Exception {
        assumeFalse(Cuda.isAvailable(), "a GPU is present: the dump runs for real there (bin/gpu-validate)");
        Path out = dir.resolve("d");
        MainTest.Run r = MainTest.run("dump", "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("no CUDA GPU found"), r.err());
        assertFalse(Files.exists(out), "no folder is created when nothing runs");
    }
}
