package io.kernels4j.ops.robustness;

import static org.junit.jupiter.api.Assertions.*;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.internal.Status;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * The native layer checks arguments again and rejects before touching the GPU: exercised on the CPU
 * with null device pointers only (never a fake non-null address), so nothing can be dereferenced.
 */
class NativeArgumentChecksTest {
    private static int fill(long dst, long n, int elemSize) throws Throwable {
        return (int) Kernels4jNative.k4j_fill.invokeExact(dst, n, elemSize, 0, MemorySegment.NULL);
    }

    @Test
    void fillRejectsBadArgumentsWithTheirNames() throws Throwable {
        assertRejected(fill(0, -1, 4), "n:");
        assertRejected(fill(0, Long.MIN_VALUE, 2), "n:");
        assertRejected(fill(0, 16, 4), "dst:");
        assertEquals(Kernels4jNative.K4J_OK, fill(0, 0, 3), "n == 0 is a no-op, checked first");
    }

    @Test
    void hostConversionsRejectNullsAndNegativeCounts() throws Throwable {
        int rc = (int) Kernels4jNative.k4j_host_f32_to_bf16.invokeExact(MemorySegment.NULL, MemorySegment.NULL, 4L);
        assertRejected(rc, "in/out:");
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment a = arena.allocate(16), b = arena.allocate(16);
            rc = (int) Kernels4jNative.k4j_host_e4m3_to_f32.invokeExact(a, b, -5L);
            assertRejected(rc, "n:");
        }
    }

    private static void assertRejected(int rc, String prefix) {
        assertEquals(Kernels4jNative.K4J_ERR_INVALID_ARGUMENT, rc);
        String msg = Kernels4jNative.lastError();
        assertTrue(msg.startsWith(prefix), "native message should start with '" + prefix + "': " + msg);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Status.check(rc, "op"));
        assertTrue(e.getMessage().startsWith("op: " + prefix), e.getMessage());
    }
}
