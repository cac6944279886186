package io.kernels4j.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kernels4j.ops.internal.Checks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Messages of {@link Checks}: the argument's name first, then what was expected and what was given. */
class ChecksTest {

    private static void assertMessage(String expected, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertEquals(expected, e.getMessage());
    }

    @Test
    void scalarChecks() {
        assertMessage("m: must be > 0, got 0", () -> Checks.requirePositive(0, "m"));
        assertMessage("n: must be >= 0, got -3", () -> Checks.requireNonNegative(-3, "n"));
        assertMessage("k: must be a multiple of 16, got 100", () -> Checks.requireMultiple(100, 16, "k"));
        assertMessage("something is off", () -> Checks.require(false, "something is off"));
        assertEquals(5, Checks.requirePositive(5, "m"));
        assertEquals(0, Checks.requireNonNegative(0, "n"));
        Checks.requireMultiple(112, 16, "k");
        Checks.require(true, "unused");
    }

    @Test
    void nullChecksNameTheArgument() {
        assertMessage("stream: must not be null", () -> Checks.requireNonNull(null, "stream"));
        assertMessage("a: must not be null", () -> Checks.requireTensor(null, "a", DType.FP8_E4M3, 64, 128));
        assertMessage("b: must not be null", () -> Checks.requireDType(null, "b", DType.BF16));
        assertMessage("workspace: must not be null", () -> Checks.requireBytes(null, "workspace", 1024));
        assertEquals("x", Checks.requireNonNull("x", "s"));
        assertNull(Checks.optionalTensor(null, "c", DType.FP32, 1, 2), "an absent optional tensor is fine");
        Checks.requireAligned(null, "c", 16); // absent: nothing to check
        Checks.requireSameDevice(null, (DeviceTensor) null);
    }

    @Test
    void shapeDescriptionsUseStarForAny() {
        assertEquals("FP8_E4M3[2112, 7168]", Checks.describe(DType.FP8_E4M3, new long[] {2112, 7168}));
        assertEquals("BF16[*, 576]", Checks.describe(DType.BF16, new long[] {Checks.ANY, 576}));
        assertEquals("INT32[]", Checks.describe(DType.INT32, new long[0]));
    }
}
