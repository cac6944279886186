package io.kernels4j.bindings;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the {@code #define}s of the C headers in {@code native/include} (for ABI self-checks). Only
 * the forms the header uses are understood: integers ({@code 1}, {@code (-1)}, {@code (1u << 2)})
 * and string literals; anything else is kept as text.
 */
public final class HeaderDefines {
    private static final Pattern DEFINE = Pattern.compile("^\\s*#\\s*define\\s+(\\w+)(?:\\s+(.*?))?\\s*$");
    private static final Pattern SHIFT = Pattern.compile("(-?\\d+)\\s*<<\\s*(\\d+)");

    private HeaderDefines() {}

    /**
     * {@code native/include}: the directory of {@code -Dkernels4j.header} when set (the GPU bundle's
     * run-tests sets it), else found from the module directory (Maven runs tests there) or the
     * repository root.
     */
    public static Path includeDir() {
        String header = System.getProperty("kernels4j.header");
        if (header != null && Files.isRegularFile(Path.of(header))) return Path.of(header).toAbsolutePath().getParent();
        for (String candidate : new String[] {"../native/include", "native/include"}) {
            Path p = Path.of(candidate);
            if (Files.isRegularFile(p.resolve("kernels4j.h"))) return p;
        }
        String basedir = System.getProperty("basedir");
        if (basedir != null && Files.isRegularFile(Path.of(basedir, "../native/include/kernels4j.h")))
            return Path.of(basedir, "../native/include");
        throw new IllegalStateException("native/include/kernels4j.h not found from " + Path.of("").toAbsolutePath());
    }

    public static String read(Path header) {
        try {
            return Files.readString(header);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The source without comments (block and line), so that words in comments are not seen as code. */
    public static String stripComments(String src) {
        return src.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
    }

    /** Every object-like {@code #define NAME value}, in order; values as written (comments removed). */
    public static Map<String, String> defines(String src) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : stripComments(src).split("\\R")) {
            Matcher m = DEFINE.matcher(line);
            if (m.matches() && !m.group(1).contains("(")) out.put(m.group(1), m.group(2) == null ? "" : m.group(2).trim());
        }
        return out;
    }

    /** The integer value of a define's text, or null if it is not a plain integer expression. */
    public static Long intValue(String text) {
        String t = text.trim();
        while (t.startsWith("(") && t.endsWith(")")) t = t.substring(1, t.length() - 1).trim();
        t = t.replaceAll("(?<=\\d)[uUlL]+", "");
        Matcher s = SHIFT.matcher(t);
        if (s.matches()) return Long.parseLong(s.group(1)) << Integer.parseInt(s.group(2));
        try {
            return Long.decode(t);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The content of a string-literal define, or null. */
    public static String stringValue(String text) {
        String t = text.trim();
        return t.length() >= 2 && t.startsWith("\"") && t.endsWith("\"") ? t.substring(1, t.length() - 1) : null;
    }
}
