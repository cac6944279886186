package io.kernels4j.modulecheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.bindings.NativeLibrary;
import io.kernels4j.ops.GpuUnavailableException;
import io.kernels4j.ops.Kernels4j;
import io.kernels4j.ops.robustness.ChildJvm;
import java.io.File;
import java.net.URI;
import java.net.URL;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The module descriptors as a module-path user sees them (tests otherwise run on the class path):
 * io.kernels4j.bindings and io.kernels4j.ops resolve as named modules, the API packages are
 * exported, the plumbing is not, native access granted to the two modules is enough (no
 * restricted-method warning), and the library is found in the platform jar or folder on the class
 * path. A child JVM, since the test JVM has them on the class path.
 */
class ModulePathTest {

    @Test
    void theModulesWorkOnTheModulePath() throws Exception {
        Path bindings = location(NativeLibrary.class);
        Path ops = location(Kernels4j.class);
        Path probe = location(Probe.class);
        Path natives = nativeRoot();
        String classPath = probe + (natives.equals(bindings) ? "" : File.pathSeparator + natives);
        ChildJvm.Result r = ChildJvm.runWithClassPath(Probe.class, 60, classPath,
                "--module-path", bindings + File.pathSeparator + ops, "--add-modules", "io.kernels4j.ops",
                "--enable-native-access=io.kernels4j.bindings,io.kernels4j.ops", "-Dkernels4j.device=gpu");
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("module io.kernels4j.ops, module io.kernels4j.bindings"), r.output());
        assertTrue(r.output().contains("exports: ops=true gemm=true mla=true moe=true interop=true bindings=true"), r.output());
        assertTrue(r.output().contains("hidden: internal=false cuda=false"), r.output());
        assertTrue(r.output().contains("library loaded: true"), r.output());
        assertFalse(r.output().contains("restricted method"), r.output());
    }

    private static Path location(Class<?> c) throws Exception {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    /** The class-path entry holding native/<platform>/libkernels4j.so (target/classes or the platform jar). */
    private static Path nativeRoot() throws Exception {
        String res = NativeLibrary.resourceFolder().orElseThrow().substring(1) + NativeLibrary.GPU_FILE_NAME;
        URL url = ModulePathTest.class.getClassLoader().getResource(res);
        if (url == null) throw new AssertionError("the build puts " + res + " on the class path");
        if ("jar".equals(url.getProtocol())) {
            String spec = url.getPath();
            return Path.of(new URI(spec.substring(0, spec.indexOf("!/"))));
        }
        return Path.of(url.toURI()).getParent().getParent().getParent();
    }

    /** Child-JVM entry point (class path, unnamed module), reading the kernels4j modules. */
    public static final class Probe {
        public static void main(String[] args) {
            Module ops = Kernels4j.class.getModule();
            Module bindings = NativeLibrary.class.getModule();
            System.out.println(ops + ", " + bindings);
            System.out.println("exports: ops=" + ops.isExported("io.kernels4j.ops") + " gemm=" + ops.isExported("io.kernels4j.ops.gemm")
                    + " mla=" + ops.isExported("io.kernels4j.ops.mla") + " moe=" + ops.isExported("io.kernels4j.ops.moe")
                    + " interop=" + ops.isExported("io.kernels4j.ops.interop") + " bindings=" + bindings.isExported("io.kernels4j.bindings"));
            System.out.println("hidden: internal=" + ops.isExported("io.kernels4j.ops.internal") + " cuda="
                    + bindings.isExported("io.kernels4j.bindings.cuda"));
            Kernels4j.Availability a = Kernels4j.availability();
            System.out.println(a);
            System.out.println("library loaded: " + (a.libraryPath() != null));
            if (!a.available()) {
                try {
                    io.kernels4j.ops.Device.get(0);
                    System.out.println("Device.get(0) returned without a GPU");
                    System.exit(1);
                } catch (GpuUnavailableException expected) {
                    System.out.println("typed: " + expected.reason());
                }
            }
        }
    }
}
