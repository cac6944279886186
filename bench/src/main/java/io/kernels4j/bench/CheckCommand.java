package io.kernels4j.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kernels4j.bench.report.ProgressiveReport;
import io.kernels4j.bench.report.ReportWriter;
import io.kernels4j.bench.report.RunInfo;
import io.kernels4j.ops.Cuda;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.Stream;
import io.kernels4j.validation.CheckCase;
import io.kernels4j.validation.CheckContext;
import io.kernels4j.validation.CheckResult;
import io.kernels4j.validation.CheckSuite;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs the registered op checks on the GPU and writes a JSON + Markdown report. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Run every registered op check (op vs FP64 reference) on the GPU and write a report.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:all checks passed", "1:a check failed", "2:no GPU, bad usage, or an --out that cannot be written"})
final class CheckCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    Selection.Options sel;

    @Option(names = "--seed", description = "Seed for the random inputs (default: fresh each run, printed).")
    Long seed;


    @Override
    public Integer call() throws Exception {
        CommandLine cmd = spec.commandLine();
        List<CheckSuite> suites = Selection.byFamily(CheckSuite.all(), sel.families, CheckSuite::family, cmd);
        Pattern p = Selection.filter(sel.filter, cmd);
        List<String[]> labels = new ArrayList<>();
        List<CheckCase> cases = new ArrayList<>();
        for (CheckSuite s : suites)
            for (CheckCase c : s.cases())
                if (p == null || p.matcher(c.op() + " " + c.name()).find()) {
                    cases.add(c);
                    labels.add(new String[] {s.family(), c.op(), c.name()});
                }
        if (sel.list) {
            labels.forEach(l -> System.out.println(l[0] + "\t" + l[1] + "\t" + l[2]));
            System.err.println(cases.size() + " cases"); // stdout holds only the case lines
            return 0;
        }
        var a = Cuda.availability();
        if (!a.available()) {
            System.err.println("kernels4j check: no CUDA GPU found (" + a.reason() + "); nothing was run");
            return 2;
        }
        if (cases.isEmpty()) {
            System.err.println("kernels4j check: no check cases registered" + (p == null ? "" : " match --filter " + sel.filter));
            return 2;
        }
        Device device = Device.get(sel.deviceOrdinal);
        RunInfo info = RunInfo.collect(device);
        long baseSeed = seed != null ? seed : System.nanoTime();
        System.out.println("kernels4j check on " + device + ", " + cases.size() + " cases, seed " + baseSeed);

        ObjectNode json = ReportWriter.header("check", info);
        json.put("seed", baseSeed);
        // Rewritten after every case: a run cut short keeps every case it finished.
        ProgressiveReport report = new ProgressiveReport(sel.out,
                ReportWriter.baseName("check", Selection.scope(sel.families), info), json, cases.size());
        ArrayNode arr = report.cases();
        StringBuilder md = new StringBuilder("# kernels4j check\n\n").append(info.markdownHeader())
                .append("- Seed: ").append(baseSeed).append("\n\n")
                .append("| family | op | case | result | seconds | metrics |\n|---|---|---|---|---|---|\n");
        int passed = 0, failed = 0;
        json.put("passed", passed);
        json.put("failed", failed);
        report.update(md.toString());
        long t0 = System.nanoTime();
        try (Stream stream = Stream.create(device)) {
            for (int i = 0; i < cases.size(); i++) {
                CheckCase c = cases.get(i);
                long caseSeed = baseSeed + 0x9E3779B97F4A7C15L * (i + 1);
                long s0 = System.nanoTime();
                CheckResult r;
                try {
                    r = c.run(new CheckContext(device, stream, caseSeed));
                } catch (Exception | AssertionError e) {
                    r = new CheckResult(false, Map.of(), e.getClass().getSimpleName() + ": " + e.getMessage());
                    try {
                        stream.synchronize();
                    } catch (RuntimeException sticky) {
                        // A sticky CUDA error poisons the context: later cases cannot run meaningfully.
                        r = new CheckResult(false, Map.of(), r.message() + "; CUDA context lost: " + sticky.getMessage());
                    }
                }
                double secs = (System.nanoTime() - s0) / 1e9;
                if (r.passed()) passed++;
                else failed++;
                System.out.printf(Locale.ROOT, "[%d/%d] %s %s: %s (%.1f s)%s%n", i + 1, cases.size(), c.op(), c.name(),
                        r.passed() ? "PASS" : "FAIL", secs, r.passed() ? "" : " " + r.message());
                ObjectNode o = arr.addObject();
                o.put("family", labels.get(i)[0]);
                o.put("op", c.op());
                o.put("case", c.name());
                o.put("passed", r.passed());
                o.put("message", r.message());
                o.put("seed", caseSeed);
                o.put("seconds", secs);
                ReportWriter.put(o, "metrics", r.metrics());
                md.append("| ").append(labels.get(i)[0]).append(" | ").append(c.op()).append(" | ").append(c.name())
                        .append(" | ").append(r.passed() ? "pass" : "**FAIL**: " + r.message().replace("|", "/"))
                        .append(" | ").append(ReportWriter.fmt(secs)).append(" | ").append(metricsText(r.metrics())).append(" |\n");
                json.put("passed", passed);
                json.put("failed", failed);
                report.update(md.toString());
            }
        }
        json.put("passed", passed);
        json.put("failed", failed);
        md.append("\n").append(passed).append(" passed, ").append(failed).append(" failed\n");
        List<Path> files = report.finish(md.toString());
        System.out.printf(Locale.ROOT, "check: %d passed, %d failed in %.0f s; report: %s, %s%n", passed, failed,
                (System.nanoTime() - t0) / 1e9, files.get(0), files.get(1));
        return failed == 0 ? 0 : 1;
    }

    static String metricsText(Map<String, Object> m) {
        StringBuilder sb = new StringBuilder();
        m.forEach((k, v) -> {
            if (!sb.isEmpty()) sb.append(", ");
            sb.append(k).append('=').append(v instanceof Double d ? ReportWriter.fmt(d) : v instanceof Float f
                    ? ReportWriter.fmt(f) : String.valueOf(v));
        });
        return sb.toString().replace("|", "/");
    }
}
