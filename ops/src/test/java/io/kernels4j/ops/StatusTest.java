package io.kernels4j.ops;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.internal.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** {@link Status#check} maps every kind of k4j status to the exception the Java layer promises. */
class StatusTest {

    /** Makes a real native call fail with an argument error, so that k4j_last_error() holds its message. */
    private static int failNatively() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocate(JAVA_FLOAT, 1), out = a.allocate(JAVA_BYTE, 1);
            return (int) Kernels4jNative.k4j_host_f32_to_e4m3.invokeExact(in, out, -1L, 1);
        }
    }

    @Test
    void okDoesNotThrow() {
        Status.check(Kernels4jNative.K4J_OK, "Op.ok");
    }

    @Test
    void invalidArgumentIsIllegalArgumentWithTheNativeMessage() throws Throwable {
        int rc = failNatively();
        assertEquals(Kernels4jNative.K4J_ERR_INVALID_ARGUMENT, rc);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Status.check(rc, "Fp8.cast"));
        assertEquals("Fp8.cast: n: must be >= 0, got -1", e.getMessage());
    }

    @Test
    void unsupportedIsUnsupportedOperation() throws Throwable {
        failNatively();
        RuntimeException e = Status.exception(Kernels4jNative.K4J_ERR_UNSUPPORTED, "Mla.decode");
        assertInstanceOf(UnsupportedOperationException.class, e);
        assertTrue(e.getMessage().startsWith("Mla.decode: "), e.getMessage());
    }

    @Test
    void positiveIsCudaExceptionWithTheCudaName() {
        CudaException e = assertThrows(CudaException.class, () -> Status.check(2, "Moe.dispatch"));
        assertEquals(2, e.code());
        assertEquals("cudaErrorMemoryAllocation", e.errorName());
        assertTrue(e.getMessage().startsWith("Moe.dispatch: "), e.getMessage());
        CudaException launch = assertThrows(CudaException.class, () -> Status.check(209, "Gemm.dense"));
        assertEquals("cudaErrorNoKernelImageForDevice", launch.errorName());
    }

    @Test
    void otherNegativeIsIllegalStateWithTheStatus() {
        RuntimeException e = Status.exception(Kernels4jNative.K4J_ERR_INTERNAL, "Op.x");
        assertInstanceOf(IllegalStateException.class, e);
        assertTrue(e.getMessage().endsWith("(status -3)"), e.getMessage());
        assertInstanceOf(IllegalStateException.class, Status.exception(-42, "Op.y"));
    }

    @Test
    void cudaExceptionCarriesCodeAndName() {
        CudaException e = new CudaException(700, "cudaErrorIllegalAddress", "boom");
        assertEquals(700, e.code());
        assertEquals("cudaErrorIllegalAddress", e.errorName());
        assertEquals("boom", e.getMessage());
        assertInstanceOf(RuntimeException.class, e);
    }

    @Test
    void deviceDataExceptionDescribesEveryBit() {
        assertEquals("none", DeviceDataException.describe(0));
        String all = DeviceDataException.describe(Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE
                | Kernels4jNative.K4J_DEVERR_LENGTH_OUT_OF_RANGE | Kernels4jNative.K4J_DEVERR_CAPACITY_OVERFLOW | 0x40);
        assertTrue(all.contains("index out of range") && all.contains("length out of range")
                && all.contains("capacity overflow") && all.contains("unknown bits 0x40"), all);
        DeviceDataException e = new DeviceDataException(Kernels4jNative.K4J_DEVERR_CAPACITY_OVERFLOW);
        assertEquals(Kernels4jNative.K4J_DEVERR_CAPACITY_OVERFLOW, e.bits());
        assertTrue(e.getMessage().startsWith("kernels skipped invalid device data: capacity overflow"), e.getMessage());
    }
}
