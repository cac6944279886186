package io.kernels4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kernels4j.bench.dump.PeerDump;
import io.kernels4j.bench.report.ReportWriter;
import io.kernels4j.bench.report.RunInfo;
import io.kernels4j.ops.Cuda;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.Stream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs one representative case per op and writes its inputs and outputs as .npy files for bin/torch-peer.py. */
@Command(name = "dump", mixinStandardHelpOptions = true,
        description = "Run one representative case per op on the GPU and write inputs and outputs (.npy) with a"
                + " manifest.json, for the PyTorch peer check (bin/torch-peer.py).",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:every case dumped", "1:a case failed to run", "2:no GPU, bad usage, or an --out that cannot be written"})
final class DumpCommand implements Callable<Integer> {
    static final String MANIFEST = "manifest.json";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", description = "Folder for the .npy files and manifest.json (required unless --list).")
    Path out;

    @Option(names = "--filter", paramLabel = "REGEX", description = "Only cases whose 'name op' label matches.")
    String filter;

    @Option(names = "--seed", description = "Seed for the random inputs (default: fresh each run, recorded in the manifest).")
    Long seed;

    @Option(names = "--device", defaultValue = "0", description = "CUDA device ordinal (default: ${DEFAULT-VALUE}).")
    int deviceOrdinal;

    @Option(names = "--list", description = "List the cases and exit (needs no GPU).")
    boolean list;

    @Override
    public Integer call() throws Exception {
        CommandLine cmd = spec.commandLine();
        Pattern p = Selection.filter(filter, cmd);
        List<PeerDump.Case> cases = PeerDump.cases().stream()
                .filter(c -> p == null || p.matcher(c.name() + " " + c.op()).find()).toList();
        if (list) {
            cases.forEach(c -> System.out.println(c.name() + "\t" + c.op()));
            System.err.println(cases.size() + " cases"); // stdout holds only the case lines
            return 0;
        }
        if (out == null) throw new CommandLine.ParameterException(cmd, "--out: required (the folder for the dump)");
        if (cases.isEmpty()) {
            System.err.println("kernels4j dump: no case matches --filter " + filter);
            return 2;
        }
        var a = Cuda.availability();
        if (!a.available()) {
            System.err.println("kernels4j dump: no CUDA GPU found (" + a.reason() + "); nothing was run");
            return 2;
        }
        Files.createDirectories(out);
        Device device = Device.get(deviceOrdinal);
        RunInfo info = RunInfo.collect(device);
        long baseSeed = seed != null ? seed : System.nanoTime();
        ObjectNode json = ReportWriter.header("peer-dump", info);
        json.put("format", 1);
        json.put("seed", baseSeed);
        ArrayNode arr = (ArrayNode) json.get("cases");
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        int failed = 0;
        try (Stream stream = Stream.create(device)) {
            for (int i = 0; i < cases.size(); i++) {
                PeerDump.Case c = cases.get(i);
                long caseSeed = baseSeed + 0x9E3779B97F4A7C15L * (i + 1);
                ObjectNode node = arr.addObject();
                node.put("name", c.name());
                node.put("op", c.op());
                node.put("seed", caseSeed);
                long t0 = System.nanoTime();
                try {
                    c.run(device, stream, caseSeed, new PeerDump.Sink(out, c.name(), node));
                    node.put("ok", true);
                } catch (Exception | AssertionError e) {
                    failed++;
                    node.put("ok", false);
                    node.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
                }
                System.out.printf(Locale.ROOT, "[%d/%d] %s (%s): %s (%.1f s)%n", i + 1, cases.size(), c.name(), c.op(),
                        node.get("ok").asBoolean() ? "dumped" : "FAILED " + node.get("error").asText(), (System.nanoTime() - t0) / 1e9);
                // Rewritten after every case: a run cut short still leaves a readable manifest.
                mapper.writeValue(out.resolve(MANIFEST).toFile(), json);
            }
        }
        System.out.println("dump: " + (cases.size() - failed) + " of " + cases.size() + " cases in " + out.resolve(MANIFEST));
        return failed == 0 ? 0 : 1;
    }
}
