package io.kernels4j.bench;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Pattern;
import picocli.CommandLine;

/** Family and case selection shared by {@code check} and {@code bench}. */
final class Selection {
    private Selection() {}

    /** The options both commands take (a picocli mixin). */
    static final class Options {
        @CommandLine.Parameters(arity = "0..*", paramLabel = "FAMILY",
                description = "Families to run (default: all), e.g. gemm mla moe.")
        List<String> families = new java.util.ArrayList<>();

        @CommandLine.Option(names = "--out", defaultValue = "bench/results", description = "Report folder (default: ${DEFAULT-VALUE}).")
        java.nio.file.Path out;

        @CommandLine.Option(names = "--filter", paramLabel = "REGEX", description = "Only cases whose 'op case' label matches.")
        String filter;

        @CommandLine.Option(names = "--device", defaultValue = "0", description = "CUDA device ordinal (default: ${DEFAULT-VALUE}).")
        int deviceOrdinal;

        @CommandLine.Option(names = "--list", description = "List the cases and exit (needs no GPU).")
        boolean list;
    }

    /** Keeps the items whose family is in {@code families} (all when empty); unknown names are a usage error. */
    static <T> List<T> byFamily(List<T> all, List<String> families, Function<T, String> family, CommandLine cmd) {
        Set<String> known = new TreeSet<>();
        all.forEach(s -> known.add(family.apply(s)));
        if (families == null || families.isEmpty()) return all;
        for (String f : families)
            if (!known.contains(f))
                throw new CommandLine.ParameterException(cmd, "unknown family '" + f + "'; known: " + known);
        return all.stream().filter(s -> families.contains(family.apply(s))).toList();
    }

    static Pattern filter(String regex, CommandLine cmd) {
        if (regex == null) return null;
        try {
            return Pattern.compile(regex);
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new CommandLine.ParameterException(cmd, "--filter: bad regular expression: " + e.getDescription());
        }
    }

    static String scope(List<String> families) {
        return families == null || families.isEmpty() ? "all" : String.join("+", families);
    }
}
