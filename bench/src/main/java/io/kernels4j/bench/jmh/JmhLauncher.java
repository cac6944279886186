package io.kernels4j.bench.jmh;

import io.kernels4j.ops.Cuda;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the host-overhead benchmarks: {@link HostOnlyBench} always, {@link GpuOverheadBench} and
 * {@link JCudaOverheadBench} only when a GPU is usable (otherwise one line says why they were
 * skipped). From the shaded jar: {@code java --enable-native-access=ALL-UNNAMED -cp kernels4j.jar
 * io.kernels4j.bench.jmh.JmhLauncher [--quick] [--json FILE]}; the standard JMH command line works
 * too ({@code java -cp kernels4j.jar org.openjdk.jmh.Main HostOnlyBench}).
 */
public final class JmhLauncher {
    private JmhLauncher() {}

    /** Benchmark class-name patterns to run: host-only always, GPU ones when {@code gpu}. */
    public static List<String> includes(boolean gpu) {
        List<String> inc = new ArrayList<>();
        inc.add(HostOnlyBench.class.getName());
        if (gpu) {
            inc.add(GpuOverheadBench.class.getName());
            inc.add(JCudaOverheadBench.class.getName());
        }
        return inc;
    }

    /**
     * JMH options. {@code quick}: 1 fork, 1 warm-up and 2 measured iterations of 100 ms (a smoke
     * run: numbers are indicative only); otherwise 2 forks, 3 x 1 s warm-up, 5 x 1 s measured. No fork
     * where a forked JVM could not find JMH ({@link #forkable}).
     */
    public static ChainedOptionsBuilder options(boolean quick, boolean gpu) {
        ChainedOptionsBuilder b = new OptionsBuilder()
                .jvmArgsAppend("--enable-native-access=ALL-UNNAMED")
                .shouldFailOnError(true);
        for (String inc : includes(gpu)) b.include("^" + inc.replace(".", "\\.") + "\\.");
        int forks = forkable() ? (quick ? 1 : 2) : 0;
        if (forks == 0)
            System.err.println("JMH: benchmarks run in this JVM (no fork): JMH is not on the system class path here");
        if (quick) {
            b.forks(forks).warmupIterations(1).warmupTime(TimeValue.milliseconds(100))
                    .measurementIterations(2).measurementTime(TimeValue.milliseconds(100));
        } else {
            b.forks(forks).warmupIterations(3).warmupTime(TimeValue.seconds(1))
                    .measurementIterations(5).measurementTime(TimeValue.seconds(1));
        }
        return b;
    }

    /**
     * Whether a forked JVM can start JMH: it gets this JVM's {@code java.class.path}, which holds JMH
     * under Maven and {@code java -cp}, but not under a launcher that loads the test class path in
     * its own class loader (the bundle's JUnit console launcher); there the run stays in this JVM.
     */
    static boolean forkable() {
        return ClassLoader.getSystemClassLoader().getResource("org/openjdk/jmh/runner/ForkedMain.class") != null;
    }

    /** Runs and returns JMH's results; writes JMH's JSON to {@code jsonOut} when not null. */
    public static Collection<RunResult> run(boolean quick, Path jsonOut) throws RunnerException {
        boolean gpu = Cuda.isAvailable();
        if (!gpu) System.err.println("GPU host-overhead benchmarks skipped: no CUDA GPU available: " + Cuda.availability().reason());
        ChainedOptionsBuilder b = options(quick, gpu);
        if (jsonOut != null) b.resultFormat(ResultFormatType.JSON).result(jsonOut.toString());
        return new Runner(b.build()).run();
    }

    public static void main(String[] args) throws RunnerException {
        boolean quick = false;
        Path json = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--json" -> json = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (expected --quick, --json FILE)");
            }
        }
        run(quick, json);
    }
}
