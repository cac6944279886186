package io.kernels4j.ops.robustness;

import static org.junit.jupiter.api.Assertions.*;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceDataException;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.mla.MlaDecode;
import io.kernels4j.ops.mla.MlaKvCache;
import io.kernels4j.ops.testing.GpuTestSupport;
import io.kernels4j.ops.testing.RequiresGpu;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Bad device-side data for the MLA ops: slots, page ids and sequence lengths the host cannot see.
 * The kernels must skip or clamp them, raise the right K4J_DEVERR bits, and leave every byte outside
 * their outputs untouched (guard bands around cache, outputs and workspace hold a poison pattern).
 */
@RequiresGpu
class MlaBadDataGpuTest {
    static final short POISON = (short) 0x7FC1; // a BF16 NaN
    static final int POISON32 = 0x7FC00001; // an FP32 NaN
    static final int PAGE = 64, BLOCKS = 8, HQ = 16, MAXB = 4;

    static short[] randomBf16(SplittableRandom r, int n) {
        short[] v = new short[n];
        for (int i = 0; i < n; i++) v[i] = (short) (Float.floatToIntBits((float) (r.nextGaussian() * 0.5)) >>> 16);
        return v;
    }

    /** [BLOCKS + 2] pages of which [1, BLOCKS + 1) is the cache; pages 0 and BLOCKS + 1 are guards. */
    static DeviceTensor guardedCache(Device d) {
        return DeviceTensor.allocate(d, DType.BF16, BLOCKS + 2, PAGE, 1, 576);
    }

    @Test
    void cacheWriteSkipsBadSlotsAndTouchesNothingElse() {
        Device d = GpuTestSupport.device();
        SplittableRandom r = new SplittableRandom(GpuTestSupport.seed("MlaBadDataGpuTest.write"));
        int[] slots = {0, 65, -1, BLOCKS * PAGE, Integer.MAX_VALUE, -7, BLOCKS * PAGE - 1};
        short[] rows = randomBf16(r, slots.length * 576);
        try (Stream s = Stream.create(d); DeviceTensor full = guardedCache(d);
                DeviceTensor kvNew = DeviceTensor.allocate(d, DType.BF16, slots.length, 1, 576);
                DeviceTensor slotMap = DeviceTensor.allocate(d, DType.INT32, slots.length)) {
            DeviceTensor cache = full.slice(1, BLOCKS + 1);
            full.fill(POISON, s);
            s.synchronize();
            kvNew.copyFrom(rows);
            slotMap.copyFrom(slots);
            MlaKvCache.write(kvNew, slotMap, cache, s);
            assertEquals(Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE, s.deviceErrors());
            DeviceDataException e = assertThrows(DeviceDataException.class, s::checkDeviceErrors);
            assertEquals(Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE, e.bits());
            s.checkDeviceErrors(); // cleared
            short[] all = full.toShortArray();
            int written = 0;
            for (int row = 0; row < (BLOCKS + 2) * PAGE; row++) {
                int slot = row - PAGE; // cache slot of this row (guards outside [0, BLOCKS * PAGE))
                int token = -1;
                for (int t = 0; t < slots.length; t++) if (slots[t] == slot && slot >= 0 && slot < BLOCKS * PAGE) token = t;
                for (int k = 0; k < 576; k++) {
                    short got = all[row * 576 + k];
                    if (token >= 0) assertEquals(rows[token * 576 + k], got, "slot " + slot + " value " + k);
                    else assertEquals(POISON, got, "row " + row + " (slot " + slot + ") was written");
                }
                if (token >= 0) written++;
            }
            assertEquals(3, written);
        }
    }

    @Test
    void decodeSkipsBadPagesClampsBadLengthsAndStaysInsideItsOutputs() {
        Device d = GpuTestSupport.device();
        SplittableRandom r = new SplittableRandom(GpuTestSupport.seed("MlaBadDataGpuTest.decode"));
        int b = 4, sQ = 1, sms = d.smCount();
        int[] table = {0, 1, 2, 3, /* bad ids */ 4, 99, -3, 5, 6, 7, 0, 1, 2, 3, 4, 5};
        int[] seqlens = {100, 150, 1000 /* past the table: clamped to 256 */, -5 /* counts as 0 */};
        for (int fixedSplits : new int[] {0, 2}) {
            long wsBytes = MlaDecode.workspaceBytes(b, sQ, HQ, sms, fixedSplits);
            long ints = MlaDecode.scheduleInts(b, sms, fixedSplits);
            try (Stream s = Stream.create(d); DeviceTensor full = guardedCache(d);
                    DeviceTensor q = DeviceTensor.allocate(d, DType.BF16, b, sQ, HQ, 576);
                    DeviceTensor bt = DeviceTensor.allocate(d, DType.INT32, b, MAXB);
                    DeviceTensor sl = DeviceTensor.allocate(d, DType.INT32, b);
                    DeviceTensor sched = DeviceTensor.allocate(d, DType.INT32, ints);
                    DeviceTensor wsFull = DeviceTensor.allocate(d, DType.FP32, wsBytes / 4 + 4096);
                    DeviceTensor outFull = DeviceTensor.allocate(d, DType.BF16, b + 2, sQ, HQ, 512);
                    DeviceTensor lseFull = DeviceTensor.allocate(d, DType.FP32, b + 2, HQ, sQ)) {
                DeviceTensor cache = full.slice(1, BLOCKS + 1);
                full.copyFrom(randomBf16(r, (BLOCKS + 2) * PAGE * 576));
                q.copyFrom(randomBf16(r, b * sQ * HQ * 576));
                bt.copyFrom(table);
                sl.copyFrom(seqlens);
                DeviceTensor ws = wsFull.slice(0, (wsBytes + 3) / 4);
                DeviceTensor out = outFull.slice(1, b + 1), lse = lseFull.slice(1, b + 1);
                wsFull.fill(POISON32, s);
                outFull.fill(POISON, s);
                lseFull.fill(POISON32, s);
                MlaDecode.Schedule plan = MlaDecode.schedule(sl, PAGE, MAXB, sms, fixedSplits, sched, s);
                MlaDecode.forward(q, cache, bt, sl, plan, 0.0417f, false, ws, out, lse, s);
                int bits = s.deviceErrors();
                assertEquals(Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE | Kernels4jNative.K4J_DEVERR_LENGTH_OUT_OF_RANGE, bits,
                        "fixedSplits " + fixedSplits);
                assertThrows(DeviceDataException.class, s::checkDeviceErrors);

                short[] o = outFull.toShortArray();
                int rowElems = sQ * HQ * 512;
                for (int i = 0; i < o.length; i++) {
                    boolean guard = i < rowElems || i >= (b + 1) * rowElems;
                    if (guard) assertEquals(POISON, o[i], "out guard written at " + i);
                    else assertNotEquals(POISON, o[i], "out not written at " + i);
                    if (!guard) assertFalse(Float.isNaN(Float.intBitsToFloat(o[i] << 16)), "NaN in out at " + i);
                }
                float[] l = lseFull.toFloatArray();
                int lseRow = HQ * sQ;
                for (int i = 0; i < l.length; i++) {
                    boolean guard = i < lseRow || i >= (b + 1) * lseRow;
                    int raw = Float.floatToRawIntBits(l[i]);
                    if (guard) assertEquals(POISON32, raw, "lse guard written at " + i);
                    else assertNotEquals(POISON32, raw, "lse not written at " + i);
                }
                // seqlen -5 counts as 0: no visible key, out = 0 and lse = +inf (docs/CONTRACT.md section 3).
                for (int h = 0; h < HQ; h++) assertEquals(Float.POSITIVE_INFINITY, l[(3 + 1) * lseRow + h], "lse of the empty request");
                float[] w = wsFull.toFloatArray();
                for (long i = (wsBytes + 3) / 4; i < w.length; i++)
                    assertEquals(POISON32, Float.floatToRawIntBits(w[(int) i]), "workspace written past its size at " + i);
            }
        }
    }

    /**
     * A stale or corrupt schedule (made for another batch, SM count or workspace) is validated on the
     * device: work items naming a request past the batch, a slot past the workspace or a bad tile
     * range, and split counts / first slots past the workspace are skipped and flagged; nothing is
     * read or written out of bounds (on the emulated device, memcheck would fail the launch).
     */
    @Test
    void decodeAndCombineSkipAndFlagAStaleSchedule() {
        Device d = GpuTestSupport.device();
        SplittableRandom r = new SplittableRandom(GpuTestSupport.seed("MlaBadDataGpuTest.staleSchedule"));
        int b = 2, sQ = 1, sms = d.smCount(), fixedSplits = 2;
        long wsBytes = MlaDecode.workspaceBytes(b, sQ, HQ, sms, fixedSplits);
        int ints = (int) MlaDecode.scheduleInts(b, sms, fixedSplits);
        int maxWork = (ints - 2 * b) / 4; // layout: WorkItem[maxWork] {request, tileBegin, tileEnd, slot}, numSplits[b], firstSlot[b]
        try (Stream s = Stream.create(d); DeviceTensor full = guardedCache(d);
                DeviceTensor q = DeviceTensor.allocate(d, DType.BF16, b, sQ, HQ, 576);
                DeviceTensor bt = DeviceTensor.allocate(d, DType.INT32, b, MAXB);
                DeviceTensor sl = DeviceTensor.allocate(d, DType.INT32, b);
                DeviceTensor sched = DeviceTensor.allocate(d, DType.INT32, ints);
                DeviceTensor ws = DeviceTensor.allocate(d, DType.FP32, (wsBytes + 3) / 4);
                DeviceTensor out = DeviceTensor.allocate(d, DType.BF16, b, sQ, HQ, 512);
                DeviceTensor lse = DeviceTensor.allocate(d, DType.FP32, b, HQ, sQ)) {
            DeviceTensor cache = full.slice(1, BLOCKS + 1);
            full.copyFrom(randomBf16(r, (BLOCKS + 2) * PAGE * 576));
            q.copyFrom(randomBf16(r, b * sQ * HQ * 576));
            bt.copyFrom(new int[] {0, 1, 2, 3, 4, 5, 6, 7});
            sl.copyFrom(new int[] {200, 100});
            MlaDecode.Schedule plan = MlaDecode.schedule(sl, PAGE, MAXB, sms, fixedSplits, sched, s);
            int[] bad = new int[ints];
            java.util.Arrays.fill(bad, -1);
            int[][] items = {{b, 0, 1, 0}, {0, 0, 1, maxWork}, {1, -4, 1, 1}, {0, 3, 1, 2}, {1, 0, 1, -7}};
            for (int i = 0; i < items.length && i < maxWork; i++) System.arraycopy(items[i], 0, bad, 4 * i, 4);
            bad[4 * maxWork] = 2;          // numSplits[0]: combine runs and reads ...
            bad[4 * maxWork + b] = maxWork; // ... firstSlot[0]: past the workspace
            bad[4 * maxWork + 1] = maxWork + 5; // numSplits[1]: more splits than slots
            bad[4 * maxWork + b + 1] = 0;
            sched.copyFrom(bad);
            MlaDecode.forward(q, cache, bt, sl, plan, 0.0417f, false, ws, out, lse, s);
            s.synchronize();
            assertEquals(Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE, s.deviceErrors());
            assertThrows(DeviceDataException.class, s::checkDeviceErrors);
        }
    }

    /** Debug mode names the op that raised the error; needs the property at class init: a child JVM. */
    @Test
    void debugModeReportsTheMlaOp() throws Exception {
        ChildJvm.Result res = ChildJvm.run(DebugChild.class, 120, "-Dkernels4j.debug=true");
        assertFalse(res.timedOut(), res.output());
        assertEquals(0, res.exitCode(), res.output());
        assertTrue(res.output().contains("MLA-DEBUG-OK"), res.output());
    }

    public static final class DebugChild {
        public static void main(String[] args) {
            Device d = GpuTestSupport.device();
            try (Stream s = Stream.create(d); DeviceTensor cache = DeviceTensor.allocate(d, DType.BF16, BLOCKS, PAGE, 1, 576);
                    DeviceTensor kvNew = DeviceTensor.allocate(d, DType.BF16, 2, 1, 576);
                    DeviceTensor slotMap = DeviceTensor.allocate(d, DType.INT32, 2)) {
                kvNew.fill(0x3F80, s);
                slotMap.copyFrom(new int[] {3, 4});
                MlaKvCache.write(kvNew, slotMap, cache, s); // valid: no exception
                slotMap.copyFrom(new int[] {3, BLOCKS * PAGE + 1});
                try {
                    MlaKvCache.write(kvNew, slotMap, cache, s);
                    throw new AssertionError("debug mode did not report the bad slot");
                } catch (DeviceDataException e) {
                    if (!e.getMessage().startsWith("MlaKvCache.write: ")) throw new AssertionError(e.getMessage());
                    if (e.bits() != Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE) throw new AssertionError("bits " + e.bits());
                }
            }
            System.out.println("MLA-DEBUG-OK");
        }
    }
}
