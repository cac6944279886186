package io.kernels4j.bench;

import io.kernels4j.bindings.Kernels4jNative;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code kernels4j}: the command-line entry point (info, check, bench). */
@Command(name = "kernels4j", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "FP8 GEMM, MLA decoding and MoE kernels for the JVM: device info, correctness checks, benchmarks, peer dumps.",
        subcommands = {InfoCommand.class, CheckCommand.class, BenchCommand.class, DumpCommand.class, PlotCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (tests call this instead of main). */
    public static int run(String... args) {
        return new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"kernels4j " + Kernels4jNative.versionString()};
        }
    }
}
