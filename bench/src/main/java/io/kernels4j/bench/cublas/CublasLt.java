package io.kernels4j.bench.cublas;

import static io.kernels4j.bench.cublas.CublasLtApi.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * {@code libcublasLt.so} (CUDA 12.9+ or 13), bound at run time through Panama: no header or library
 * is needed to build kernels4j, and a machine without it runs everything else. One handle per
 * instance; not thread-safe (a benchmark peer, not an op).
 *
 * <p>Where the library is looked for, in order: the explicit path given to {@link #load(String)}
 * (the CLI's {@code --cublaslt PATH}), the system property {@value #PROPERTY}, the environment
 * variable {@value #ENV} (each a file or a directory holding it), then {@code libcublasLt.so.13},
 * {@code .12} and {@code libcublasLt.so} through the dynamic loader's own search
 * ({@code LD_LIBRARY_PATH}, ld.so.cache), then {@code $CUDA_HOME/lib64}, {@code /usr/local/cuda/lib64}
 * and the {@code nvidia/cublas/lib} folder of the pip package {@code nvidia-cublas} under the usual
 * Python prefixes.
 *
 * <p>Streams: cuBLASLt brings its own CUDA runtime and kernels4j links one statically; both sit on
 * the driver's primary context, so a {@code cudaStream_t} of one is a valid stream for the other.
 */
public final class CublasLt implements AutoCloseable {
    public static final String PROPERTY = "kernels4j.cublaslt";
    public static final String ENV = "KERNELS4J_CUBLASLT";
    static final List<String> SONAMES = List.of("libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so");

    private static final Linker LINKER = Linker.nativeLinker();

    private final String loadedFrom;
    private final MemorySegment handle;
    private final Arena arena = Arena.ofShared();
    private boolean closed;

    final MethodHandle matmulDescCreate;
    final MethodHandle matmulDescDestroy;
    final MethodHandle matmulDescSetAttribute;
    final MethodHandle matrixLayoutCreate;
    final MethodHandle matrixLayoutDestroy;
    final MethodHandle preferenceCreate;
    final MethodHandle preferenceDestroy;
    final MethodHandle preferenceSetAttribute;
    final MethodHandle algoGetHeuristic;
    final MethodHandle matmul;
    private final MethodHandle destroy;
    private final MethodHandle statusName; // may be null on old libraries
    private final long version;

    private CublasLt(SymbolLookup lib, String loadedFrom) {
        this.loadedFrom = loadedFrom;
        MethodHandle create = h(lib, "cublasLtCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = h(lib, "cublasLtDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle getVersion = h(lib, "cublasLtGetVersion", FunctionDescriptor.of(JAVA_LONG));
        matmulDescCreate = h(lib, "cublasLtMatmulDescCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        matmulDescDestroy = h(lib, "cublasLtMatmulDescDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        matmulDescSetAttribute = h(lib, "cublasLtMatmulDescSetAttribute",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
        matrixLayoutCreate = h(lib, "cublasLtMatrixLayoutCreate",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        matrixLayoutDestroy = h(lib, "cublasLtMatrixLayoutDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        preferenceCreate = h(lib, "cublasLtMatmulPreferenceCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        preferenceDestroy = h(lib, "cublasLtMatmulPreferenceDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        preferenceSetAttribute = h(lib, "cublasLtMatmulPreferenceSetAttribute",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
        algoGetHeuristic = h(lib, "cublasLtMatmulAlgoGetHeuristic", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        matmul = h(lib, "cublasLtMatmul", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
        statusName = lib.find("cublasLtGetStatusName")
                .map(a -> LINKER.downcallHandle(a, FunctionDescriptor.of(ADDRESS, JAVA_INT))).orElse(null);
        try {
            version = (long) getVersion.invokeExact();
            MemorySegment p = arena.allocate(ADDRESS);
            check((int) create.invokeExact(p), "cublasLtCreate");
            handle = p.get(ADDRESS, 0);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        } catch (Throwable t) {
            arena.close();
            throw new IllegalStateException(t);
        }
    }

    private static MethodHandle h(SymbolLookup lib, String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(lib.find(name).orElseThrow(() ->
                new UnsatisfiedLinkError("cuBLASLt: symbol " + name + " not found (library older than CUDA 12?)")), fd);
    }

    /** {@link #load(String, Consumer)} printing the one-line "not found" message to stderr. */
    public static Optional<CublasLt> load(String pathOrNull) {
        return load(pathOrNull, System.err::println);
    }

    /**
     * Loads cuBLASLt and creates a handle; when no candidate loads, passes
     * {@code "cuBLASLt not found (tried ...); peer columns skipped"} to {@code notFound} and returns empty.
     *
     * @param pathOrNull a library file or a directory holding one; null to search (see class doc)
     */
    public static Optional<CublasLt> load(String pathOrNull, Consumer<String> notFound) {
        List<String> tried = new ArrayList<>();
        for (String candidate : candidates(pathOrNull)) {
            try {
                boolean isPath = candidate.contains("/");
                SymbolLookup lib = isPath ? SymbolLookup.libraryLookup(Path.of(candidate), Arena.global())
                        : SymbolLookup.libraryLookup(candidate, Arena.global());
                return Optional.of(new CublasLt(lib, candidate));
            } catch (IllegalArgumentException e) { // dlopen failed: not there (or not loadable)
                tried.add(candidate);
            } catch (UnsatisfiedLinkError | CublasLtException e) { // loaded, but unusable
                tried.add(candidate + " (" + e.getMessage() + ")");
            } catch (RuntimeException e) {
                tried.add(candidate + " (" + e.getMessage() + ")");
            }
        }
        notFound.accept("cuBLASLt not found (tried " + String.join(", ", tried) + "); peer columns skipped");
        return Optional.empty();
    }

    /** The places {@link #load} tries, in order (existing files for the folder guesses). */
    static List<String> candidates(String pathOrNull) {
        Set<String> out = new LinkedHashSet<>();
        addUser(out, pathOrNull);
        addUser(out, System.getProperty(PROPERTY));
        addUser(out, System.getenv(ENV));
        out.addAll(SONAMES);
        List<Path> dirs = new ArrayList<>();
        String cudaHome = System.getenv("CUDA_HOME");
        if (cudaHome != null && !cudaHome.isBlank()) dirs.add(Path.of(cudaHome, "lib64"));
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        dirs.addAll(pipCublasDirs());
        for (Path d : dirs)
            for (String so : SONAMES) {
                Path f = d.resolve(so);
                if (Files.isRegularFile(f)) out.add(f.toAbsolutePath().toString());
            }
        return List.copyOf(out);
    }

    private static void addUser(Set<String> out, String p) {
        if (p == null || p.isBlank()) return;
        Path path = Path.of(p).toAbsolutePath();
        if (!Files.isDirectory(path)) {
            out.add(path.toString());
            return;
        }
        boolean any = false;
        for (String so : SONAMES)
            if (Files.isRegularFile(path.resolve(so))) {
                out.add(path.resolve(so).toString());
                any = true;
            }
        if (!any) out.add(path.resolve("libcublasLt.so").toString()); // reported as tried
    }

    /** {@code <prefix>/lib/python3.*}/{site,dist}-packages/nvidia/cublas/lib} under the usual prefixes. */
    static List<Path> pipCublasDirs() {
        List<Path> roots = new ArrayList<>();
        String venv = System.getenv("VIRTUAL_ENV");
        if (venv != null) roots.add(Path.of(venv, "lib"));
        String conda = System.getenv("CONDA_PREFIX");
        if (conda != null) roots.add(Path.of(conda, "lib"));
        roots.add(Path.of(System.getProperty("user.home"), ".local", "lib"));
        roots.add(Path.of("/usr/local/lib"));
        roots.add(Path.of("/usr/lib"));
        roots.add(Path.of("/opt/conda/lib"));
        List<Path> out = new ArrayList<>();
        for (Path root : roots) {
            if (!Files.isDirectory(root)) continue;
            try (DirectoryStream<Path> pys = Files.newDirectoryStream(root, "python3*")) {
                for (Path py : pys)
                    for (String pk : List.of("site-packages", "dist-packages")) {
                        Path d = py.resolve(pk).resolve("nvidia").resolve("cublas").resolve("lib");
                        if (Files.isDirectory(d)) out.add(d);
                    }
            } catch (IOException | SecurityException e) {
                // an unreadable prefix is just not a candidate
            }
        }
        return out;
    }

    /** Where the library came from (a soname or a path). */
    public String loadedFrom() {
        return loadedFrom;
    }

    /** cublasLtGetVersion(), e.g. 130000 for 13.0.0. */
    public long version() {
        return version;
    }

    /** "cuBLASLt 13.0.0 (libcublasLt.so.13)". */
    public String describe() {
        return name() + " (" + loadedFrom + ")";
    }

    /** "cuBLASLt 13.0.0": the peer's name in report columns and legends. */
    public String name() {
        return "cuBLASLt " + version / 10000 + "." + (version % 10000) / 100 + "." + version % 100;
    }

    MemorySegment handle() {
        if (closed) throw new IllegalStateException("cuBLASLt handle used after close");
        return handle;
    }

    /** Throws {@link CublasLtException} naming {@code what} unless {@code status} is CUBLAS_STATUS_SUCCESS. */
    void check(int status, String what) {
        if (status == 0) return;
        String name = statusName(status);
        if (statusName != null) {
            try {
                MemorySegment s = (MemorySegment) statusName.invokeExact(status);
                if (s.address() != 0) name = s.reinterpret(256).getString(0);
            } catch (Throwable ignored) {
                // keep the table's name
            }
        }
        throw new CublasLtException(status, what + ": " + name + " (" + status + ")");
    }

    /**
     * A prepared FP8 block-scaled GEMM, {@code D[M,N] = A[M,K] . B[N,K]^T} in docs/CONTRACT.md's layouts;
     * see {@link CublasLtMatmul} for the mapping onto cuBLAS's column-major operands.
     */
    public CublasLtMatmul fp8BlockScaled(int m, int n, int k, long workspaceBytes) {
        return CublasLtMatmul.fp8BlockScaled(this, m, n, k, workspaceBytes);
    }

    /** A prepared BF16 GEMM {@code D[M,N] = A[M,K] . B[N,K]^T} (FP32 accumulation, BF16 out). */
    public CublasLtMatmul bf16(int m, int n, int k, long workspaceBytes) {
        return CublasLtMatmul.bf16(this, m, n, k, workspaceBytes);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            check((int) destroy.invokeExact(handle), "cublasLtDestroy");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            arena.close();
        }
    }

    /** Reads a float the library wrote into a heuristic result (for reports). */
    static float wavesCount(MemorySegment result) {
        return result.get(JAVA_FLOAT, HEURISTIC_WAVES_OFFSET);
    }
}
