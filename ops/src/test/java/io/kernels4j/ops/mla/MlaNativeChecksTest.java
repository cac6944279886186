package io.kernels4j.ops.mla;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.bindings.MlaNative;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * The MLA size queries of the native layer on the CPU (an explicit SM count needs no device): they
 * agree with MlaShapes and reject sizes whose int64 products would overflow.
 */
class MlaNativeChecksTest {
    @Test
    void workspaceBytesAgreesWithJavaAndRejectsOverflowingSizes() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment w = a.allocate(ValueLayout.JAVA_LONG);
            int rc = (int) MlaNative.k4j_mla_workspace_bytes.invokeExact(64L, 2L, 128L, 132, 0, w);
            assertEquals(Kernels4jNative.K4J_OK, rc);
            assertEquals(MlaShapes.workspaceBytes(64, 2, 128, 132, 0), w.get(ValueLayout.JAVA_LONG, 0));
            // s_q * h_q = 2^64 wrapped to 0 before the limit: the query used to answer 0 bytes.
            rc = (int) MlaNative.k4j_mla_workspace_bytes.invokeExact(1L, 1L << 32, 1L << 32, 132, 0, w);
            assertRejected(rc, "s_q:");
            rc = (int) MlaNative.k4j_mla_workspace_bytes.invokeExact(1L, 1L << 11, 1L << 10, 132, 0, w);
            assertRejected(rc, "s_q:");
            rc = (int) MlaNative.k4j_mla_workspace_bytes.invokeExact(1L, 1L, 1L << 21, 132, 0, w);
            assertRejected(rc, "h_q:");
        }
    }

    private static void assertRejected(int rc, String prefix) {
        assertEquals(Kernels4jNative.K4J_ERR_INVALID_ARGUMENT, rc);
        String msg = Kernels4jNative.lastError();
        assertTrue(msg.startsWith(prefix), "native message should start with '" + prefix + "': " + msg);
    }
}
