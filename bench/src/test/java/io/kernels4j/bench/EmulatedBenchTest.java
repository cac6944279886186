package io.kernels4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.bench.report.RunInfo;
import io.kernels4j.ops.Kernels4j;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Benchmarks on the CPU emulator: refused unless asked for, then labelled in every report. */
class EmulatedBenchTest {
    private static final RunInfo INFO = new RunInfo("kernels4j CPU emulator (sm_90) (emulated)", "13.0", "13.0", "abc",
            "2026-11-29T00:00:00Z", "0.1.0", List.of("sm_90a"), "9.0", 132, 80L << 30);

    @Test
    void emulatedReportsCarryTheBanner() {
        String md = BenchCommand.markdown(INFO, List.of(), List.of(), true);
        assertTrue(md.contains("EMULATED DEVICE: times are CPU emulation, not GPU results"), md);
        assertFalse(BenchCommand.markdown(INFO, List.of(), List.of(), false).contains("EMULATED"));
    }

    @Test
    void benchRefusesTheEmulatorWithoutTheFlag() {
        var a = Kernels4j.availability();
        if (!a.available() || !a.emulated()) return; // runs where the emulator is selected (CI's emulator job)
        MainTest.Run r = MainTest.run("bench", "--quick", "--out", System.getProperty("java.io.tmpdir"));
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("--allow-emulated"), r.err());
    }

    @Test
    void theFlagIsKnown() {
        MainTest.Run r = MainTest.run("bench", "--allow-emulated", "--list");
        assertEquals(0, r.code(), r.err());
    }
}
