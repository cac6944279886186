package io.kernels4j.bindings;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads {@code libkernels4j.so} once per class loader. Tried in order:
 * <ol>
 *   <li>the system property {@value #PATH_PROPERTY}: a path to the library file, or to a directory
 *       holding {@code libkernels4j.so};</li>
 *   <li>the class-path resource {@value #RESOURCE}, extracted to a temporary file;</li>
 *   <li>{@code System.loadLibrary("kernels4j")} ({@code java.library.path}).</li>
 * </ol>
 * A failure names every place tried and why it failed; a set but unusable property is also logged
 * as a warning when a later place succeeds. The library links the CUDA runtime
 * statically and exports its API, so the generated {@code io.kernels4j.bindings.cuda} bindings and
 * the kernels share one runtime; call {@link #load()} before touching those bindings.
 */
public final class NativeLibrary {
    public static final String PATH_PROPERTY = "kernels4j.library.path";
    public static final String RESOURCE = "/native/linux-x86_64/libkernels4j.so";
    static final String FILE_NAME = "libkernels4j.so";

    private static volatile String loadedFrom;
    private static volatile UnsatisfiedLinkError failure;

    private NativeLibrary() {}

    /** Loads the library if needed; thread-safe and idempotent. Throws the same error on every call after a failure. */
    public static void load() {
        if (loadedFrom != null) return;
        synchronized (NativeLibrary.class) {
            if (loadedFrom != null) return;
            if (failure != null) throw failure;
            List<String> attempts = new ArrayList<>();
            String from = tryProperty(attempts);
            if (from == null && System.getProperty(PATH_PROPERTY) != null && !System.getProperty(PATH_PROPERTY).isBlank())
                System.getLogger("io.kernels4j.bindings").log(System.Logger.Level.WARNING,
                        "kernels4j: " + attempts.getLast() + "; falling back to the bundled library");
            if (from == null) from = tryResource(attempts);
            if (from == null) from = trySystem(attempts);
            if (from == null) {
                failure = new UnsatisfiedLinkError("kernels4j: could not load " + FILE_NAME + "; tried:\n  "
                        + String.join("\n  ", attempts));
                throw failure;
            }
            loadedFrom = from;
            int abi = Kernels4jNative.abiVersion();
            if (abi != Kernels4jNative.EXPECTED_ABI_VERSION) {
                failure = new UnsatisfiedLinkError("kernels4j: " + from + " has ABI version " + abi
                        + " but these bindings expect " + Kernels4jNative.EXPECTED_ABI_VERSION
                        + "; rebuild the native library and the jars together");
                loadedFrom = null;
                throw failure;
            }
        }
    }

    /** Where the library was loaded from, or null before {@link #load()}. */
    public static String loadedFrom() {
        return loadedFrom;
    }

    /** Symbols of every library this class loader loaded, kernels4j and its CUDA runtime included. */
    public static SymbolLookup lookup() {
        load();
        return SymbolLookup.loaderLookup();
    }

    private static String tryProperty(List<String> attempts) {
        String prop = System.getProperty(PATH_PROPERTY);
        if (prop == null || prop.isBlank()) {
            attempts.add("-D" + PATH_PROPERTY + ": not set");
            return null;
        }
        Path p = Path.of(prop);
        if (Files.isDirectory(p)) p = p.resolve(FILE_NAME);
        try {
            System.load(p.toAbsolutePath().toString());
            return p.toAbsolutePath().toString();
        } catch (UnsatisfiedLinkError | SecurityException e) {
            attempts.add("-D" + PATH_PROPERTY + "=" + prop + ": " + e.getMessage());
            return null;
        }
    }

    private static String tryResource(List<String> attempts) {
        try (InputStream in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                attempts.add("class-path resource " + RESOURCE + ": not found");
                return null;
            }
            Path dir = Files.createTempDirectory("kernels4j-");
            Path file = dir.resolve(FILE_NAME);
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            file.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
            System.load(file.toString());
            return "class-path resource " + RESOURCE + " (extracted to " + file + ")";
        } catch (IOException | UnsatisfiedLinkError | SecurityException e) {
            attempts.add("class-path resource " + RESOURCE + ": " + e.getMessage());
            return null;
        }
    }

    private static String trySystem(List<String> attempts) {
        try {
            System.loadLibrary("kernels4j");
            return "java.library.path";
        } catch (UnsatisfiedLinkError | SecurityException e) {
            attempts.add("System.loadLibrary(\"kernels4j\") with java.library.path="
                    + System.getProperty("java.library.path") + ": " + e.getMessage());
            return null;
        }
    }
}
