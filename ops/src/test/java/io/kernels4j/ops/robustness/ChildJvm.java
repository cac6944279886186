package io.kernels4j.ops.robustness;

import java.io.File;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class in a fresh JVM with this JVM's class path, under Maven (java.class.path) and
 * under the JUnit console launcher of the bundle (whose --class-path lives in a URLClassLoader).
 */
public final class ChildJvm {
    /** Exit code (or -1 when killed after the timeout) and the merged output. */
    public record Result(int exitCode, boolean timedOut, String output) {}

    private ChildJvm() {}

    public static String classPath() {
        Set<String> entries = new LinkedHashSet<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) if (!e.isBlank()) entries.add(e);
        for (ClassLoader cl = Thread.currentThread().getContextClassLoader(); cl != null; cl = cl.getParent()) {
            if (cl instanceof URLClassLoader u) {
                for (URL url : u.getURLs()) {
                    try {
                        if ("file".equals(url.getProtocol())) entries.add(Path.of(url.toURI()).toString());
                    } catch (URISyntaxException ignored) {
                        // not a file entry: skip
                    }
                }
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    public static Result run(Class<?> main, long timeoutSeconds, String... jvmArgs) throws Exception {
        return runWithClassPath(main, timeoutSeconds, classPath(), jvmArgs);
    }

    /** {@link #run} with a given class path (e.g. one that hides the native library). */
    public static Result runWithClassPath(Class<?> main, long timeoutSeconds, String classPath, String... jvmArgs)
            throws Exception {
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
        // Every kernels4j.* setting of this JVM (library path, seed, the emulated device's switches).
        for (String p : System.getProperties().stringPropertyNames())
            if (p.startsWith("kernels4j.")) cmd.add("-D" + p + "=" + System.getProperty(p));
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("-cp", classPath, main.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        // Drain output while waiting, so a chatty child cannot block on a full pipe.
        StringBuilder out = new StringBuilder();
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try {
                out.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (java.io.IOException ignored) {
                // process killed
            }
        });
        boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        reader.join(10_000);
        synchronized (out) {
            return new Result(done ? p.exitValue() : -1, !done, out.toString());
        }
    }
}
