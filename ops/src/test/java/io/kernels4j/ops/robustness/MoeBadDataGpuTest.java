package io.kernels4j.ops.robustness;

import static org.junit.jupiter.api.Assertions.*;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceDataException;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.moe.MoeCombine;
import io.kernels4j.ops.moe.MoeDispatch;
import io.kernels4j.ops.moe.MoeLayout;
import io.kernels4j.ops.testing.GpuTestSupport;
import io.kernels4j.ops.testing.RequiresGpu;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Bad device-side routing data for the MoE ops: expert ids outside [0, E), more tokens than an
 * expert's capacity, rows outside y. Skipped, clamped or dropped with the right bit; nothing outside
 * the outputs' valid rows is written (poisoned guard rows stay poisoned).
 */
@RequiresGpu
class MoeBadDataGpuTest {
    static final int SENTINEL = 0x7FFFFFF5;
    static final short POISON = (short) 0x7FC1;
    static final int H = 128;

    static long ws(long t, long k, long e) {
        return Math.max(1, (MoeLayout.workspaceBytes(t, k, e) + 3) / 4);
    }

    @Test
    void layoutSkipsExpertIdsOutsideTheRange() {
        Device d = GpuTestSupport.device();
        SplittableRandom r = new SplittableRandom(GpuTestSupport.seed("MoeBadDataGpuTest.layout"));
        int t = 64, k = 4, e = 8, align = 16;
        int[] ids = new int[t * k];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(e);
        ids[0] = e;
        ids[6] = -5;
        ids[9] = Integer.MIN_VALUE;
        ids[15] = -1; // not routed: valid, no error
        int[] perExpert = new int[e];
        for (int id : ids) if (id >= 0 && id < e) perExpert[id]++;
        try (Stream s = Stream.create(d); DeviceTensor topk = DeviceTensor.allocate(d, DType.INT32, t, k);
                DeviceTensor counts = DeviceTensor.allocate(d, DType.INT32, e);
                DeviceTensor offsets = DeviceTensor.allocate(d, DType.INT32, e + 1);
                DeviceTensor rowOfFull = DeviceTensor.allocate(d, DType.INT32, t + 2, k);
                DeviceTensor work = DeviceTensor.allocate(d, DType.INT32, ws(t, k, e))) {
            topk.copyFrom(ids);
            rowOfFull.fill(SENTINEL, s);
            MoeLayout.compute(topk, e, align, counts, offsets, null, rowOfFull.slice(1, t + 1), work, s);
            assertEquals(Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE, s.deviceErrors());
            DeviceDataException ex = assertThrows(DeviceDataException.class, s::checkDeviceErrors);
            assertEquals(Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE, ex.bits());
            assertArrayEquals(perExpert, counts.toIntArray(), "tokens per expert must count valid ids only");
            int[] rowOf = rowOfFull.toIntArray();
            for (int i = 0; i < k; i++) {
                assertEquals(SENTINEL, rowOf[i], "guard row before rowOf written");
                assertEquals(SENTINEL, rowOf[(t + 1) * k + i], "guard row after rowOf written");
            }
            int[] off = offsets.toIntArray();
            for (int p = 0; p < t * k; p++) {
                int row = rowOf[k + p];
                if (ids[p] < 0 || ids[p] >= e) assertEquals(-1, row, "pair " + p + " (id " + ids[p] + ") routed");
                else assertTrue(row >= off[ids[p]] && row < off[ids[p]] + perExpert[ids[p]], "pair " + p + " row " + row);
            }
        }
    }

    @Test
    void maskedDispatchDropsPairsPastTheCapacity() {
        Device d = GpuTestSupport.device();
        SplittableRandom r = new SplittableRandom(GpuTestSupport.seed("MoeBadDataGpuTest.masked"));
        int t = 64, k = 1, e = 4, maxTok = 8;
        int[] ids = new int[t]; // every token to expert 2: 56 pairs over capacity
        java.util.Arrays.fill(ids, 2);
        try (Stream s = Stream.create(d); DeviceTensor x = DeviceTensor.allocate(d, DType.BF16, t, H);
                DeviceTensor topk = DeviceTensor.allocate(d, DType.INT32, t, k);
                DeviceTensor nte = DeviceTensor.allocate(d, DType.INT32, e);
                DeviceTensor offsets = DeviceTensor.allocate(d, DType.INT32, e + 1);
                DeviceTensor rowOf = DeviceTensor.allocate(d, DType.INT32, t, k);
                DeviceTensor work = DeviceTensor.allocate(d, DType.INT32, ws(t, k, e));
                DeviceTensor xOutFull = DeviceTensor.allocate(d, DType.BF16, e + 2, maxTok, H);
                DeviceTensor counts = DeviceTensor.allocate(d, DType.INT32, e);
                DeviceTensor slotOf = DeviceTensor.allocate(d, DType.INT32, t, k);
                DeviceTensor overflow = DeviceTensor.allocate(d, DType.INT32, 1)) {
            x.copyFrom(MlaBadDataGpuTest.randomBf16(r, t * H));
            topk.copyFrom(ids);
            xOutFull.fill(POISON, s);
            MoeLayout.compute(topk, e, 1, nte, offsets, null, rowOf, work, s);
            assertEquals(0, s.deviceErrors());
            MoeDispatch.masked(x, topk, rowOf, nte, offsets, xOutFull.slice(1, e + 1), null, false, counts, slotOf, overflow, s);
            assertEquals(Kernels4jNative.K4J_DEVERR_CAPACITY_OVERFLOW, s.deviceErrors());
            assertThrows(DeviceDataException.class, s::checkDeviceErrors);
            assertEquals(t - maxTok, overflow.toIntArray()[0]);
            assertArrayEquals(new int[] {0, 0, maxTok, 0}, counts.toIntArray());
            int[] slots = slotOf.toIntArray();
            for (int i = 0; i < t; i++) assertEquals(i < maxTok ? 2 * maxTok + i : -1, slots[i], "slotOf[" + i + "]");
            short[] out = xOutFull.toShortArray();
            for (int ex = -1; ex <= e; ex++)
                for (int row = 0; row < maxTok; row++) {
                    boolean written = ex == 2;
                    int base = ((ex + 1) * maxTok + row) * H;
                    for (int j = 0; j < H; j++)
                        if ((out[base + j] == POISON) == written)
                            fail("expert " + ex + " row " + row + (written ? " not written" : " written"));
                }
        }
    }

    @Test
    void combineSkipsRowsOutsideY() {
        Device d = GpuTestSupport.device();
        SplittableRandom r = new SplittableRandom(GpuTestSupport.seed("MoeBadDataGpuTest.combine"));
        int cap = 32, t = 8, k = 2;
        int[] rows = {0, 1, 32, 2, 1_000_000, 3, -3, 4, -1, 5, Integer.MIN_VALUE, 6, 7, 8, 9, -1};
        float[] w = new float[t * k];
        java.util.Arrays.fill(w, 1f);
        try (Stream s = Stream.create(d); DeviceTensor y = DeviceTensor.allocate(d, DType.BF16, cap, H);
                DeviceTensor rowOf = DeviceTensor.allocate(d, DType.INT32, t, k);
                DeviceTensor wt = DeviceTensor.allocate(d, DType.FP32, t, k);
                DeviceTensor outFull = DeviceTensor.allocate(d, DType.BF16, t + 2, H)) {
            short[] yv = MlaBadDataGpuTest.randomBf16(r, cap * H);
            y.copyFrom(yv);
            rowOf.copyFrom(rows);
            wt.copyFrom(w);
            outFull.fill(POISON, s);
            MoeCombine.contiguous(y, rowOf, wt, outFull.slice(1, t + 1), s);
            assertEquals(Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE, s.deviceErrors());
            short[] out = outFull.toShortArray();
            for (int j = 0; j < H; j++) {
                assertEquals(POISON, out[j], "guard before out written");
                assertEquals(POISON, out[(t + 1) * H + j], "guard after out written");
            }
            for (int tok = 0; tok < t; tok++)
                for (int j = 0; j < H; j++) {
                    float ref = 0;
                    for (int kk = 0; kk < k; kk++) {
                        int row = rows[tok * k + kk];
                        if (row >= 0 && row < cap) ref += Float.intBitsToFloat(yv[row * H + j] << 16);
                    }
                    float got = Float.intBitsToFloat(out[(tok + 1) * H + j] << 16);
                    assertEquals(ref, got, Math.abs(ref) * 1e-2f + 1e-6f, "token " + tok + " col " + j);
                }
        }
    }

    /** Debug mode names the op (child JVM: the property is read at class initialisation). */
    @Test
    void debugModeReportsTheMoeOp() throws Exception {
        ChildJvm.Result res = ChildJvm.run(DebugChild.class, 120, "-Dkernels4j.debug=true");
        assertFalse(res.timedOut(), res.output());
        assertEquals(0, res.exitCode(), res.output());
        assertTrue(res.output().contains("MOE-DEBUG-OK"), res.output());
    }

    public static final class DebugChild {
        public static void main(String[] args) {
            Device d = GpuTestSupport.device();
            int t = 4, k = 2, e = 4;
            try (Stream s = Stream.create(d); DeviceTensor topk = DeviceTensor.allocate(d, DType.INT32, t, k);
                    DeviceTensor counts = DeviceTensor.allocate(d, DType.INT32, e);
                    DeviceTensor offsets = DeviceTensor.allocate(d, DType.INT32, e + 1);
                    DeviceTensor rowOf = DeviceTensor.allocate(d, DType.INT32, t, k);
                    DeviceTensor work = DeviceTensor.allocate(d, DType.INT32, ws(t, k, e))) {
                topk.copyFrom(new int[] {0, 1, 2, 3, 0, 1, 2, 3});
                MoeLayout.compute(topk, e, 16, counts, offsets, null, rowOf, work, s); // valid
                topk.copyFrom(new int[] {0, 1, 2, 3, 0, 1, 2, 99});
                try {
                    MoeLayout.compute(topk, e, 16, counts, offsets, null, rowOf, work, s);
                    throw new AssertionError("debug mode did not report the bad expert id");
                } catch (DeviceDataException ex) {
                    if (!ex.getMessage().startsWith("MoeLayout.compute: ")) throw new AssertionError(ex.getMessage());
                }
            }
            System.out.println("MOE-DEBUG-OK");
        }
    }
}
