package io.kernels4j.bench;

import io.kernels4j.bench.report.PlotSupport;
import io.kernels4j.bench.report.ReportPlots;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** Draws the roofline pictures of bench JSON reports (needs a JDK with java.desktop; no GPU). */
@Command(name = "plot", mixinStandardHelpOptions = true,
        description = "Draw the per-family roofline PNGs of bench JSON reports next to them and link them from the Markdown.")
final class PlotCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "REPORT.json", description = "bench reports (JSON).")
    List<Path> reports;

    @Override
    public Integer call() throws Exception {
        if (!PlotSupport.isAvailable()) {
            System.err.println("kernels4j plot: this Java runtime has no java.desktop (AWT); run it with a full JDK");
            return 2;
        }
        for (Path r : reports)
            ReportPlots.draw(r).forEach((fam, png) -> System.out.println("plot: " + fam + " -> " + png));
        return 0;
    }
}
