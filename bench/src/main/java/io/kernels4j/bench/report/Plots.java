package io.kernels4j.bench.report;

import io.kernels4j.bench.BenchResult;
import io.kernels4j.bench.Ceilings;
import io.kernels4j.bench.DatasheetPeaks;
import io.kernels4j.bench.PeerColumns;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Pictures next to the Markdown report, drawn with XChart (PNG, headless).
 * <ul>
 *   <li>{@link #roofline}: for compute families (results with FLOPs): achieved TFLOP/s against
 *       arithmetic intensity (FLOP per byte moved, docs/CONTRACT.md's byte formulas), both axes
 *       logarithmic, under the memory roof (intensity x measured copy bandwidth, solid) and the
 *       datasheet FP8 and BF16 peaks (dashed: not measured). Peer points (cuBLASLt) are drawn beside ours.</li>
 *   <li>{@link #bandwidth}: for memory-bound families (no FLOPs): achieved GB/s per case against
 *       the measured copy bandwidth.</li>
 * </ul>
 * {@link #family} picks one. Every ceiling's legend entry says whether it was measured or is a
 * datasheet figure.
 */
public final class Plots {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private static final int WIDTH = 1100, HEIGHT = 720;
    private static final Color OURS = new Color(0x1f77b4), PEER = new Color(0xd62728);
    private static final Color ROOF_FP8 = new Color(0x2ca02c), ROOF_BF16 = new Color(0x9467bd), COPY = new Color(0x555555);

    private static final BasicStroke DASHED = new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
            new float[] {9f, 6f}, 0f);

    private Plots() {}

    /**
     * Draws the family's picture to {@code out} (a roofline when every result has FLOPs and bytes,
     * else a bandwidth chart). {@code subtitle} goes under the title (device, date, commit...).
     */
    public static Path family(String family, List<BenchResult> results, Ceilings ceilings, String subtitle, Path out)
            throws IOException {
        boolean compute = !results.isEmpty() && results.stream().allMatch(r -> r.flops() > 0 && r.bytes() > 0);
        return compute ? roofline(family, results, ceilings, subtitle, out) : bandwidth(family, results, ceilings, subtitle, out);
    }

    /**
     * One picture per family next to a report: {@code <dir>/<base>-<family>.png}. {@code families}
     * gives each result's family (same order as {@code results}). A family whose picture cannot be
     * drawn is reported on stderr and left out; the report itself never fails for a picture.
     *
     * @return family to the PNG written
     */
    public static Map<String, Path> writeAll(Path dir, String base, List<BenchResult> results, List<String> families,
                                             Ceilings ceilings, String subtitle) {
        if (results.size() != families.size())
            throw new IllegalArgumentException("families: expected one per result (" + results.size() + "), got " + families.size());
        Map<String, List<BenchResult>> byFamily = new LinkedHashMap<>();
        for (int i = 0; i < results.size(); i++) byFamily.computeIfAbsent(families.get(i), f -> new ArrayList<>()).add(results.get(i));
        Map<String, Path> out = new LinkedHashMap<>();
        byFamily.forEach((fam, rs) -> {
            Path png = dir.resolve(base + "-" + fam + ".png");
            try {
                out.put(fam, family(fam, rs, ceilings, subtitle, png));
            } catch (IOException | RuntimeException | LinkageError e) {
                System.err.println("plot for " + fam + " not written: " + e);
            }
        });
        return out;
    }

    /** Roofline: TFLOP/s vs FLOP/byte, log-log, with measured-bandwidth and datasheet-peak roofs. */
    public static Path roofline(String family, List<BenchResult> results, Ceilings ceilings, String subtitle, Path out)
            throws IOException {
        if (results.isEmpty()) throw new IllegalArgumentException("results: nothing to plot for " + family);
        XYChart chart = base(family + ": roofline" + (subtitle == null || subtitle.isBlank() ? "" : "  —  " + subtitle),
                "arithmetic intensity (FLOP / byte moved)", "achieved TFLOP/s (median)");
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisLogarithmic(true);

        double minAi = Double.MAX_VALUE, maxAi = 0, minT = Double.MAX_VALUE, maxT = 0;
        Map<String, List<double[]>> ours = new LinkedHashMap<>(), peers = new LinkedHashMap<>();
        for (BenchResult r : results) {
            double ai = r.flops() / r.bytes();
            double t = r.tflops();
            ours.computeIfAbsent(r.op() + " (kernels4j)", k -> new ArrayList<>()).add(new double[] {ai, t});
            minAi = Math.min(minAi, ai);
            maxAi = Math.max(maxAi, ai);
            minT = Math.min(minT, t);
            maxT = Math.max(maxT, t);
            double pms = PeerColumns.peerMs(r);
            if (pms > 0) {
                double pt = r.flops() / (pms * 1e-3) / 1e12;
                peers.computeIfAbsent(r.op() + " (" + PeerColumns.peerName(r) + ")", k -> new ArrayList<>()).add(new double[] {ai, pt});
                minT = Math.min(minT, pt);
                maxT = Math.max(maxT, pt);
            }
        }
        double bw = ceilings.copyBytesPerSec();
        DatasheetPeaks ds = ceilings.datasheet().orElse(null);
        double fp8 = ds == null ? 0 : ds.fp8Flops(), bf16 = ds == null ? 0 : ds.bf16Flops();
        double topPeak = Math.max(fp8, bf16);
        double x0 = minAi / 3, x1 = maxAi * 3;
        if (bw > 0 && topPeak > 0) x1 = Math.max(x1, topPeak / bw * 3); // keep the knees in view
        double yTop = Math.max(maxT, topPeak / 1e12) * 1.8;
        double yBottom = Math.min(minT, bw > 0 ? x0 * bw / 1e12 : minT) / 1.8;

        if (bw > 0) { // the memory roof: intensity x measured copy bandwidth, up to the highest peak
            double xEnd = topPeak > 0 ? Math.min(x1, topPeak / bw) : x1;
            line(chart, String.format(Locale.ROOT, "memory roof: measured D2D copy, %.0f GB/s%s", bw / 1e9,
                            ds == null ? " (no datasheet peaks for this device)" : ""),
                    new double[] {x0, xEnd}, new double[] {x0 * bw / 1e12, xEnd * bw / 1e12}, COPY, false);
        }
        if (fp8 > 0) line(chart, String.format(Locale.ROOT, "FP8 peak %.0f TFLOP/s (datasheet, dense)", fp8 / 1e12),
                new double[] {bw > 0 ? Math.max(x0, fp8 / bw) : x0, x1}, new double[] {fp8 / 1e12, fp8 / 1e12}, ROOF_FP8, true);
        if (bf16 > 0) line(chart, String.format(Locale.ROOT, "BF16 peak %.0f TFLOP/s (datasheet, dense)", bf16 / 1e12),
                new double[] {bw > 0 ? Math.max(x0, bf16 / bw) : x0, x1}, new double[] {bf16 / 1e12, bf16 / 1e12}, ROOF_BF16, true);

        for (var e : ours.entrySet()) points(chart, e.getKey(), e.getValue(), OURS, true);
        for (var e : peers.entrySet()) points(chart, e.getKey(), e.getValue(), PEER, false);
        labelPoints(chart, results);

        var st = chart.getStyler();
        st.setXAxisMin(x0);
        st.setXAxisMax(x1);
        st.setYAxisMin(yBottom);
        st.setYAxisMax(yTop);
        st.setXAxisDecimalPattern("#,##0.###");
        st.setYAxisDecimalPattern("#,##0.###");
        return write(chart, out);
    }

    /** GB/s per case (bars, one category per case) against the measured copy bandwidth. */
    public static Path bandwidth(String family, List<BenchResult> results, Ceilings ceilings, String subtitle, Path out)
            throws IOException {
        if (results.isEmpty()) throw new IllegalArgumentException("results: nothing to plot for " + family);
        CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT)
                .title(family + ": achieved bandwidth" + (subtitle == null || subtitle.isBlank() ? "" : "  —  " + subtitle))
                .xAxisTitle("case").yAxisTitle("GB/s (median; bytes as in docs/CONTRACT.md)").build();
        var st = chart.getStyler();
        style(st);
        st.setOverlapped(true);
        st.setXAxisLabelRotation(results.size() > 4 ? 25 : 0);
        st.setLegendPosition(Styler.LegendPosition.OutsideS);
        st.setLegendLayout(Styler.LegendLayout.Horizontal);
        st.setYAxisMin(0.0);
        st.setYAxisDecimalPattern("#,##0");
        List<String> names = new ArrayList<>();
        List<Double> gbps = new ArrayList<>();
        double maxY = 0;
        for (BenchResult r : results) {
            String op = r.op().substring(r.op().lastIndexOf('.') + 1);
            names.add(shortName(r.name().startsWith(op) ? r.name() : op + " " + r.name()));
            gbps.add(r.gbps());
            maxY = Math.max(maxY, r.gbps());
        }
        CategorySeries bars = chart.addSeries("kernels4j (median)", names, gbps);
        bars.setChartCategorySeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Bar);
        bars.setFillColor(OURS);
        double bw = ceilings.copyBytesPerSec() / 1e9;
        if (bw > 0) {
            constant(chart, String.format(Locale.ROOT, "measured D2D copy %.0f GB/s", bw), names, bw, COPY, false);
            maxY = Math.max(maxY, bw);
        }
        if (ceilings.datasheet().isPresent()) {
            DatasheetPeaks p = ceilings.datasheet().get();
            constant(chart, String.format(Locale.ROOT, "%s DRAM %.0f GB/s (datasheet)", p.product(), p.memBytesPerSec() / 1e9),
                    names, p.memBytesPerSec() / 1e9, ROOF_BF16, true);
            maxY = Math.max(maxY, p.memBytesPerSec() / 1e9);
        }
        st.setYAxisMax(maxY * 1.1);
        return write(chart, out);
    }

    private static void constant(CategoryChart chart, String name, List<String> names, double v, Color color, boolean dashed) {
        List<Double> ys = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) ys.add(v);
        CategorySeries s = chart.addSeries(name, names, ys);
        s.setChartCategorySeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
        s.setMarker(SeriesMarkers.NONE);
        s.setLineColor(color);
        s.setLineStyle(dashed ? DASHED : new BasicStroke(2f));
    }

    private static void style(Styler st) {
        st.setChartBackgroundColor(Color.WHITE);
        st.setPlotBackgroundColor(Color.WHITE);
        st.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        st.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        st.setLegendBorderColor(new Color(0xbbbbbb));
        st.setAnnotationTextFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        st.setAnnotationTextFontColor(new Color(0x333333));
        st.setMarkerSize(9);
        if (st instanceof org.knowm.xchart.style.AxesChartStyler a) {
            a.setPlotGridLinesColor(new Color(0xdddddd));
            a.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
            a.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        }
    }

    private static XYChart base(String title, String xTitle, String yTitle) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        style(chart.getStyler());
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideSE);
        return chart;
    }

    private static void line(XYChart chart, String name, double[] x, double[] y, Color color, boolean dashed) {
        XYSeries s = chart.addSeries(name, x, y);
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        s.setMarker(SeriesMarkers.NONE).setLineColor(color).setLineStyle(dashed
                ? DASHED : new BasicStroke(2f));
    }

    /**
     * Labels our points with their case names where a label fits: greedy, in log space, trying
     * above-right then below-right of the marker and skipping a label that would overlap one
     * already placed (clusters of near-identical shapes stay readable; the report's table has all).
     */
    private static void labelPoints(XYChart chart, List<BenchResult> results) {
        List<double[]> placed = new ArrayList<>(); // {log10 x, log10 y} of placed label anchors
        double w = 0.30, h = 0.045; // approximate label box in decades at the default size
        for (BenchResult r : results) {
            double lx = Math.log10(r.flops() / r.bytes()), ly = Math.log10(r.tflops());
            for (double dy : new double[] {0.035, -0.06}) {
                double cx = lx + 0.03, cy = ly + dy;
                boolean free = true;
                for (double[] p : placed) if (Math.abs(p[0] - cx) < w && Math.abs(p[1] - cy) < h) { free = false; break; }
                if (free) {
                    placed.add(new double[] {cx, cy});
                    // AnnotationText is centred on its anchor: shift right by half a label
                    chart.addAnnotation(new AnnotationText(shortName(r.name()), Math.pow(10, cx + w / 2), Math.pow(10, cy), false));
                    break;
                }
            }
        }
    }

    /** Tick labels on log axes as plain numbers (10, 100, 1,000) rather than 1E3. */
    static String plainNumber(double v) {
        if (v >= 1) return String.format(Locale.ROOT, "%,.0f", v);
        return String.format(Locale.ROOT, "%.3g", v);
    }

    private static void points(XYChart chart, String name, List<double[]> pts, Color color, boolean filled) {
        double[] x = new double[pts.size()], y = new double[pts.size()];
        for (int i = 0; i < pts.size(); i++) {
            x[i] = pts.get(i)[0];
            y[i] = pts.get(i)[1];
        }
        XYSeries s = chart.addSeries(name, x, y);
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        s.setMarker(filled ? SeriesMarkers.CIRCLE : SeriesMarkers.DIAMOND).setMarkerColor(color);
    }

    /** "m=64 n=2112 k=7168" stays; long names are cut so labels do not cover the chart. */
    static String shortName(String name) {
        return name.length() <= 28 ? name : name.substring(0, 27) + "…";
    }

    private static Path write(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, Path out) throws IOException {
        if (out.getParent() != null) Files.createDirectories(out.getParent());
        try (OutputStream os = Files.newOutputStream(out)) {
            BitmapEncoder.saveBitmap(chart, os, BitmapEncoder.BitmapFormat.PNG);
        }
        return out;
    }
}
