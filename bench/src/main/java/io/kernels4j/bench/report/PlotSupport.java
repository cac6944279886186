package io.kernels4j.bench.report;

import io.kernels4j.bench.BenchResult;
import io.kernels4j.bench.Ceilings;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The entry to {@link Plots} that is safe on any runtime: the GPU bundle's jlinked runtime has no
 * java.desktop, and there nothing that touches AWT or XChart is loaded; pictures are drawn later from
 * the JSON report with a full JDK ({@code kernels4j plot REPORT.json}).
 */
public final class PlotSupport {
    private PlotSupport() {}

    /** Whether this runtime can draw (has java.desktop). */
    public static boolean isAvailable() {
        return ModuleLayer.boot().findModule("java.desktop").isPresent();
    }

    /** {@link Plots#writeAll}, or one line on stderr and no pictures where AWT is missing. */
    public static Map<String, Path> writeAll(Path dir, String base, List<BenchResult> results, List<String> families,
                                             Ceilings ceilings, String subtitle) {
        if (!isAvailable()) {
            System.err.println("plots skipped: this Java runtime has no java.desktop (AWT); draw them from the JSON report"
                    + " with a full JDK: kernels4j plot REPORT.json");
            return Map.of();
        }
        return Plots.writeAll(dir, base, results, families, ceilings, subtitle);
    }

    /** Markdown image link for a picture written next to the report ({@code ![gemm ...](base-gemm.png)}). */
    public static String markdownImage(String family, Path png) {
        return "![" + family + " against the ceilings](" + png.getFileName() + ")";
    }
}
