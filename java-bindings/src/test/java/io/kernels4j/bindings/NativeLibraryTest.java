package io.kernels4j.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loader: loads from the class path here, reports where from, honours
 * {@code -Dkernels4j.library.path}, and names every place it tried when all fail (checked in child
 * JVMs, since a JVM loads the library once).
 */
class NativeLibraryTest {

    @Test
    void loadsAndSaysWhereFrom() {
        NativeLibrary.load();
        NativeLibrary.load(); // idempotent
        String from = NativeLibrary.loadedFrom();
        assertNotNull(from);
        assertTrue(from.contains(NativeLibrary.RESOURCE) || from.contains(NativeLibrary.FILE_NAME)
                || from.equals("java.library.path"), "loadedFrom: " + from);
        assertTrue(NativeLibrary.lookup().find("k4j_abi_version").isPresent(), "k4j_abi_version through lookup()");
        assertTrue(NativeLibrary.lookup().find("cudaGetDeviceCount").isPresent(), "the CUDA runtime is exported too");
    }

    @Test
    void unknownSymbolNamesTheSymbolAndTheLibrary() {
        UnsatisfiedLinkError e = org.junit.jupiter.api.Assertions.assertThrows(UnsatisfiedLinkError.class,
                () -> Downcalls.handle("k4j_no_such_symbol", java.lang.foreign.FunctionDescriptor.ofVoid()));
        assertTrue(e.getMessage().contains("k4j_no_such_symbol") && e.getMessage().contains(NativeLibrary.loadedFrom()), e.getMessage());
    }

    private record Child(int exit, String out, String err) {}

    private static Path location(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    /** Runs {@link LoaderProbe} in a child JVM with the given class path and system properties. */
    private static Child runProbe(List<Path> classPath, String... props) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(List.of(props));
        cmd.add("-cp");
        cmd.add(String.join(File.pathSeparator, classPath.stream().map(Path::toString).toList()));
        cmd.add(LoaderProbe.class.getName());
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM did not finish in 60 s: " + cmd);
        }
        return new Child(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    /** The bindings' classes without the native resource: a copy of the io/kernels4j/bindings class files. */
    private static Path classesWithoutLibrary(Path tmp) throws Exception {
        Path classes = location(NativeLibrary.class);
        Path out = tmp.resolve("classes");
        Path pkg = Path.of("io", "kernels4j", "bindings");
        Files.createDirectories(out.resolve(pkg));
        if (Files.isDirectory(classes)) {
            try (Stream<Path> files = Files.list(classes.resolve(pkg))) {
                for (Path f : files.filter(f -> f.toString().endsWith(".class")).toList())
                    Files.copy(f, out.resolve(pkg).resolve(f.getFileName()));
            }
        } else {
            try (var jar = new java.util.jar.JarFile(classes.toFile())) {
                for (var e : java.util.Collections.list(jar.entries())) {
                    String n = e.getName();
                    if (n.startsWith("io/kernels4j/bindings/") && n.indexOf('/', "io/kernels4j/bindings/".length()) < 0 && n.endsWith(".class"))
                        try (var in = jar.getInputStream(e)) {
                            Files.copy(in, out.resolve(n));
                        }
                }
            }
        }
        return out;
    }

    @Test
    void failureListsEveryAttemptIncludingABadLibraryPath(@TempDir Path tmp) throws Exception {
        Path classes = classesWithoutLibrary(tmp);
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        String bad = tmp.resolve("nowhere").resolve("libkernels4j.so").toString();
        Child c = runProbe(List.of(classes, location(LoaderProbe.class)),
                "-D" + NativeLibrary.PATH_PROPERTY + "=" + bad, "-Djava.library.path=" + empty);
        assertEquals(3, c.exit(), "expected the load to fail; stdout: " + c.out() + " stderr: " + c.err());
        String err = c.err();
        assertTrue(err.contains("could not load libkernels4j.so; tried:"), err);
        assertTrue(err.contains("-D" + NativeLibrary.PATH_PROPERTY + "=" + bad + ": "), "attempt 1 (property) missing: " + err);
        assertTrue(err.contains("class-path resource " + NativeLibrary.RESOURCE + ": not found"), "attempt 2 (resource) missing: " + err);
        assertTrue(err.contains("System.loadLibrary(\"kernels4j\") with java.library.path=" + empty), "attempt 3 (system) missing: " + err);
    }

    @Test
    void unsetPropertyIsReportedAsNotSet(@TempDir Path tmp) throws Exception {
        Path classes = classesWithoutLibrary(tmp);
        Child c = runProbe(List.of(classes, location(LoaderProbe.class)), "-Djava.library.path=" + tmp);
        assertEquals(3, c.exit(), c.out() + c.err());
        assertTrue(c.err().contains("-D" + NativeLibrary.PATH_PROPERTY + ": not set"), c.err());
    }

    @Test
    void libraryPathPropertyIsUsedFirst(@TempDir Path tmp) throws Exception {
        // Copy the library this JVM uses (the property's file, else the class-path resource) to a
        // new directory and point the property at that directory.
        Path dir = Files.createDirectories(tmp.resolve("lib"));
        String prop = System.getProperty(NativeLibrary.PATH_PROPERTY);
        Path current = prop == null ? null : Files.isDirectory(Path.of(prop)) ? Path.of(prop, NativeLibrary.FILE_NAME) : Path.of(prop);
        if (current != null && Files.isRegularFile(current)) {
            Files.copy(current, dir.resolve(NativeLibrary.FILE_NAME));
        } else {
            try (var in = NativeLibrary.class.getResourceAsStream(NativeLibrary.RESOURCE)) {
                assertNotNull(in, "the build puts " + NativeLibrary.RESOURCE + " on the class path");
                Files.copy(in, dir.resolve(NativeLibrary.FILE_NAME));
            }
        }
        Path classes = classesWithoutLibrary(tmp);
        Child c = runProbe(List.of(classes, location(LoaderProbe.class)), "-D" + NativeLibrary.PATH_PROPERTY + "=" + dir);
        assertEquals(0, c.exit(), c.out() + c.err());
        assertTrue(c.out().contains("loaded from " + dir.resolve(NativeLibrary.FILE_NAME).toAbsolutePath()), c.out());
        assertTrue(c.out().contains("abi " + Kernels4jNative.EXPECTED_ABI_VERSION), c.out());
    }
}
