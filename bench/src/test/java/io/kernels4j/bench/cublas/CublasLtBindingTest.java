package io.kernels4j.bench.cublas;

import static io.kernels4j.bench.cublas.CublasLtApi.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cuBLASLt binding against a stand-in library (src/test/resources/fake-cublaslt, compiled here
 * with the system C compiler) that records what it is called with: no GPU and no CUDA needed. This
 * checks the Panama side (signatures, argument order, attribute values and sizes, the column-major
 * mapping, heuristic result handling); whether real cuBLASLt computes the right product with these
 * settings is checked on a GPU by the gemm bench's output comparison.
 */
class CublasLtBindingTest {
    @TempDir
    static Path dir;
    static Path lib;
    static MethodHandle get;

    @BeforeAll
    static void compileFake() throws Exception {
        Path src = dir.resolve("fake_cublaslt.c");
        try (InputStream in = CublasLtBindingTest.class.getResourceAsStream("/fake-cublaslt/fake_cublaslt.c")) {
            Files.copy(in, src);
        }
        lib = dir.resolve("libcublasLt.so.13");
        String path = System.getenv("PATH");
        if (path == null || path.isBlank()) // e.g. the bundle's env -i smoke: a compiler cannot find its tools
            Assumptions.abort("no PATH: cannot run the C compiler to build the stand-in cuBLASLt");
        Process p;
        try {
            p = new ProcessBuilder("cc", "-shared", "-fPIC", "-O1", "-o", lib.toString(), src.toString())
                    .redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            Assumptions.abort("no C compiler (cc) to build the stand-in cuBLASLt: " + e.getMessage());
            return;
        }
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "cc failed:\n" + log);
        SymbolLookup l = SymbolLookup.libraryLookup(lib, Arena.global());
        get = Linker.nativeLinker().downcallHandle(l.findOrThrow("fake_get"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    }

    static long fake(int key) throws Throwable {
        return (long) get.invokeExact(key);
    }

    @Test
    void notFoundIsOneLineNamingWhatWasTried() {
        List<String> msgs = new ArrayList<>();
        Optional<CublasLt> lt = CublasLt.load("/nonexistent/dir/libcublasLt.so.13", msgs::add);
        if (lt.isPresent()) { // a real cuBLASLt on this machine's loader path
            lt.get().close();
            return;
        }
        assertEquals(1, msgs.size());
        String m = msgs.get(0);
        assertTrue(m.startsWith("cuBLASLt not found (tried /nonexistent/dir/libcublasLt.so.13, libcublasLt.so.13, libcublasLt.so.12, libcublasLt.so")
                && m.endsWith("); peer columns skipped") && !m.contains("\n"), m);
    }

    @Test
    void explicitPathComesFirstAndDirectoriesAreSearched() {
        List<String> c = CublasLt.candidates(dir.toString());
        assertEquals(lib.toAbsolutePath().toString(), c.get(0));
        assertTrue(c.containsAll(CublasLt.SONAMES));
    }

    @Test
    void fp8PlanAndLaunchMapOntoColumnMajorCublas() throws Throwable {
        List<String> msgs = new ArrayList<>();
        try (CublasLt lt = CublasLt.load(lib.toString(), msgs::add).orElseThrow(() -> new AssertionError(msgs))) {
            assertEquals("cuBLASLt 13.0.0 (" + lib.toAbsolutePath() + ")", lt.describe());
            int m = 64, n = 2112, k = 7168;
            long layoutsBefore = fake(400);
            try (CublasLtMatmul mm = lt.fp8BlockScaled(m, n, k, 32L << 20)) {
                assertEquals(CUBLAS_COMPUTE_32F, fake(403));
                assertEquals(CUDA_R_32F, fake(404));
                assertEquals(CUBLAS_OP_T, fake(100 + CUBLASLT_MATMUL_DESC_TRANSA));
                assertEquals(4, fake(200 + CUBLASLT_MATMUL_DESC_TRANSA), "cublasOperation_t is 4 bytes");
                assertEquals(CUBLAS_OP_N, fake(100 + CUBLASLT_MATMUL_DESC_TRANSB));
                assertEquals(5, fake(100 + CUBLASLT_MATMUL_DESC_A_SCALE_MODE), "A' = our weights: BLK128x128_32F");
                assertEquals(4, fake(100 + CUBLASLT_MATMUL_DESC_B_SCALE_MODE), "B' = our activations: VEC128_32F");
                assertEquals(4, fake(200 + CUBLASLT_MATMUL_DESC_A_SCALE_MODE));
                int l0 = (int) layoutsBefore;
                long[][] want = {{CUDA_R_8F_E4M3, k, n, k}, {CUDA_R_8F_E4M3, k, m, k}, {CUDA_R_16BF, n, m, n}};
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 4; j++)
                        assertEquals(want[i][j], fake(300 + 4 * (l0 + i) + j), "layout " + i + " field " + j);
                assertEquals(32L << 20, fake(401), "preference MAX_WORKSPACE_BYTES");

                long a = 0x1000, as = 0x2000, b = 0x3000, bs = 0x4000, d = 0x5000, ws = 0x6000;
                mm.launch(a, as, b, bs, d, ws, 32L << 20, MemorySegment.ofAddress(0x7000));
                assertEquals(bs, fake(100 + CUBLASLT_MATMUL_DESC_A_SCALE_POINTER), "A' scales are our weight scales");
                assertEquals(8, fake(200 + CUBLASLT_MATMUL_DESC_A_SCALE_POINTER));
                assertEquals(as, fake(100 + CUBLASLT_MATMUL_DESC_B_SCALE_POINTER), "B' scales are our activation scales");
                assertEquals(b, fake(0), "cuBLAS A' is our B");
                assertEquals(a, fake(2), "cuBLAS B' is our A");
                assertEquals(d, fake(4), "C = D (beta = 0)");
                assertEquals(d, fake(6));
                assertEquals(fake(5), fake(7), "C and D share the layout");
                assertEquals(0xABCD, fake(8), "the first heuristic result that fits the workspace");
                assertEquals(1L << 20, mm.algoWorkspace());
                assertEquals(ws, fake(9));
                assertEquals(32L << 20, fake(10));
                assertEquals(0x7000, fake(11), "the stream");
                assertEquals(1000, fake(12), "alpha = 1");
                assertEquals(0, fake(13), "beta = 0");
            }
        }
    }

    @Test
    void bf16PlanUsesBf16OperandsAndNoScaleModes() throws Throwable {
        try (CublasLt lt = CublasLt.load(lib.toString(), s -> {}).orElseThrow();
             CublasLtMatmul mm = lt.bf16(128, 4096, 7168, 1L << 20)) {
            long l0 = fake(400) - 3;
            assertEquals(CUDA_R_16BF, fake(300 + 4 * (int) l0));
            assertEquals(CUDA_R_16BF, fake(300 + 4 * ((int) l0 + 1)));
            mm.launch(0x10, 0, 0x20, 0, 0x30, 0x40, 1L << 20, MemorySegment.NULL);
            assertEquals(0x20, fake(0));
            assertEquals(0x10, fake(2));
        }
    }

    @Test
    void shapesTheScaleLayoutsCannotExpressAreRefused() {
        try (CublasLt lt = CublasLt.load(lib.toString(), s -> {}).orElseThrow()) {
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> lt.fp8BlockScaled(65, 2112, 7168, 1 << 20));
            assertTrue(e.getMessage().startsWith("m: "), e.getMessage());
            e = assertThrows(UnsupportedOperationException.class, () -> lt.fp8BlockScaled(64, 2112, 640, 1 << 20));
            assertTrue(e.getMessage().startsWith("k: "), e.getMessage());
            assertThrows(UnsupportedOperationException.class, () -> lt.bf16(64, 64, 100, 1 << 20));
        }
    }

    @Test
    void workspaceSmallerThanTheAlgorithmNeedsIsRefused() {
        try (CublasLt lt = CublasLt.load(lib.toString(), s -> {}).orElseThrow();
             CublasLtMatmul mm = lt.fp8BlockScaled(64, 2112, 7168, 32L << 20)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> mm.launch(1, 2, 3, 4, 5, 6, 1000, MemorySegment.NULL));
            assertTrue(e.getMessage().startsWith("workspaceBytes: "), e.getMessage());
        }
    }
}
