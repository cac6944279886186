package io.kernels4j.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import java.util.Map;
import java.util.Optional;
import java.nio.file.attribute.FileTime;
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
    static final String RESOURCE = "/native/linux-x86_64/" + NativeLibrary.GPU_FILE_NAME;

    @Test
    void loadsAndSaysWhereFrom() {
        NativeLibrary.load();
        NativeLibrary.load(); // idempotent
        String from = NativeLibrary.loadedFrom();
        assertNotNull(from);
        assertTrue(from.contains(RESOURCE) || from.contains(NativeLibrary.GPU_FILE_NAME)
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

    /**
     * The class-path entry holding the native resource: target/classes in the Maven build, the
     * platform jar in the bundle (the bindings' own jar holds classes only).
     */
    private static Path nativeRoot() throws Exception {
        java.net.URL url = NativeLibraryTest.class.getClassLoader().getResource(RESOURCE.substring(1));
        assertNotNull(url, "the build puts " + RESOURCE + " on the class path");
        if ("jar".equals(url.getProtocol())) {
            String spec = url.getPath(); // file:/.../x.jar!/native/...
            return Path.of(new java.net.URI(spec.substring(0, spec.indexOf("!/"))));
        }
        Path file = Path.of(url.toURI());
        return file.getParent().getParent().getParent(); // <root>/native/<platform>/<file>
    }

    /** The bindings' classes and the native resource (wherever each lives), plus the probe. */
    private static List<Path> withLibrary() throws Exception {
        List<Path> cp = new ArrayList<>(List.of(location(NativeLibrary.class), location(LoaderProbe.class)));
        if (!cp.contains(nativeRoot())) cp.add(nativeRoot());
        return cp;
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
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove(NativeLibrary.DEVICE_ENV); // the selection comes from the properties given
        pb.environment().remove(NativeLibrary.EMULATOR_ARCH_ENV);
        Process p = pb.start();
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
        assertTrue(err.contains("NOT_LOADABLE: kernels4j: could not load libkernels4j.so; tried:"), err);
        assertTrue(err.contains("-D" + NativeLibrary.PATH_PROPERTY + "=" + bad + ": "), "attempt 1 (property) missing: " + err);
        assertTrue(err.contains("class-path resource " + RESOURCE + ": not found"), "attempt 2 (resource) missing: " + err);
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
        Path current = prop == null ? null : Files.isDirectory(Path.of(prop)) ? Path.of(prop, NativeLibrary.GPU_FILE_NAME) : Path.of(prop);
        if (current != null && Files.isRegularFile(current)) {
            Files.copy(current, dir.resolve(NativeLibrary.GPU_FILE_NAME));
        } else {
            try (var in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
                assertNotNull(in, "the build puts " + RESOURCE + " on the class path");
                Files.copy(in, dir.resolve(NativeLibrary.GPU_FILE_NAME));
            }
        }
        Path classes = classesWithoutLibrary(tmp);
        Child c = runProbe(List.of(classes, location(LoaderProbe.class)), "-D" + NativeLibrary.PATH_PROPERTY + "=" + dir);
        assertEquals(0, c.exit(), c.out() + c.err());
        assertTrue(c.out().contains("loaded from " + dir.resolve(NativeLibrary.GPU_FILE_NAME).toAbsolutePath()), c.out());
        assertTrue(c.out().contains("abi " + Kernels4jNative.EXPECTED_ABI_VERSION), c.out());
    }

    // ---- selection: GPU or emulator (never silently) ----

    private static NativeLibrary.Selection select(Map<String, String> props, Map<String, String> env) {
        return NativeLibrary.select(props::get, env::get);
    }

    @Test
    void gpuIsTheDefault() {
        NativeLibrary.Selection s = select(Map.of(), Map.of());
        assertFalse(s.emulated());
        assertEquals("libkernels4j.so", s.fileName());
        assertEquals("libkernels4j.so", select(Map.of(NativeLibrary.DEVICE_PROPERTY, "gpu"), Map.of()).fileName());
    }

    @Test
    void emulatorByPropertyOrEnvironmentWithArch() {
        NativeLibrary.Selection s = select(Map.of(NativeLibrary.DEVICE_PROPERTY, "emulator"), Map.of());
        assertTrue(s.emulated());
        assertEquals("sm_90", s.arch());
        assertEquals("libkernels4j-emu-sm90.so", s.fileName());
        assertEquals("-Dkernels4j.device=emulator", s.source());
        s = select(Map.of(), Map.of(NativeLibrary.DEVICE_ENV, "emulator", NativeLibrary.EMULATOR_ARCH_ENV, "sm_89"));
        assertEquals("libkernels4j-emu-sm89.so", s.fileName());
        assertEquals("KERNELS4J_DEVICE=emulator", s.source());
        s = select(Map.of(NativeLibrary.DEVICE_PROPERTY, "emulator", NativeLibrary.EMULATOR_ARCH_PROPERTY, "sm_80"),
                Map.of(NativeLibrary.EMULATOR_ARCH_ENV, "sm_89"));
        assertEquals("libkernels4j-emu-sm80.so", s.fileName(), "the property wins over the environment");
        // A set property wins over the environment, also when it says gpu.
        assertFalse(select(Map.of(NativeLibrary.DEVICE_PROPERTY, "gpu"), Map.of(NativeLibrary.DEVICE_ENV, "emulator")).emulated());
    }

    @Test
    void invalidSelectionIsAClearError() {
        NativeLibraryException e = assertThrows(NativeLibraryException.class,
                () -> select(Map.of(NativeLibrary.DEVICE_PROPERTY, "cpu"), Map.of()));
        assertEquals(NativeLibraryException.Reason.INVALID_CONFIGURATION, e.reason());
        assertTrue(e.getMessage().contains("-Dkernels4j.device=cpu") && e.getMessage().contains("gpu (the default) or emulator"),
                e.getMessage());
        e = assertThrows(NativeLibraryException.class, () -> select(Map.of(), Map.of(NativeLibrary.DEVICE_ENV, "tpu")));
        assertTrue(e.getMessage().contains("KERNELS4J_DEVICE=tpu"), e.getMessage());
        e = assertThrows(NativeLibraryException.class, () -> select(
                Map.of(NativeLibrary.DEVICE_PROPERTY, "emulator", NativeLibrary.EMULATOR_ARCH_PROPERTY, "sm_100"), Map.of()));
        assertTrue(e.getMessage().contains("-Dkernels4j.emulator.arch=sm_100") && e.getMessage().contains("sm_80, sm_89, sm_90"),
                e.getMessage());
    }

    @Test
    void platformDetection() {
        assertEquals(Optional.of("linux-x86_64"), NativeLibrary.platform("Linux", "amd64"));
        assertEquals(Optional.of("linux-x86_64"), NativeLibrary.platform("Linux", "x86_64"));
        assertEquals(Optional.of("linux-aarch64"), NativeLibrary.platform("Linux", "aarch64"));
        assertEquals(Optional.empty(), NativeLibrary.platform("Mac OS X", "aarch64"));
        assertEquals(Optional.empty(), NativeLibrary.platform("Windows 11", "amd64"));
        assertEquals(Optional.empty(), NativeLibrary.platform("Linux", "ppc64le"));
        assertEquals(Optional.empty(), NativeLibrary.platform(null, null));
    }

    @Test
    void missingEmulatorNamesTheFileAndTheSwitch(@TempDir Path tmp) throws Exception {
        Path classes = classesWithoutLibrary(tmp);
        Child c = runProbe(List.of(classes, location(LoaderProbe.class)), "-Dkernels4j.device=emulator",
                "-Dkernels4j.emulator.arch=sm_80", "-Djava.library.path=" + tmp);
        assertEquals(3, c.exit(), c.out() + c.err());
        assertTrue(c.err().startsWith("NOT_LOADABLE: kernels4j: could not load libkernels4j-emu-sm80.so (the CPU emulator,"
                + " selected by -Dkernels4j.device=emulator)"), c.err());
        assertTrue(c.err().contains("class-path resource /native/linux-x86_64/libkernels4j-emu-sm80.so: not found"), c.err());
        assertTrue(c.err().contains("System.loadLibrary(\"kernels4j-emu-sm80\")"), c.err());
        assertTrue(c.err().contains("unset kernels4j.device"), c.err());
    }

    @Test
    void theGpuLibraryIsNotTakenForTheEmulator(@TempDir Path tmp) throws Exception {
        Path lib = copyOfTheLibrary(Files.createDirectories(tmp.resolve("lib")));
        Path classes = classesWithoutLibrary(tmp);
        Child c = runProbe(List.of(classes, location(LoaderProbe.class)), "-Dkernels4j.device=emulator",
                "-D" + NativeLibrary.PATH_PROPERTY + "=" + lib);
        assertEquals(3, c.exit(), c.out() + c.err());
        assertTrue(c.err().startsWith("MISMATCH: ") && c.err().contains("is not the CPU emulator"), c.err());
    }

    @Test
    void invalidDeviceValueFailsTheLoad(@TempDir Path tmp) throws Exception {
        Child c = runProbe(withLibrary(), "-Dkernels4j.device=cuda");
        assertEquals(3, c.exit(), c.out() + c.err());
        assertTrue(c.err().startsWith("INVALID_CONFIGURATION: kernels4j: -Dkernels4j.device=cuda is not a device kind"), c.err());
    }

    @Test
    void unsupportedPlatformIsTyped(@TempDir Path tmp) throws Exception {
        Child c = runProbe(List.of(location(NativeLibrary.class), location(LoaderProbe.class)), "-Dos.arch=ppc64le",
                "-Djava.library.path=" + tmp);
        assertEquals(3, c.exit(), c.out() + c.err());
        assertTrue(c.err().startsWith("UNSUPPORTED_PLATFORM: kernels4j: unsupported platform os.name=Linux, os.arch=ppc64le"), c.err());
    }

    // ---- the extraction cache ----

    @Test
    void extractsOnceIntoTheCacheAndLeavesNothingInTmp(@TempDir Path tmp) throws Exception {
        Path cache = tmp.resolve("cache");
        Path tmpdir = Files.createDirectories(tmp.resolve("tmpdir"));
        List<Path> cp = withLibrary();
        String[] props = {"-D" + NativeLibrary.CACHE_DIR_PROPERTY + "=" + cache, "-Djava.io.tmpdir=" + tmpdir};
        Child first = runProbe(cp, props);
        assertEquals(0, first.exit(), first.out() + first.err());
        String hash;
        try (var in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
            hash = LibraryCache.sha256(in);
        }
        Path cached = cache.resolve(hash).resolve(NativeLibrary.GPU_FILE_NAME);
        assertTrue(first.out().contains("(cached at " + cached + ")"), first.out());
        assertTrue(first.out().contains("emulated false"), first.out());
        FileTime written = Files.getLastModifiedTime(cached);
        Child second = runProbe(cp, props);
        assertEquals(0, second.exit(), second.out() + second.err());
        assertTrue(second.out().contains("(cached at " + cached + ")"), second.out());
        assertEquals(written, Files.getLastModifiedTime(cached), "the second start reuses the file");
        try (Stream<Path> left = Files.list(tmpdir)) {
            assertEquals(List.of(), left.toList(), "nothing is left in java.io.tmpdir");
        }
        try (Stream<Path> files = Files.list(cached.getParent())) {
            assertEquals(List.of(cached), files.toList(), "no temporary file is left in the cache");
        }
    }

    @Test
    void aDamagedCachedCopyIsReplaced(@TempDir Path tmp) throws Exception {
        String resource = "/io/kernels4j/bindings/LoaderProbe.class";
        Path file = LibraryCache.extract(NativeLibraryTest.class, resource, "probe.bin", tmp);
        assertNotNull(file);
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        Files.writeString(file, "truncated");
        Path again = LibraryCache.extract(NativeLibraryTest.class, resource, "probe.bin", tmp);
        assertEquals(file, again);
        try (var in = NativeLibraryTest.class.getResourceAsStream(resource)) {
            assertEquals(LibraryCache.sha256(in), LibraryCache.sha256(again));
        }
        assertNull(LibraryCache.extract(NativeLibraryTest.class, "/no/such/resource", "x.bin", tmp));
    }

    @Test
    void concurrentExtractionsAgree(@TempDir Path tmp) throws Exception {
        String resource = "/io/kernels4j/bindings/LoaderProbe.class";
        int n = 8;
        var pool = java.util.concurrent.Executors.newFixedThreadPool(n);
        try {
            var start = new java.util.concurrent.CountDownLatch(1);
            List<java.util.concurrent.Future<Path>> results = new ArrayList<>();
            for (int i = 0; i < n; i++)
                results.add(pool.submit(() -> {
                    start.await();
                    return LibraryCache.extract(NativeLibraryTest.class, resource, "probe.bin", tmp);
                }));
            start.countDown();
            Path first = results.getFirst().get();
            for (var r : results) assertEquals(first, r.get());
            try (var in = NativeLibraryTest.class.getResourceAsStream(resource)) {
                assertEquals(LibraryCache.sha256(in), LibraryCache.sha256(first));
            }
            try (Stream<Path> files = Files.list(first.getParent())) {
                assertEquals(List.of(first), files.toList(), "no .part file left behind");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void anUnwritableCacheIsNamedWithThePropertyToSet(@TempDir Path tmp) throws Exception {
        Path notADir = Files.writeString(tmp.resolve("plain-file"), "x");
        IOException e = assertThrows(IOException.class, () -> LibraryCache.extract(NativeLibraryTest.class,
                "/io/kernels4j/bindings/LoaderProbe.class", "probe.bin", notADir.resolve("cache")));
        assertTrue(e.getMessage().contains("cannot write the library cache folder " + notADir.resolve("cache"))
                && e.getMessage().contains("-Dkernels4j.cache.dir"), e.getMessage());
        // The same through the loader, in a child JVM: the failure lists the cache problem.
        Child c = runProbe(withLibrary(),
                "-D" + NativeLibrary.CACHE_DIR_PROPERTY + "=" + notADir.resolve("cache"), "-Djava.library.path=" + tmp);
        assertEquals(3, c.exit(), c.out() + c.err());
        assertTrue(c.err().contains("cannot write the library cache folder"), c.err());
    }

    @Test
    void noexecMountIsExplained() {
        String m = NativeLibrary.explain(Path.of("/mnt/cache/abc/libkernels4j.so"),
                "/mnt/cache/abc/libkernels4j.so: failed to map segment from shared object");
        assertTrue(m.contains("/mnt/cache/abc is probably on a file system mounted noexec") && m.contains("-Dkernels4j.cache.dir"), m);
        assertEquals("cannot open shared object file", NativeLibrary.explain(Path.of("/x/y.so"), "cannot open shared object file"));
    }

    @Test
    void cacheRootOrder() {
        assertEquals(Path.of("/c"), NativeLibrary.cacheRoot(Map.of(NativeLibrary.CACHE_DIR_PROPERTY, "/c", "user.home", "/h")::get,
                Map.of("XDG_CACHE_HOME", "/x")::get));
        assertEquals(Path.of("/x/kernels4j"), NativeLibrary.cacheRoot(Map.of("user.home", "/h")::get, Map.of("XDG_CACHE_HOME", "/x")::get));
        assertEquals(Path.of("/h/.cache/kernels4j"), NativeLibrary.cacheRoot(Map.of("user.home", "/h")::get, Map.<String, String>of()::get));
    }

    /** A copy of the GPU library this JVM can use, in {@code dir}. */
    private static Path copyOfTheLibrary(Path dir) throws IOException {
        Path target = dir.resolve(NativeLibrary.GPU_FILE_NAME);
        try (var in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
            assertNotNull(in, "the build puts " + RESOURCE + " on the class path");
            Files.copy(in, target);
        }
        return target;
    }

    // ---- an emulator library (a stand-in built from fake-emulator.c with the host C compiler) ----

    /** Builds the stand-in emulator as {@code dir/name}; skips the test where no C compiler exists. */
    private static Path fakeEmulator(Path dir, String name) throws Exception {
        Path src = dir.resolve("fake-emulator.c");
        try (var in = NativeLibraryTest.class.getResourceAsStream("fake-emulator.c")) {
            assertNotNull(in, "fake-emulator.c test resource");
            Files.copy(in, src);
        }
        Path lib = dir.resolve(name);
        Process p;
        try {
            p = new ProcessBuilder("cc", "-shared", "-fPIC", "-O1", "-o", lib.toString(), src.toString())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            org.junit.jupiter.api.Assumptions.abort("no C compiler (cc) to build the stand-in emulator: " + e.getMessage());
            throw e;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        // A cc that cannot run (e.g. the GPU bundle's env -i: no PATH for its cc1) is no compiler either.
        org.junit.jupiter.api.Assumptions.assumeTrue(p.waitFor() == 0, "no working C compiler (cc) here: " + out);
        return lib;
    }

    @Test
    void theEmulatorIsLoadedDescribedAndGivenItsOptions(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("emu"));
        fakeEmulator(dir, "libkernels4j-emu-sm90.so");
        Path classes = classesWithoutLibrary(tmp);
        Child c = runProbe(List.of(classes, location(LoaderProbe.class)), "-Dkernels4j.device=emulator",
                "-D" + NativeLibrary.PATH_PROPERTY + "=" + dir, "-Dkernels4j.emulator.seed=7",
                "-Dkernels4j.emulator.sanitizers=memcheck", "-Dkernels4j.emulator.arch=sm_90");
        assertEquals(0, c.exit(), c.out() + c.err());
        assertTrue(c.out().contains("loaded from " + dir.resolve("libkernels4j-emu-sm90.so")), c.out());
        assertTrue(c.out().contains("emulated true"), c.out());
        // Every kernels4j.emulator.<key> but the arch, in key order, without the prefix.
        assertTrue(c.out().contains("description kernels4j CPU emulator (sm_90), fake for tests, options [sanitizers=memcheck,seed=7]"),
                c.out());
    }

    @Test
    void anOptionTheEmulatorRejectsFailsTheLoad(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("emu"));
        fakeEmulator(dir, "libkernels4j-emu-sm90.so");
        Path classes = classesWithoutLibrary(tmp);
        Child c = runProbe(List.of(classes, location(LoaderProbe.class)), "-Dkernels4j.device=emulator",
                "-D" + NativeLibrary.PATH_PROPERTY + "=" + dir, "-Dkernels4j.emulator.bad=1");
        assertEquals(3, c.exit(), c.out() + c.err());
        assertTrue(c.err().startsWith("INVALID_CONFIGURATION: kernels4j: -Dkernels4j.emulator.bad=1 rejected by the emulator:"
                + " bad: unknown option"), c.err());
    }

    @Test
    void theEmulatorIsNotTakenForTheGpuLibrary(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("emu"));
        fakeEmulator(dir, NativeLibrary.GPU_FILE_NAME); // an emulator under the GPU library's name
        Path classes = classesWithoutLibrary(tmp);
        Child c = runProbe(List.of(classes, location(LoaderProbe.class)), "-D" + NativeLibrary.PATH_PROPERTY + "=" + dir);
        assertEquals(3, c.exit(), c.out() + c.err());
        assertTrue(c.err().startsWith("MISMATCH: ") && c.err().contains("is the CPU emulator, but the GPU library is selected"),
                c.err());
    }
}
