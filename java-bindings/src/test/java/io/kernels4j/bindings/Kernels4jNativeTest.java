package io.kernels4j.bindings;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Library information and the error channel of the core downcalls (CPU only). */
class Kernels4jNativeTest {

    @Test
    void versionAndBuildInformation() {
        assertTrue(Kernels4jNative.versionString().matches("\\d+\\.\\d+\\.\\d+.*"), Kernels4jNative.versionString());
        String[] archs = Kernels4jNative.cudaArchs();
        assertTrue(Arrays.asList(archs).contains("sm_90a"), "cudaArchs: " + Arrays.toString(archs));
        for (String a : archs) assertTrue(a.matches("(sm|compute)_\\d+a?"), "arch entry '" + a + "'");
        assertTrue(Kernels4jNative.cudaBuildVersion() >= 12080, "built against CUDA " + Kernels4jNative.cudaBuildVersion());
    }

    @Test
    void badArgumentReturnsInvalidArgumentAndNamesIt() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocate(JAVA_FLOAT, 4), out = a.allocate(JAVA_BYTE, 4);
            int rc = (int) Kernels4jNative.k4j_host_f32_to_e4m3.invokeExact(in, out, -1L, 1);
            assertEquals(Kernels4jNative.K4J_ERR_INVALID_ARGUMENT, rc);
            assertEquals("n: must be >= 0, got -1", Kernels4jNative.lastError());
            rc = (int) Kernels4jNative.k4j_host_f32_to_bf16.invokeExact(MemorySegment.NULL, out, 1L);
            assertEquals(Kernels4jNative.K4J_ERR_INVALID_ARGUMENT, rc);
            assertTrue(Kernels4jNative.lastError().startsWith("in/out:"), Kernels4jNative.lastError());
        }
    }

    @Test
    void hostConversionsWork() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocateFrom(JAVA_FLOAT, 1f, 448f, 1000f, -0.5f), out = a.allocate(JAVA_BYTE, 4);
            int rc = (int) Kernels4jNative.k4j_host_f32_to_e4m3.invokeExact(in, out, 4L, 1);
            assertEquals(Kernels4jNative.K4J_OK, rc);
            assertEquals("[56, 126, 126, -80]", Arrays.toString(out.toArray(JAVA_BYTE)));
            MemorySegment back = a.allocate(JAVA_FLOAT, 4);
            rc = (int) Kernels4jNative.k4j_host_e4m3_to_f32.invokeExact(out, back, 4L);
            assertEquals(Kernels4jNative.K4J_OK, rc);
            assertEquals("[1.0, 448.0, 448.0, -0.5]", Arrays.toString(back.toArray(JAVA_FLOAT)));
        }
    }

    @Test
    void cStringOfNullIsEmpty() {
        assertEquals("", Kernels4jNative.cString(MemorySegment.NULL));
    }
}
