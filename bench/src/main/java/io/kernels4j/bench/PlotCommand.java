package io.kernels4j.bench;

import io.kernels4j.bench.report.PlotSupport;
import io.kernels4j.bench.report.ReportPlots;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** Draws the roofline pictures of bench JSON reports (needs a JDK with java.desktop; no GPU). */
@Command(name = "plot", mixinStandardHelpOptions = true,
        description = "Draw the per-family roofline PNGs of bench JSON reports next to them and link them from the Markdown.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "2:a report is missing, unreadable or not a bench report, no java.desktop, or bad usage"})
final class PlotCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "REPORT.json", description = "bench reports (JSON).")
    List<Path> reports;

    @Override
    public Integer call() throws Exception {
        if (!PlotSupport.isAvailable()) {
            System.err.println("kernels4j plot: this Java runtime has no java.desktop (AWT); run it with a full JDK");
            return 2;
        }
        // Every report is read before anything is drawn: a bad one is a one-line user error, not a stack trace.
        for (Path r : reports) {
            String problem = !Files.exists(r) ? "no such file"
                    : !Files.isRegularFile(r) ? "not a file"
                    : !Files.isReadable(r) ? "not readable" : null;
            if (problem == null) {
                try {
                    ReportPlots.read(r);
                } catch (ReportPlots.BadReportException e) {
                    problem = e.getMessage();
                }
            }
            if (problem != null) {
                System.err.println("kernels4j plot: " + r + ": " + problem);
                return 2;
            }
        }
        for (Path r : reports)
            ReportPlots.draw(r).forEach((fam, png) -> System.out.println("plot: " + fam + " -> " + png));
        return 0;
    }
}
