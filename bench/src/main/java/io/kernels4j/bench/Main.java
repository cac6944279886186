package io.kernels4j.bench;

import io.kernels4j.bindings.Kernels4jNative;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
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
        return new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true)
                .setExecutionExceptionHandler(Main::fileError).execute(args);
    }

    /**
     * A report or dump that cannot be written (an --out that is a file, no permission, a full disk) is
     * a usage problem, not a crash: one line naming the path and the reason, exit code 2.
     */
    static int fileError(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) throws Exception {
        if (!(e instanceof IOException io)) throw e;
        String what = io instanceof FileSystemException fs && fs.getFile() != null
                ? fs.getFile() + (fs.getReason() != null ? ": " + fs.getReason() : "") : String.valueOf(io.getMessage());
        cmd.getErr().println("kernels4j " + cmd.getCommandName() + ": cannot write " + what
                + (io instanceof FileAlreadyExistsException ? " (exists and is not a directory)" : ""));
        return 2;
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
