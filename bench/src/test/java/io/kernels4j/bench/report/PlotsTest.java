package io.kernels4j.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.bench.BenchResult;
import io.kernels4j.bench.Ceilings;
import io.kernels4j.bench.PeerColumns;
import io.kernels4j.bench.Timing;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Renders the pictures from SYNTHETIC sample data (made-up timings, clearly labelled in the title;
 * never a measurement) and checks the PNGs are real images with content. Set
 * {@code -Dkernels4j.plots.dir=DIR} to keep them for looking at.
 */
class PlotsTest {
    static final String SYNTHETIC = "SYNTHETIC SAMPLE DATA, not a measurement";

    /** GEMM-like results on DeepSeek-V3 shapes with invented times (and an invented peer). */
    static List<BenchResult> syntheticGemm() {
        int[][] nk = {{2112, 7168}, {24576, 1536}, {32768, 512}, {7168, 16384}, {4096, 7168}, {7168, 2048}};
        List<BenchResult> out = new ArrayList<>();
        for (int m : new int[] {64, 128, 4096})
            for (int[] s : nk) {
                int n = s[0], k = s[1];
                double flops = 2.0 * m * n * k;
                double bytes = (double) m * k + (double) n * k + 4.0 * (m * (k / 128) + (n / 128) * (k / 128)) + 2.0 * m * n;
                // invented: min(intensity x 2.6 TB/s, 1200 TFLOP/s) times a shape-dependent efficiency
                double eff = 0.55 + 0.3 * ((n + k) % 7) / 7.0;
                double tflops = Math.min(flops / bytes * 2.6e12, 1200e12) * eff;
                double ms = flops / tflops * 1e3;
                Timing ours = Timing.of(new double[] {ms * 0.98, ms, ms * 1.03});
                Timing theirs = Timing.of(new double[] {ms * 1.1, ms * 1.15, ms * 1.2});
                out.add(new BenchResult("Fp8Gemm.dense", "m=" + m + " n=" + n + " k=" + k, ours, flops, bytes,
                        PeerColumns.of("cuBLASLt, synthetic", ours, theirs, 1e-7)));
            }
        return out;
    }

    static List<BenchResult> syntheticMoe() {
        List<BenchResult> out = new ArrayList<>();
        for (int t : new int[] {128, 4096})
            for (String op : new String[] {"dispatch", "combine"}) {
                double bytes = (double) t * 7168 * 2 * (1 + 8);
                double ms = bytes / (t == 128 ? 0.9e12 : 2.4e12) * 1e3;
                out.add(new BenchResult("Moe." + op, op + " T=" + t + " H=7168 K=8", Timing.of(new double[] {ms}), 0, bytes));
            }
        return out;
    }

    @org.junit.jupiter.api.BeforeAll
    static void needsAwt() {
        org.junit.jupiter.api.Assumptions.assumeTrue(PlotSupport.isAvailable(),
                "this Java runtime has no java.desktop: pictures are drawn with a full JDK");
    }

    private static void assertRealPng(Path png) throws Exception {
        assertTrue(Files.size(png) > 10_000, png + " is only " + Files.size(png) + " bytes");
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(1100, img.getWidth());
        assertEquals(720, img.getHeight());
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 3)
            for (int x = 0; x < img.getWidth(); x += 3) colours.add(img.getRGB(x, y));
        assertTrue(colours.size() > 20, "image has only " + colours.size() + " colours: nothing drawn?");
    }

    private static Path dir(Path temp) throws Exception {
        String keep = System.getProperty("kernels4j.plots.dir");
        return keep == null ? temp : Files.createDirectories(Path.of(keep));
    }

    @Test
    void rooflineFromSyntheticGemmResults(@TempDir Path temp) throws Exception {
        Ceilings c = Ceilings.of("NVIDIA H100 80GB HBM3", 2.95e12);
        Path png = Plots.family("gemm", syntheticGemm(), c, SYNTHETIC, dir(temp).resolve("gemm-roofline.png"));
        assertRealPng(png);
    }

    @Test
    void rooflineForUnknownDeviceHasOnlyTheBandwidthRoof(@TempDir Path temp) throws Exception {
        Ceilings c = Ceilings.of("Some Future GPU", 5e12);
        assertRealPng(Plots.roofline("gemm", syntheticGemm(), c, SYNTHETIC, dir(temp).resolve("gemm-roofline-unknown.png")));
    }

    @Test
    void bandwidthChartForMemoryBoundResults(@TempDir Path temp) throws Exception {
        Ceilings c = Ceilings.of("NVIDIA H100 80GB HBM3", 2.95e12);
        Path png = Plots.family("moe", syntheticMoe(), c, SYNTHETIC, dir(temp).resolve("moe-bandwidth.png"));
        assertRealPng(png);
    }

    @Test
    void onePicturePerFamily(@TempDir Path temp) throws Exception {
        List<BenchResult> all = new ArrayList<>(syntheticGemm());
        List<String> fams = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) fams.add("gemm");
        all.addAll(syntheticMoe());
        while (fams.size() < all.size()) fams.add("moe");
        var pngs = Plots.writeAll(temp, "bench-all-synthetic", all, fams, Ceilings.of("NVIDIA H200", 4.1e12), SYNTHETIC);
        assertEquals(List.of("gemm", "moe"), List.copyOf(pngs.keySet()));
        for (Path p : pngs.values()) assertRealPng(p);
        assertEquals("![gemm against the ceilings](bench-all-synthetic-gemm.png)",
                PlotSupport.markdownImage("gemm", pngs.get("gemm")));
    }

    @Test
    void picturesFromAJsonReport(@TempDir Path temp) throws Exception {
        // A report shaped like BenchCommand's (cases with family/op/case/timing/flops/bytes/extra, ceilings).
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        var root = mapper.createObjectNode();
        root.put("kind", "bench");
        root.put("date", "SYNTHETIC");
        var ceil = root.putObject("ceilings");
        ceil.put("device", "NVIDIA H100 80GB HBM3");
        ceil.put("copyGBps", 2950.0);
        var cases = root.putArray("cases");
        for (BenchResult r : syntheticGemm()) {
            var o = cases.addObject();
            o.put("family", "gemm").put("op", r.op()).put("case", r.name()).put("medianMs", r.timing().medianMs())
                    .put("p10Ms", r.timing().p10Ms()).put("p90Ms", r.timing().p90Ms()).put("minMs", r.timing().minMs())
                    .put("maxMs", r.timing().maxMs()).put("runs", r.timing().runs()).put("flops", r.flops()).put("bytes", r.bytes());
            ReportWriter.put(o, "extra", r.extra());
        }
        cases.addObject().put("family", "gemm").put("op", "Fp8Gemm.dense").put("case", "broken").put("error", "boom");
        Path json = dir(temp).resolve("bench-gemm-synthetic.json");
        mapper.writeValue(json.toFile(), root);
        Files.writeString(json.resolveSibling("bench-gemm-synthetic.md"), "# kernels4j bench\n\n## gemm\n\n| op |\n");

        ReportPlots.Report rep = ReportPlots.read(json);
        assertEquals(18, rep.results().size(), "the failed case is left out");
        assertEquals(2950e9, rep.ceilings().copyBytesPerSec(), 1);
        assertEquals(syntheticGemm().get(0).extra().get(PeerColumns.PEER_MS), rep.results().get(0).extra().get(PeerColumns.PEER_MS));
        var pngs = ReportPlots.draw(json);
        assertRealPng(pngs.get("gemm"));
        String md = Files.readString(json.resolveSibling("bench-gemm-synthetic.md"));
        assertTrue(md.contains("## gemm\n\n![gemm against the ceilings](bench-gemm-synthetic-gemm.png)\n\n| op |"), md);
        ReportPlots.draw(json);
        assertEquals(md, Files.readString(json.resolveSibling("bench-gemm-synthetic.md")), "links are added once");
    }

    @Test
    void helpers() {
        assertEquals("1,000", Plots.plainNumber(1000));
        assertEquals("0.0500", Plots.plainNumber(0.05));
        assertEquals("m=64 n=2112 k=7168", Plots.shortName("m=64 n=2112 k=7168"));
        assertEquals(28, Plots.shortName("x".repeat(40)).length());
    }
}
