package io.kernels4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** CPU tests of the timing core's pure parts: statistics, rotation sizing, ceilings' bookkeeping. */
class TimingCoreTest {
    @Test
    void timingMedianQuantilesAndSpread() {
        double[] ms = new double[31];
        for (int i = 0; i < ms.length; i++) ms[i] = 1.0 + i * 0.01; // 1.00 .. 1.30, shuffled below
        for (int i = 0; i < ms.length; i++) { int j = (i * 7) % ms.length; double t = ms[i]; ms[i] = ms[j]; ms[j] = t; }
        Timing t = Timing.of(ms);
        assertEquals(1.15, t.medianMs(), 1e-12);
        assertEquals(1.00, t.minMs(), 1e-12);
        assertEquals(1.30, t.maxMs(), 1e-12);
        assertEquals(1.03, t.p10Ms(), 1e-12);
        assertEquals(1.27, t.p90Ms(), 1e-12);
        assertEquals(31, t.runs());
        assertEquals((1.27 - 1.03) / 1.15, t.spread(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> Timing.of(new double[0]));
    }

    @Test
    void evenCountMedianInterpolates() {
        assertEquals(2.5, Timing.of(new double[] {4, 1, 3, 2}).medianMs(), 1e-12);
    }

    @Test
    void rotationOnlyWhenInputsFitInL2() {
        long l2 = 50L << 20; // H100: 50 MiB
        assertEquals(1, KernelTimer.rotationSets(200L << 20, l2, 8), "inputs far larger than L2: no rotation");
        assertEquals(1, KernelTimer.rotationSets(100L << 20, l2, 8), "exactly 2x L2: no rotation");
        assertEquals(3, KernelTimer.rotationSets(60L << 20, l2, 8), "3x L2 / 60 MiB rounds up to 3");
        assertEquals(8, KernelTimer.rotationSets(1L << 20, l2, 8), "tiny inputs capped at maxSets");
        assertEquals(2, KernelTimer.rotationSets(99L << 20, l2, 8), "at least two sets once rotating");
        assertEquals(1, KernelTimer.rotationSets(1 << 20, 0, 8), "unknown L2: no rotation");
        assertThrows(IllegalArgumentException.class, () -> KernelTimer.rotationSets(0, l2, 8));
        assertThrows(IllegalArgumentException.class, () -> KernelTimer.rotationSets(1, l2, 0));
    }

    @Test
    void datasheetLookupByDeviceName() {
        assertEquals("H100 SXM", DatasheetPeaks.lookup("NVIDIA H100 80GB HBM3").orElseThrow().product());
        assertEquals("H100 PCIe", DatasheetPeaks.lookup("NVIDIA H100 PCIe").orElseThrow().product());
        assertEquals("H100 NVL", DatasheetPeaks.lookup("NVIDIA H100 NVL").orElseThrow().product());
        assertEquals("H200 SXM", DatasheetPeaks.lookup("NVIDIA H200").orElseThrow().product());
        assertEquals("H200 NVL", DatasheetPeaks.lookup("NVIDIA H200 NVL").orElseThrow().product());
        assertEquals("H20", DatasheetPeaks.lookup("NVIDIA H20").orElseThrow().product());
        assertEquals("A100 SXM", DatasheetPeaks.lookup("NVIDIA A100-SXM4-80GB").orElseThrow().product());
        assertEquals("A100 PCIe", DatasheetPeaks.lookup("NVIDIA A100 80GB PCIe").orElseThrow().product());
        assertEquals("L40S", DatasheetPeaks.lookup("NVIDIA L40S").orElseThrow().product());
        assertEquals("L4", DatasheetPeaks.lookup("NVIDIA L4").orElseThrow().product());
        assertEquals("GeForce RTX 4090", DatasheetPeaks.lookup("NVIDIA GeForce RTX 4090").orElseThrow().product());
        assertTrue(DatasheetPeaks.lookup("NVIDIA GeForce RTX 3060").isEmpty(), "unknown device: no ceiling");
        assertTrue(DatasheetPeaks.lookup(null).isEmpty());
        assertTrue(DatasheetPeaks.lookup("NVIDIA A100-SXM4-80GB").orElseThrow().fp8().isEmpty(), "A100 has no FP8");
        DatasheetPeaks h100 = DatasheetPeaks.lookup("NVIDIA H100 80GB HBM3").orElseThrow();
        assertEquals(1979e12, h100.fp8Flops(), 1e9);
        assertEquals(2.0, h100.fp8Flops() / h100.bf16Flops(), 0.01, "FP8 is twice BF16 on Hopper");
    }

    @Test
    void ceilingsFractionsAndMap() {
        Ceilings c = Ceilings.of("NVIDIA H100 80GB HBM3", 3.0e12);
        // 1 ms for 1.5e9 bytes = 1.5 TB/s = half the copy ceiling; 989.5e9 FLOP in 1 ms = 989.5 TFLOPS
        BenchResult r = new BenchResult("Op.x", "case", Timing.of(new double[] {1.0}), 989.5e9, 1.5e9);
        assertEquals(0.5, c.bandwidthFraction(r), 1e-9);
        assertEquals(0.5, c.fp8Fraction(r), 1e-3);
        assertEquals(1.0, c.bf16Fraction(r), 1e-3);
        Map<String, Object> m = c.toMap();
        assertEquals(3000.0, (double) m.get("copyGBps"), 1e-9);
        assertTrue(((String) m.get("peakSource")).startsWith("datasheet"));
        Ceilings unknown = Ceilings.datasheetOnly("Some GPU");
        assertTrue(Double.isNaN(unknown.fp8Fraction(r)) && Double.isNaN(unknown.bandwidthFraction(r)));
        assertTrue(!unknown.toMap().containsKey("fp8TflopsDatasheet"));
    }

    @Test
    void copySizeBounds() {
        assertEquals(1L << 30, Ceilings.copySize(50L << 20, 80L << 30));
        assertEquals(1L << 30, Ceilings.copySize(50L << 20, 4L << 30), "a quarter of 4 GiB free");
        assertEquals(256L << 20, Ceilings.copySize(50L << 20, 1L << 30), "capped by free memory");
        assertEquals(2L << 30, Ceilings.copySize(256L << 20, 80L << 30), "8x a large L2");
    }

    @Test
    void ceilingsMarkdownLabelsSources() {
        String md = Ceilings.of("NVIDIA H100 80GB HBM3", 3.0e12).markdown();
        assertTrue(md.contains("| memory bandwidth | 3000 GB/s | measured"), md);
        assertTrue(md.contains("| FP8 tensor peak | 1979 TFLOP/s | datasheet (H100 SXM, dense), not measured |"), md);
        String unknown = Ceilings.datasheetOnly("Mystery GPU").markdown();
        assertTrue(unknown.contains("no datasheet entry for Mystery GPU") && !unknown.contains("memory bandwidth"), unknown);
    }
}
