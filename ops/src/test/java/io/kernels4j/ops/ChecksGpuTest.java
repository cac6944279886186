package io.kernels4j.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kernels4j.ops.internal.Checks;
import io.kernels4j.ops.testing.GpuTestSupport;
import io.kernels4j.ops.testing.RequiresGpu;
import org.junit.jupiter.api.Test;

/**
 * Tensor messages of {@link Checks}. Tensors need a {@link Device}, which needs a GPU; they wrap a
 * fake address and are never dereferenced.
 */
@RequiresGpu
class ChecksGpuTest {
    private static final long FAKE = 0x7f0000001000L;

    @Test
    void tensorDtypeShapeAndAlignmentMessages() {
        Device d = GpuTestSupport.device();
        DeviceTensor t = DeviceTensor.wrap(FAKE, DType.BF16, d, 2112, 7168);
        assertSame(t, Checks.requireTensor(t, "b", DType.BF16, 2112, Checks.ANY));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Checks.requireTensor(t, "b", DType.FP8_E4M3, 2112, 7168));
        assertEquals("b: expected FP8_E4M3[2112, 7168], got BF16[2112, 7168]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Checks.requireTensor(t, "b", DType.BF16, Checks.ANY, 7168, 1));
        assertEquals("b: expected BF16[*, 7168, 1], got BF16[2112, 7168]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Checks.requireDType(t, "b", DType.FP32, DType.INT32));
        assertEquals("b: expected dtype one of [FP32, INT32], got BF16[2112, 7168]", e.getMessage());
        DeviceTensor odd = DeviceTensor.wrap(FAKE + 2, DType.BF16, d, 8);
        e = assertThrows(IllegalArgumentException.class, () -> Checks.requireAligned(odd, "q", 16));
        assertEquals("q: device address 0x" + Long.toHexString(FAKE + 2) + " is not 16-byte aligned", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Checks.requireBytes(odd, "workspace", 17));
        assertEquals("workspace: needs at least 17 bytes, got 16 (" + odd + ")", e.getMessage());
    }
}
