package io.kernels4j.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.kernels4j.bindings.NativeLibrary;
import io.kernels4j.ops.robustness.ChildJvm;
import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failing safely: on a machine without a usable GPU every public entry point answers with
 * {@link GpuUnavailableException} (no Error, no IllegalArgumentException about ordinals), and
 * {@link Kernels4j#availability()} answers without throwing, also when the native library is absent
 * or the platform is not supported (child JVMs: a JVM loads the library once).
 */
class NoGpuEntryPointsTest {

    /** Every entry point that needs a GPU, as the probe child calls them too. */
    static List<Executable> entryPoints() {
        return List.of(
                () -> Device.get(0),
                Device::current,
                () -> Stream.create(),
                () -> Scope.open(),
                () -> DeviceTensor.allocate(DType.BF16, 4, 4),
                () -> Event.create(),
                () -> PinnedBuffer.allocate(64),
                Cuda::requireAvailable);
    }

    @Test
    void everyEntryPointThrowsTheTypedException() throws Throwable {
        assumeFalse(Kernels4j.availability().available(), "a GPU is present");
        for (Executable e : entryPoints()) {
            GpuUnavailableException x = assertThrows(GpuUnavailableException.class, e);
            assertTrue(x.getMessage().contains(Kernels4j.availability().reason()), x.getMessage());
            assertEquals(Kernels4j.availability().unavailableReason(), x.reason());
        }
        assertEquals(0, Device.count());
    }

    @Test
    void opFamiliesLoadAndCheckArgumentsWithoutAGpu() {
        // The op classes initialise without a GPU (their downcall handles are made, not called), their
        // host-side sizing works, and a call without a device to run on fails on its arguments.
        assertTrue(io.kernels4j.ops.mla.MlaDecode.workspaceBytes(1, 1, 128, 132, 0) > 0);
        assertTrue(io.kernels4j.ops.moe.MoeLayout.workspaceBytes(8, 2, 16) > 0);
        assertThrows(IllegalArgumentException.class, () -> io.kernels4j.ops.gemm.Fp8Gemm.dense(null, null, null, null, null, null, null));
        assertThrows(IllegalArgumentException.class, () -> io.kernels4j.ops.moe.MoeCombine.contiguous(null, null, null, null, null));
        assertThrows(IllegalArgumentException.class, () -> io.kernels4j.ops.mla.MlaKvCache.write(null, null, null, null));
    }

    @Test
    void theProbeDescribesThisJvm() {
        Kernels4j.Availability a = Kernels4j.availability();
        assertEquals(a.available(), a.unavailableReason() == null, a.toString());
        assertEquals(NativeLibrary.loadedFrom(), a.libraryPath(), "the library this JVM loaded");
        assertEquals(a.emulated(), Kernels4j.emulatorDescription() != null);
        assertFalse(a.reason().contains("\n"), a.reason());
    }

    // ---- child JVMs: the library absent, an unsupported platform ----

    @Test
    void withoutTheLibraryTheProbeAnswersAndEntryPointsAreTyped(@TempDir Path tmp) throws Exception {
        ChildJvm.Result r = runWithoutLibrary(tmp, "-Dkernels4j.device=gpu", "-D" + NativeLibrary.PATH_PROPERTY + "=/nonexistent",
                "-Djava.library.path=/nonexistent");
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("available=false"), r.output());
        assertTrue(r.output().contains("unavailableReason=LIBRARY_NOT_LOADABLE"), r.output());
        assertTrue(r.output().contains("-Dkernels4j.library.path=/nonexistent: "), r.output());
        assertTrue(r.output().contains("entry points: all GpuUnavailableException"), r.output());
    }

    @Test
    void anUnsupportedArchitectureIsTyped(@TempDir Path tmp) throws Exception {
        ChildJvm.Result r = runWithoutLibrary(tmp, "-Dkernels4j.device=gpu", "-D" + NativeLibrary.PATH_PROPERTY + "=", "-Dos.arch=riscv64", "-Djava.library.path=/nonexistent");
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("unavailableReason=UNSUPPORTED_PLATFORM"), r.output());
        assertTrue(r.output().contains("os.arch=riscv64"), r.output());
        assertTrue(r.output().contains("entry points: all GpuUnavailableException"), r.output());
    }

    @Test
    void anInvalidDeviceSelectionIsTyped(@TempDir Path tmp) throws Exception {
        ChildJvm.Result r = runWithoutLibrary(tmp, "-Dkernels4j.device=fpga", "-D" + NativeLibrary.PATH_PROPERTY + "=");
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("unavailableReason=INVALID_CONFIGURATION"), r.output());
        assertTrue(r.output().contains("entry points: all GpuUnavailableException"), r.output());
    }

    /** Runs {@link Probe} with this JVM's class path, the bindings' native resources left out. */
    private static ChildJvm.Result runWithoutLibrary(Path tmp, String... props) throws Exception {
        Path bindings = location(NativeLibrary.class);
        Path copy = tmp.resolve("bindings-classes");
        copyClassesOnly(bindings, copy);
        List<String> cp = new ArrayList<>();
        for (String e : ChildJvm.classPath().split(File.pathSeparator)) {
            if (Path.of(e).toAbsolutePath().equals(bindings.toAbsolutePath())) cp.add(copy.toString());
            else if (!holdsNativeLibraries(Path.of(e))) cp.add(e); // the platform jar (packaged builds) is left out
        }
        List<String> args = new ArrayList<>(List.of(props));
        args.add("-Dkernels4j.cache.dir=" + tmp.resolve("cache"));
        return ChildJvm.runWithClassPath(Probe.class, 60, String.join(File.pathSeparator, cp), args.toArray(String[]::new));
    }

    private static boolean holdsNativeLibraries(Path entry) throws IOException {
        if (!entry.toString().endsWith(".jar") || !Files.isRegularFile(entry)) return false;
        try (var jar = new java.util.jar.JarFile(entry.toFile())) {
            return jar.stream().anyMatch(e -> e.getName().startsWith("native/") && e.getName().endsWith(".so"));
        }
    }

    private static Path location(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    /** The class files of a folder or jar, without its native/ resources. */
    private static void copyClassesOnly(Path from, Path to) throws IOException {
        if (Files.isDirectory(from)) {
            try (java.util.stream.Stream<Path> files = Files.walk(from)) {
                for (Path f : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                    Path target = to.resolve(from.relativize(f).toString());
                    Files.createDirectories(target.getParent());
                    Files.copy(f, target);
                }
            }
            return;
        }
        try (var jar = new java.util.jar.JarFile(from.toFile())) {
            for (var e : java.util.Collections.list(jar.entries())) {
                if (e.isDirectory() || !e.getName().endsWith(".class")) continue;
                Path target = to.resolve(e.getName());
                Files.createDirectories(target.getParent());
                try (var in = jar.getInputStream(e)) {
                    Files.copy(in, target);
                }
            }
        }
    }

    /** Child-JVM entry point: prints the probe's answer and how every entry point failed. */
    public static final class Probe {
        public static void main(String[] args) {
            Kernels4j.Availability a = Kernels4j.availability();
            System.out.println(a);
            assertNull(Kernels4j.emulatorDescription());
            List<String> wrong = new ArrayList<>();
            for (Executable e : entryPoints()) {
                try {
                    e.execute();
                    wrong.add("returned");
                } catch (GpuUnavailableException expected) {
                    if (expected.reason() != a.unavailableReason()) wrong.add("reason " + expected.reason());
                } catch (Throwable t) {
                    wrong.add(t.toString());
                }
            }
            // A class holding downcalls still initialises; calling one is a typed exception, not an Error.
            try {
                io.kernels4j.bindings.Kernels4jNative.versionString();
                wrong.add("versionString returned");
            } catch (io.kernels4j.bindings.NativeLibraryException expected) {
                // typed
            } catch (Throwable t) {
                wrong.add("versionString: " + t);
            }
            System.out.println(wrong.isEmpty() ? "entry points: all GpuUnavailableException" : "entry points: " + wrong);
        }
    }
}
