package io.kernels4j.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kernels4j.bench.report.PlotSupport;
import io.kernels4j.bench.report.ProgressiveReport;
import io.kernels4j.bench.report.ReportWriter;
import io.kernels4j.bench.report.RunInfo;
import io.kernels4j.ops.Cuda;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.Kernels4j;
import io.kernels4j.ops.Stream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs the registered benchmarks and writes a JSON + Markdown report (docs/CONTRACT.md section 5 rules). */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time the registered benchmarks (CUDA events, L2 flushed, median of >= 30 runs) and write a report.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "1:a benchmark failed", "2:no GPU, bad usage, or an --out that cannot be written"})
final class BenchCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    Selection.Options sel;

    @Option(names = "--runs", defaultValue = "30", description = "Timed runs per case, at least 30 for reports (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--warmup", defaultValue = "5", description = "Untimed runs first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--quick", description = "Fewer shapes (a smoke run).")
    boolean quick;

    @Option(names = "--no-flush", description = "Do not flush L2 between runs (not for reports).")
    boolean noFlush;


    @Option(names = "--allow-emulated",
            description = "Run on the kernels4j CPU emulator (-Dkernels4j.device=emulator); every figure is then labelled emulated.")
    boolean allowEmulated;

    /** The Markdown banner of a report timed on the CPU emulator. */
    static final String EMULATED_BANNER = "> **EMULATED DEVICE: times are CPU emulation, not GPU results.**\n";

    @Option(names = "--cublaslt", paramLabel = "PATH",
            description = "libcublasLt.so (or its folder) for the GEMM peer columns (default: search, see bench/NOTES.md).")
    Path cublasLt;

    @Override
    public Integer call() throws Exception {
        CommandLine cmd = spec.commandLine();
        if (runs < 1) throw new CommandLine.ParameterException(cmd, "--runs: must be >= 1, got " + runs);
        if (warmup < 0) throw new CommandLine.ParameterException(cmd, "--warmup: must be >= 0, got " + warmup);
        BenchOptions options = new BenchOptions(runs, warmup, quick, !noFlush);
        List<BenchSuite> suites = Selection.byFamily(BenchSuite.all(), sel.families, BenchSuite::family, cmd);
        Pattern p = Selection.filter(sel.filter, cmd);
        List<BenchCase> cases = new ArrayList<>();
        List<String> fams = new ArrayList<>();
        for (BenchSuite s : suites)
            for (BenchCase c : s.cases(options))
                if (p == null || p.matcher(c.op() + " " + c.name()).find()) {
                    cases.add(c);
                    fams.add(s.family());
                }
        if (sel.list) {
            for (int i = 0; i < cases.size(); i++)
                System.out.println(fams.get(i) + "\t" + cases.get(i).op() + "\t" + cases.get(i).name());
            System.err.println(cases.size() + " cases"); // stdout holds only the case lines
            return 0;
        }
        var a = Cuda.availability();
        if (!a.available()) {
            System.err.println("kernels4j bench: no CUDA GPU found (" + a.reason() + "); nothing was run");
            return 2;
        }
        boolean emulated = a.emulated();
        if (emulated && !allowEmulated) {
            System.err.println("kernels4j bench: the device is the kernels4j CPU emulator (" + Kernels4j.emulatorDescription()
                    + "): its times are CPU emulation, not GPU results; nothing was run. Pass --allow-emulated to time it"
                    + " anyway (every figure is then labelled emulated), or use a GPU.");
            return 2;
        }
        if (cases.isEmpty()) {
            System.err.println("kernels4j bench: no benchmark cases registered" + (p == null ? "" : " match --filter " + sel.filter));
            return 2;
        }
        if (cublasLt != null) System.setProperty(io.kernels4j.bench.cublas.CublasLt.PROPERTY, cublasLt.toString());
        if (runs < 30) System.out.println("note: --runs " + runs + " is below the 30 runs docs/CONTRACT.md section 5 asks of reported numbers");
        Device device = Device.get(sel.deviceOrdinal);
        RunInfo info = RunInfo.collect(device);
        long seed = System.nanoTime();
        System.out.println("kernels4j bench on " + device + ", " + cases.size() + " cases, " + runs + " runs each");
        if (emulated) System.out.println("EMULATED DEVICE: times are CPU emulation, not GPU results");

        ObjectNode json = ReportWriter.header("bench", info);
        json.put("runs", runs);
        json.put("warmup", warmup);
        json.put("l2Flush", !noFlush);
        json.put("emulated", emulated);
        String base = ReportWriter.baseName("bench", Selection.scope(sel.families), info);
        // Rewritten after every case (pictures only at the end): a run cut short keeps every case it finished.
        ProgressiveReport report = new ProgressiveReport(sel.out, base, json, cases.size());
        ArrayNode arr = report.cases();
        List<BenchResult> results = new ArrayList<>();
        List<String> resultFamilies = new ArrayList<>();
        int failed = 0;
        Ceilings ceilings;
        try (Stream stream = Stream.create(device); KernelTimer timer = new KernelTimer(device, stream, options)) {
            ceilings = Ceilings.measure(device, stream, timer);
            System.out.printf(Locale.ROOT, "ceilings: D2D copy %.0f GB/s (measured)%s%n", ceilings.copyBytesPerSec() / 1e9,
                    ceilings.datasheet().map(d -> String.format(Locale.ROOT, ", FP8 %.0f / BF16 %.0f TFLOP/s (datasheet, %s)",
                            d.fp8Flops() / 1e12, d.bf16Flops() / 1e12, d.product())).orElse(", no datasheet peaks for this device"));
            ReportWriter.put(json, "ceilings", ceilings.toMap());
            report.update(markdown(info, results, resultFamilies, ceilings, Map.of(), emulated));
            BenchContext ctx = new BenchContext(device, stream, timer, options, seed);
            for (int i = 0; i < cases.size(); i++) {
                BenchCase c = cases.get(i);
                try {
                    BenchResult r = c.run(ctx);
                    results.add(r);
                    resultFamilies.add(fams.get(i));
                    System.out.printf(Locale.ROOT, (emulated ? "[emulated] " : "") + "[%d/%d] %-28s %-34s %9.4f ms  (p10-p90 %.4f-%.4f)  %8.1f TFLOPS  %8.1f GB/s%n",
                            i + 1, cases.size(), c.op(), c.name(), r.timing().medianMs(), r.timing().p10Ms(), r.timing().p90Ms(),
                            r.tflops(), r.gbps());
                    ObjectNode o = arr.addObject();
                    o.put("family", fams.get(i));
                    o.put("op", r.op());
                    o.put("case", r.name());
                    o.put("medianMs", r.timing().medianMs());
                    o.put("p10Ms", r.timing().p10Ms());
                    o.put("p90Ms", r.timing().p90Ms());
                    o.put("minMs", r.timing().minMs());
                    o.put("maxMs", r.timing().maxMs());
                    o.put("runs", r.timing().runs());
                    o.put("flops", r.flops());
                    o.put("bytes", r.bytes());
                    o.put("tflops", r.tflops());
                    o.put("gbps", r.gbps());
                    if (emulated) o.put("emulated", true);
                    ReportWriter.put(o, "extra", r.extra());
                } catch (Exception | AssertionError e) {
                    failed++;
                    System.out.printf(Locale.ROOT, "[%d/%d] %s %s: FAILED %s%n", i + 1, cases.size(), c.op(), c.name(), e);
                    ObjectNode o = arr.addObject();
                    o.put("family", fams.get(i));
                    o.put("op", c.op());
                    o.put("case", c.name());
                    o.put("error", String.valueOf(e));
                }
                report.update(markdown(info, results, resultFamilies, ceilings, Map.of(), emulated));
            }
        }
        Map<String, Path> pngs = PlotSupport.writeAll(sel.out, base, results, resultFamilies, ceilings, info.device() + ", " + info.date());
        List<Path> files = report.finish(markdown(info, results, resultFamilies, ceilings, pngs, emulated));
        System.out.println("bench: " + results.size() + " done, " + failed + " failed; report: " + files.get(0) + ", " + files.get(1));
        return failed == 0 ? 0 : 1;
    }

    /** The Markdown report: header, ceilings, one table per family with its picture (from {@code pngs}) when drawn. */
    static String markdown(RunInfo info, List<BenchResult> results, List<String> fams, Ceilings ceilings, Map<String, Path> pngs,
                           boolean emulated) {
        String md = markdown(info, results, fams, emulated);
        int firstSection = md.indexOf("\n## ");
        md = firstSection < 0 ? md + ceilings.markdown()
                : md.substring(0, firstSection + 1) + ceilings.markdown() + md.substring(firstSection + 1);
        for (var e : pngs.entrySet())
            md = md.replace("## " + e.getKey() + "\n\n", "## " + e.getKey() + "\n\n" + PlotSupport.markdownImage(e.getKey(), e.getValue()) + "\n\n");
        return md;
    }

    static String markdown(RunInfo info, List<BenchResult> results, List<String> fams, boolean emulated) {
        StringBuilder md = new StringBuilder("# kernels4j bench\n\n");
        if (emulated) md.append(EMULATED_BANNER).append('\n');
        md.append(info.markdownHeader()).append('\n');
        Map<String, List<Integer>> byFamily = new LinkedHashMap<>();
        for (int i = 0; i < results.size(); i++) byFamily.computeIfAbsent(fams.get(i), k -> new ArrayList<>()).add(i);
        byFamily.forEach((fam, idx) -> {
            md.append("## ").append(fam).append("\n\n").append(emulated ? EMULATED_BANNER + "\n" : "").append("| op | case | median ms | p10-p90 ms | TFLOPS | GB/s | extra |\n|---|---|---|---|---|---|---|\n");
            for (int i : idx) {
                BenchResult r = results.get(i);
                md.append("| ").append(r.op()).append(" | ").append(r.name()).append(" | ").append(ReportWriter.fmt(r.timing().medianMs()))
                        .append(" | ").append(ReportWriter.fmt(r.timing().p10Ms())).append('-').append(ReportWriter.fmt(r.timing().p90Ms()))
                        .append(" | ").append(ReportWriter.fmt(r.tflops())).append(" | ").append(ReportWriter.fmt(r.gbps()))
                        .append(" | ").append(CheckCommand.metricsText(r.extra())).append(" |\n");
            }
            md.append('\n');
        });
        return md.toString();
    }
}
