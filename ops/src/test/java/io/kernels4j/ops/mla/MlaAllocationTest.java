package io.kernels4j.ops.mla;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Simulated;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.testing.AllocationMeter;
import org.junit.jupiter.api.Test;

/** The host side of every MLA call (all checks up to the launch) allocates nothing on the Java heap. */
class MlaAllocationTest {
    private static final int B = 4, SQ = 2, HQ = 128, PAGE = 64, MAXB = 16, SMS = 132;
    private final Device dev = Simulated.device(0);
    private final Stream stream = Simulated.stream(dev);

    private DeviceTensor t(DType dtype, long... shape) {
        return Simulated.tensor(dev, dtype, shape);
    }

    @Test
    void schedule() {
        DeviceTensor seqlens = t(DType.INT32, B), buffer = t(DType.INT32, MlaShapes.scheduleInts(B, SMS, 0));
        AllocationMeter.assertNoAllocation("MlaDecode.schedule",
                () -> MlaArgs.checkSchedule(seqlens, PAGE, MAXB, SMS, 0, buffer, stream));
        AllocationMeter.assertNoAllocation("MlaDecode.schedule (fixed splits)",
                () -> MlaArgs.checkSchedule(seqlens, PAGE, MAXB, SMS, 8, buffer, stream));
    }

    @Test
    void forward() {
        var schedule = new MlaDecode.Schedule(t(DType.INT32, MlaShapes.scheduleInts(B, SMS, 0)), B, PAGE, MAXB, SMS, 0);
        DeviceTensor q = t(DType.BF16, B, SQ, HQ, 576), table = t(DType.INT32, B, MAXB), seqlens = t(DType.INT32, B),
                ws = t(DType.FP32, MlaShapes.workspaceBytes(B, SQ, HQ, SMS, 0) / 4), out = t(DType.BF16, B, SQ, HQ, 512),
                lse = t(DType.FP32, B, HQ, SQ);
        DeviceTensor bf16 = t(DType.BF16, 10, PAGE, 1, 576), fp8 = t(DType.FP8_E4M3, 10, PAGE, 1, 656);
        assertEquals(1, MlaArgs.checkForward(q, fp8, table, seqlens, schedule, 0.07f, ws, out, lse, stream));
        AllocationMeter.assertNoAllocation("MlaDecode.forward (BF16 cache)",
                () -> MlaArgs.checkForward(q, bf16, table, seqlens, schedule, 0.07f, ws, out, lse, stream));
        AllocationMeter.assertNoAllocation("MlaDecode.forward (FP8 cache)",
                () -> MlaArgs.checkForward(q, fp8, table, seqlens, schedule, 0.07f, ws, out, lse, stream));
    }

    @Test
    void kvCacheWrite() {
        DeviceTensor kvNew = t(DType.BF16, 8, 1, 576), slots = t(DType.INT32, 8);
        DeviceTensor bf16 = t(DType.BF16, 10, PAGE, 1, 576), fp8 = t(DType.FP8_E4M3, 10, PAGE, 1, 656);
        AllocationMeter.assertNoAllocation("MlaKvCache.write (BF16 cache)", () -> MlaArgs.checkWrite(kvNew, slots, bf16, stream));
        AllocationMeter.assertNoAllocation("MlaKvCache.write (FP8 cache)", () -> MlaArgs.checkWrite(kvNew, slots, fp8, stream));
    }

    /** The allocation-free predicates reject what the full checks reject (edge cases; the robustness properties hold the rest). */
    @Test
    void fastChecksRejectWhatTheFullChecksReject() {
        DeviceTensor kvNew = t(DType.BF16, 8, 1, 576), slots = t(DType.INT32, 8), bf16 = t(DType.BF16, 10, PAGE, 1, 576);
        assertEquals(1, MlaArgs.writeOk(kvNew, slots, bf16));
        assertEquals(-1, MlaArgs.writeOk(kvNew, t(DType.INT32, 7), bf16));
        assertEquals(-1, MlaArgs.writeOk(kvNew, slots, t(DType.BF16, 10, 24, 1, 576)));
        assertEquals(-1, MlaArgs.writeOk(kvNew, slots, t(DType.FP32, 10, PAGE, 1, 576)));
        DeviceTensor seqlens = t(DType.INT32, B), buffer = t(DType.INT32, MlaShapes.scheduleInts(B, SMS, 0));
        assertTrue(MlaArgs.scheduleOk(seqlens, PAGE, MAXB, SMS, 0, buffer));
        assertTrue(!MlaArgs.scheduleOk(seqlens, PAGE, MAXB, SMS, 65, buffer));
        assertTrue(!MlaArgs.scheduleOk(seqlens, PAGE, MAXB, SMS + 1, 0, buffer));
    }
}
