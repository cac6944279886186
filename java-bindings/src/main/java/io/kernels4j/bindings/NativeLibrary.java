package io.kernels4j.bindings;

import io.kernels4j.bindings.NativeLibraryException.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/**
 * Loads the kernels4j native library once per class loader.
 *
 * <h2>Which library</h2>
 * By default the GPU library {@code libkernels4j.so}. With the system property
 * {@value #DEVICE_PROPERTY}{@code =emulator} (or, when that property is unset, the environment
 * variable {@value #DEVICE_ENV}{@code =emulator}) the CPU emulator {@code libkernels4j-emu-sm90.so}
 * instead, for the architecture chosen by {@value #EMULATOR_ARCH_PROPERTY} (or
 * {@value #EMULATOR_ARCH_ENV}): {@code sm_80}, {@code sm_89} or {@code sm_90} (the default). Any
 * other value is a {@link NativeLibraryException}; the choice is never made silently, and a library
 * that is not of the selected kind is refused. After loading the emulator, every system property
 * {@value #EMULATOR_OPTION_PREFIX}{@code <key>} (except the architecture) is passed to it as option
 * {@code <key>}; an option it rejects is a {@link NativeLibraryException}.
 *
 * <h2>Where from</h2>
 * Tried in order:
 * <ol>
 *   <li>the system property {@value #PATH_PROPERTY}: a path to the library file, or to a folder
 *       holding it;</li>
 *   <li>the class-path resource {@code /native/<platform>/<file>} (platform {@code linux-x86_64} or
 *       {@code linux-aarch64}, from {@code os.name} and {@code os.arch}; the per-platform
 *       classifier jar of kernels4j-java-bindings carries it), extracted once into a cache folder
 *       named after the library's SHA-256 and reused by later starts;</li>
 *   <li>{@code System.loadLibrary} ({@code java.library.path}).</li>
 * </ol>
 * A failure names every place tried and why it failed; a set but unusable property is also logged
 * as a warning when a later place succeeds.
 *
 * <h2>Cache folder</h2>
 * {@value #CACHE_DIR_PROPERTY} when set, else {@code $XDG_CACHE_HOME/kernels4j}, else
 * {@code ${user.home}/.cache/kernels4j}. The library goes to {@code <cache>/<sha256>/<file>}: written
 * under a temporary name in that folder, checked, then renamed atomically, so concurrent JVMs never
 * see a partial file; an existing file is used only if its hash matches. Nothing is written to the
 * temporary folder. A folder that cannot be written, or that sits on a file system mounted
 * {@code noexec}, is reported with what to set instead.
 *
 * <p>The library links the CUDA runtime statically (the emulator: its own implementation of it) and
 * exports its API, so the generated {@code io.kernels4j.bindings.cuda} bindings and the kernels share
 * one runtime; call {@link #load()} before touching those bindings.
 */
public final class NativeLibrary {
    /** System property: a path to the library file, or to a folder holding it. */
    public static final String PATH_PROPERTY = "kernels4j.library.path";
    /** System property selecting the device: {@code gpu} (default) or {@code emulator}. */
    public static final String DEVICE_PROPERTY = "kernels4j.device";
    /** Environment variable read when {@value #DEVICE_PROPERTY} is unset. */
    public static final String DEVICE_ENV = "KERNELS4J_DEVICE";
    /** System property: the emulated architecture, {@code sm_80}, {@code sm_89} or {@code sm_90} (default). */
    public static final String EMULATOR_ARCH_PROPERTY = "kernels4j.emulator.arch";
    /** Environment variable read when {@value #EMULATOR_ARCH_PROPERTY} is unset. */
    public static final String EMULATOR_ARCH_ENV = "KERNELS4J_EMULATOR_ARCH";
    /** Prefix of the system properties passed to the emulator as options (the key is what follows it). */
    public static final String EMULATOR_OPTION_PREFIX = "kernels4j.emulator.";
    /** System property: the folder the class-path library is extracted into. */
    public static final String CACHE_DIR_PROPERTY = "kernels4j.cache.dir";
    /** File name of the GPU library. */
    public static final String GPU_FILE_NAME = "libkernels4j.so";
    /** Emulated architectures, in the spelling of {@value #EMULATOR_ARCH_PROPERTY}. */
    public static final List<String> EMULATOR_ARCHS = List.of("sm_80", "sm_89", "sm_90");

    private static volatile String loadedFrom;
    private static volatile boolean emulated;
    private static volatile String emulatorDescription;
    private static volatile NativeLibraryException failure;

    private NativeLibrary() {}

    /**
     * The library a JVM selects: GPU or emulator, the emulated architecture, the file name.
     *
     * @param emulated whether the CPU emulator is selected
     * @param arch the emulated architecture ({@code sm_90}, ...), or null for the GPU library
     * @param fileName the library's file name, e.g. {@code libkernels4j-emu-sm90.so}
     * @param source which setting chose it, for messages (e.g. {@code -Dkernels4j.device=emulator})
     */
    public record Selection(boolean emulated, String arch, String fileName, String source) {
        /** The library's name for {@link System#loadLibrary}: the file name without "lib" and ".so". */
        String libraryName() {
            return fileName.substring(3, fileName.length() - 3);
        }
    }

    /**
     * The selection this JVM's system properties and environment make (does not load anything).
     *
     * @return the selection
     * @throws NativeLibraryException if {@value #DEVICE_PROPERTY} or the architecture has an invalid value
     */
    public static Selection selection() {
        return select(System::getProperty, System::getenv);
    }

    /** {@link #selection()} from the given property and environment lookups (unit tests). */
    static Selection select(UnaryOperator<String> properties, UnaryOperator<String> environment) {
        String device = properties.apply(DEVICE_PROPERTY);
        String deviceSource = "-D" + DEVICE_PROPERTY + "=" + device;
        if (device == null || device.isBlank()) {
            device = environment.apply(DEVICE_ENV);
            deviceSource = DEVICE_ENV + "=" + device;
        }
        if (device == null || device.isBlank() || device.trim().equalsIgnoreCase("gpu"))
            return new Selection(false, null, GPU_FILE_NAME, device == null || device.isBlank() ? "default" : deviceSource);
        if (!device.trim().equalsIgnoreCase("emulator"))
            throw new NativeLibraryException(Reason.INVALID_CONFIGURATION, "kernels4j: " + deviceSource
                    + " is not a device kind; expected gpu (the default) or emulator", null);
        String arch = properties.apply(EMULATOR_ARCH_PROPERTY);
        String archSource = "-D" + EMULATOR_ARCH_PROPERTY + "=" + arch;
        if (arch == null || arch.isBlank()) {
            arch = environment.apply(EMULATOR_ARCH_ENV);
            archSource = EMULATOR_ARCH_ENV + "=" + arch;
        }
        if (arch == null || arch.isBlank()) arch = "sm_90";
        else arch = arch.trim().toLowerCase(Locale.ROOT);
        if (!EMULATOR_ARCHS.contains(arch))
            throw new NativeLibraryException(Reason.INVALID_CONFIGURATION, "kernels4j: " + archSource
                    + " is not an emulated architecture; expected one of " + EMULATOR_ARCHS, null);
        return new Selection(true, arch, "libkernels4j-emu-" + arch.replace("_", "") + ".so", deviceSource);
    }

    /**
     * The resource folder of a platform, from {@code os.name} and {@code os.arch} values.
     *
     * @param osName a value of {@code os.name}
     * @param osArch a value of {@code os.arch}
     * @return e.g. {@code linux-x86_64}, or empty when kernels4j has no native build for that platform
     */
    public static Optional<String> platform(String osName, String osArch) {
        if (osName == null || osArch == null) return Optional.empty();
        String os = osName.toLowerCase(Locale.ROOT);
        String arch = osArch.toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux")) return Optional.empty();
        return switch (arch) {
            case "amd64", "x86_64" -> Optional.of("linux-x86_64");
            case "aarch64", "arm64" -> Optional.of("linux-aarch64");
            default -> Optional.empty();
        };
    }

    /**
     * The class-path resource folder for this JVM's platform.
     *
     * @return e.g. {@code /native/linux-x86_64/}, or empty on a platform without a native build
     */
    public static Optional<String> resourceFolder() {
        return platform(System.getProperty("os.name"), System.getProperty("os.arch")).map(p -> "/native/" + p + "/");
    }

    /**
     * Loads the library if needed; thread-safe and idempotent.
     *
     * @throws NativeLibraryException if it cannot be loaded (the same failure on every later call)
     */
    public static void load() {
        if (loadedFrom != null) return;
        synchronized (NativeLibrary.class) {
            if (loadedFrom != null) return;
            if (failure != null) throw failure;
            try {
                loadOnce();
            } catch (NativeLibraryException e) {
                failure = e;
                throw e;
            }
        }
    }

    private static void loadOnce() {
        Selection sel = selection();
        Optional<String> folder = resourceFolder();
        List<String> attempts = new ArrayList<>();
        String from = tryProperty(sel, attempts);
        String prop = System.getProperty(PATH_PROPERTY);
        if (from == null && prop != null && !prop.isBlank())
            System.getLogger("io.kernels4j.bindings").log(System.Logger.Level.WARNING,
                    "kernels4j: " + attempts.getLast() + "; falling back to the bundled library");
        if (from == null) {
            if (folder.isPresent()) {
                from = tryResource(sel, folder.get() + sel.fileName(), attempts);
            } else {
                attempts.add("class-path resource: none for os.name=" + System.getProperty("os.name") + ", os.arch="
                        + System.getProperty("os.arch"));
            }
        }
        if (from == null) from = trySystem(sel, attempts);
        String what = sel.emulated() ? sel.fileName() + " (the CPU emulator, selected by " + sel.source() + ")" : sel.fileName();
        if (from == null) {
            if (folder.isEmpty())
                throw new NativeLibraryException(Reason.UNSUPPORTED_PLATFORM, "kernels4j: unsupported platform os.name="
                        + System.getProperty("os.name") + ", os.arch=" + System.getProperty("os.arch")
                        + ": native builds exist for linux-x86_64; could not load " + what + "; tried:\n  "
                        + String.join("\n  ", attempts), null);
            throw new NativeLibraryException(Reason.NOT_LOADABLE, "kernels4j: could not load " + what + "; tried:\n  "
                    + String.join("\n  ", attempts)
                    + (sel.emulated() ? "\n(unset " + DEVICE_PROPERTY + " / " + DEVICE_ENV + " to use the GPU library)" : ""), null);
        }
        int abi = abiVersion();
        if (abi != Kernels4jNative.EXPECTED_ABI_VERSION)
            throw new NativeLibraryException(Reason.MISMATCH, "kernels4j: " + from + " has ABI version " + abi
                    + " but these bindings expect " + Kernels4jNative.EXPECTED_ABI_VERSION
                    + "; rebuild the native library and the jars together", null);
        Optional<MemorySegment> info = SymbolLookup.loaderLookup().find("k4j_emu_info");
        if (sel.emulated() && info.isEmpty())
            throw new NativeLibraryException(Reason.MISMATCH, "kernels4j: " + from + " is not the CPU emulator (no k4j_emu_info)"
                    + " but " + sel.source() + " selects it", null);
        if (!sel.emulated() && info.isPresent())
            throw new NativeLibraryException(Reason.MISMATCH, "kernels4j: " + from + " is the CPU emulator, but the GPU"
                    + " library is selected (" + sel.source() + "); set -D" + DEVICE_PROPERTY + "=emulator to use it", null);
        if (sel.emulated()) {
            setEmulatorOptions(from);
            emulatorDescription = callString(info.get());
            emulated = true;
        }
        loadedFrom = from; // published last, once checked: other threads return early on it
    }

    /**
     * K4J_ABI_VERSION of the library this class loader loaded. Deliberately touches no other
     * kernels4j class: load() calls it while holding this class's lock, and the static initialiser
     * of Kernels4jNative (or any downcall holder) calls load(), so initialising one of them from here
     * would deadlock against a thread that is already initialising it and waits for the lock.
     */
    static int abiVersion() {
        MethodHandle h = Linker.nativeLinker().downcallHandle(
                SymbolLookup.loaderLookup().find("k4j_abi_version").orElseThrow(() -> new NativeLibraryException(
                        Reason.MISMATCH, "kernels4j: symbol k4j_abi_version not found (not a kernels4j library?)", null)),
                FunctionDescriptor.of(ValueLayout.JAVA_INT));
        try {
            return (int) h.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Passes every {@value #EMULATOR_OPTION_PREFIX}{@code <key>} system property (but the arch) to k4j_emu_set_option. */
    private static void setEmulatorOptions(String from) {
        Map<String, String> options = new TreeMap<>();
        for (String name : System.getProperties().stringPropertyNames())
            if (name.startsWith(EMULATOR_OPTION_PREFIX) && !name.equals(EMULATOR_ARCH_PROPERTY))
                options.put(name.substring(EMULATOR_OPTION_PREFIX.length()), System.getProperty(name));
        if (options.isEmpty()) return;
        MemorySegment setOption = SymbolLookup.loaderLookup().find("k4j_emu_set_option").orElseThrow(() ->
                new NativeLibraryException(Reason.MISMATCH, "kernels4j: " + from + " has no k4j_emu_set_option", null));
        MethodHandle h = Linker.nativeLinker().downcallHandle(setOption,
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        for (var o : options.entrySet()) {
            int rc;
            try (Arena a = Arena.ofConfined()) {
                rc = (int) h.invokeExact(a.allocateFrom(o.getKey()), a.allocateFrom(o.getValue()));
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (rc != 0)
                throw new NativeLibraryException(Reason.INVALID_CONFIGURATION, "kernels4j: -D" + EMULATOR_OPTION_PREFIX
                        + o.getKey() + "=" + o.getValue() + " rejected by the emulator: "
                        + SymbolLookup.loaderLookup().find("k4j_last_error").map(NativeLibrary::callString).orElse("(no message)"),
                        null);
        }
    }

    /** Calls a {@code const char *f(void)} of the library (no other kernels4j class involved, see abiVersion()). */
    private static String callString(MemorySegment function) {
        MethodHandle h = Linker.nativeLinker().downcallHandle(function, FunctionDescriptor.of(ValueLayout.ADDRESS));
        try {
            MemorySegment s = (MemorySegment) h.invokeExact();
            return s.address() == 0 ? "" : s.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Kernels4jNative.rethrow without initialising Kernels4jNative (see abiVersion()). */
    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) throw r;
        if (t instanceof Error e) throw e;
        throw new IllegalStateException(t);
    }

    /**
     * Where the library was loaded from.
     *
     * @return a path or a description of the place, or null before a successful {@link #load()}
     */
    public static String loadedFrom() {
        return loadedFrom;
    }

    /**
     * Whether the loaded library is the CPU emulator. Loads the library if needed.
     *
     * @return true on the emulator, false on the GPU library
     * @throws NativeLibraryException if the library cannot be loaded
     */
    public static boolean emulated() {
        load();
        return emulated;
    }

    /**
     * The emulator's description ({@code k4j_emu_info()}), e.g. {@code "kernels4j CPU emulator (sm_90), seed 1234"}.
     * Loads the library if needed.
     *
     * @return the description, or null when the GPU library is loaded
     * @throws NativeLibraryException if the library cannot be loaded
     */
    public static String emulatorDescription() {
        load();
        return emulatorDescription;
    }

    /**
     * Symbols of every library this class loader loaded, kernels4j and its CUDA runtime included.
     *
     * @return the lookup
     * @throws NativeLibraryException if the library cannot be loaded
     */
    public static SymbolLookup lookup() {
        load();
        return SymbolLookup.loaderLookup();
    }

    private static String tryProperty(Selection sel, List<String> attempts) {
        String prop = System.getProperty(PATH_PROPERTY);
        if (prop == null || prop.isBlank()) {
            attempts.add("-D" + PATH_PROPERTY + ": not set");
            return null;
        }
        Path p = Path.of(prop);
        if (Files.isDirectory(p)) p = p.resolve(sel.fileName());
        Path abs = p.toAbsolutePath();
        try {
            System.load(abs.toString());
            return abs.toString();
        } catch (UnsatisfiedLinkError | SecurityException e) {
            attempts.add("-D" + PATH_PROPERTY + "=" + prop + ": " + explain(abs, e.getMessage()));
            return null;
        }
    }

    private static String tryResource(Selection sel, String resource, List<String> attempts) {
        Path file;
        try {
            file = LibraryCache.extract(NativeLibrary.class, resource, sel.fileName(), cacheRoot());
        } catch (IOException | RuntimeException e) {
            attempts.add("class-path resource " + resource + ": " + e.getMessage());
            return null;
        }
        if (file == null) {
            attempts.add("class-path resource " + resource + ": not found (is the platform jar kernels4j-java-bindings-<version>-"
                    + resource.split("/")[2] + ".jar on the class path, or on the module path and added with --add-modules?)");
            return null;
        }
        try {
            System.load(file.toString());
            return "class-path resource " + resource + " (cached at " + file + ")";
        } catch (UnsatisfiedLinkError | SecurityException e) {
            attempts.add("class-path resource " + resource + " (cached at " + file + "): " + explain(file, e.getMessage()));
            return null;
        }
    }

    private static String trySystem(Selection sel, List<String> attempts) {
        try {
            System.loadLibrary(sel.libraryName());
            return "java.library.path";
        } catch (UnsatisfiedLinkError | SecurityException e) {
            attempts.add("System.loadLibrary(\"" + sel.libraryName() + "\") with java.library.path="
                    + System.getProperty("java.library.path") + ": " + e.getMessage());
            return null;
        }
    }

    /**
     * The cache folder: {@value #CACHE_DIR_PROPERTY}, else {@code $XDG_CACHE_HOME/kernels4j}, else
     * {@code ${user.home}/.cache/kernels4j}.
     *
     * @return the folder (not created by this call)
     */
    public static Path cacheRoot() {
        return cacheRoot(System::getProperty, System::getenv);
    }

    static Path cacheRoot(UnaryOperator<String> properties, UnaryOperator<String> environment) {
        String dir = properties.apply(CACHE_DIR_PROPERTY);
        if (dir != null && !dir.isBlank()) return Path.of(dir);
        String xdg = environment.apply("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) return Path.of(xdg, "kernels4j");
        return Path.of(properties.apply("user.home"), ".cache", "kernels4j");
    }

    /** A dlopen message, with what to do when it means the folder is mounted noexec. */
    static String explain(Path file, String dlopenMessage) {
        String m = String.valueOf(dlopenMessage);
        if (m.contains("failed to map segment"))
            return m + " (the folder " + file.getParent() + " is probably on a file system mounted noexec: set -D"
                    + CACHE_DIR_PROPERTY + " to a folder where libraries may be executed)";
        return m;
    }
}
