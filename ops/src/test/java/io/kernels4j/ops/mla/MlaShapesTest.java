package io.kernels4j.ops.mla;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.mla.MlaShapes.Spec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** CPU tests of the MLA ops' host-side argument checks and size arithmetic (no GPU needed). */
class MlaShapesTest {
    static final int B = 3, SQ = 2, HQ = 16, HKV = 2, PAGE = 64, MAXB = 5, SMS = 132;
    static final MlaDecode.Schedule SCHED = new MlaDecode.Schedule(null, B, PAGE, MAXB, SMS, 0);

    Spec q = new Spec(DType.BF16, B, SQ, HQ, 576);
    Spec kv = new Spec(DType.BF16, 10, PAGE, HKV, 576);
    Spec table = new Spec(DType.INT32, B, MAXB);
    Spec seqlens = new Spec(DType.INT32, B);
    Spec out = new Spec(DType.BF16, B, SQ, HQ, 512);
    Spec lse = new Spec(DType.FP32, B, HQ, SQ);
    Spec ws = new Spec(DType.FP32, MlaShapes.workspaceBytes(B, SQ, HQ, SMS, 0) / 4);

    void forward() {
        MlaShapes.checkForward(q, kv, table, seqlens, SCHED, 0.135f, ws, out, lse);
    }

    static void rejects(String prefix, Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().startsWith(prefix), "message should start with '" + prefix + "': " + ex.getMessage());
    }

    @Test
    void sizes() {
        assertEquals(B + SMS, MlaShapes.maxWork(B, SMS, 0));
        assertEquals(B * 4L, MlaShapes.maxWork(B, SMS, 4));
        assertEquals(4L * (B + SMS) + 2L * B, MlaShapes.scheduleInts(B, SMS, 0));
        assertEquals((long) (B + SMS) * SQ * HQ * 513 * 4, MlaShapes.workspaceBytes(B, SQ, HQ, SMS, 0));
        rejects("fixedSplits", () -> MlaShapes.maxWork(B, SMS, 65));
        rejects("numSms", () -> MlaShapes.maxWork(B, 0, 0));
        rejects("batch", () -> MlaShapes.maxWork(0, SMS, 0));
    }

    @Test
    void validForwardPasses() {
        assertDoesNotThrow(this::forward);
        kv = new Spec(DType.FP8_E4M3, 10, PAGE, HKV, 656);
        assertEquals(HKV, MlaShapes.checkForward(q, kv, table, seqlens, SCHED, 0.135f, ws, out, lse));
    }

    @Test
    void forwardRejectsBadArgumentsNamingThem() {
        Spec good;
        good = q; q = new Spec(DType.FP32, B, SQ, HQ, 576); rejects("q: expected BF16", this::forward); q = good;
        good = q; q = new Spec(DType.BF16, B, SQ, HQ, 512); rejects("q: expected", this::forward); q = good;
        good = q; q = new Spec(DType.BF16, B + 1, SQ, HQ, 576); rejects("q: expected", this::forward); q = good;
        good = kv; kv = new Spec(DType.BF16, 10, PAGE, 3, 576); rejects("q: hQ = 16 must be a multiple of hKV = 3", this::forward); kv = good;
        good = kv; kv = new Spec(DType.BF16, 10, 32, HKV, 576); rejects("kvCache: expected BF16[*, 64, *, 576]", this::forward); kv = good;
        good = kv; kv = new Spec(DType.FP8_E4M3, 10, PAGE, HKV, 576); rejects("kvCache: expected FP8_E4M3", this::forward); kv = good;
        good = kv; kv = new Spec(DType.FP32, 10, PAGE, HKV, 576); rejects("kvCache: expected BF16", this::forward); kv = good;
        good = table; table = new Spec(DType.INT32, B, MAXB + 1); rejects("blockTable: expected INT32[3, 5]", this::forward); table = good;
        good = seqlens; seqlens = new Spec(DType.FP32, B); rejects("cacheSeqlens: expected INT32[3]", this::forward); seqlens = good;
        good = out; out = new Spec(DType.BF16, B, SQ, HQ, 576); rejects("out: expected BF16[3, 2, 16, 512]", this::forward); out = good;
        good = lse; lse = new Spec(DType.FP32, B, SQ, HQ); rejects("lse: expected FP32[3, 16, 2]", this::forward); lse = good;
        good = ws; ws = new Spec(DType.FP32, ws.shape()[0] - 1); rejects("workspace: needs at least", this::forward); ws = good;
        rejects("softmaxScale", () -> MlaShapes.checkForward(q, kv, table, seqlens, SCHED, Float.NaN, ws, out, lse));
        rejects("softmaxScale", () -> MlaShapes.checkForward(q, kv, table, seqlens, SCHED, 0f, ws, out, lse));
        rejects("schedule", () -> MlaShapes.checkForward(q, kv, table, seqlens, null, 0.1f, ws, out, lse));
        rejects("q: must not be null", () -> MlaShapes.checkForward(null, kv, table, seqlens, SCHED, 0.1f, ws, out, lse));
    }

    @Test
    void scheduleChecks() {
        Spec buf = new Spec(DType.INT32, MlaShapes.scheduleInts(B, SMS, 0));
        assertDoesNotThrow(() -> MlaShapes.checkSchedule(seqlens, PAGE, MAXB, SMS, 0, buf));
        rejects("pageSize: must be a positive multiple of 16 below 2^31, got 40", () -> MlaShapes.checkSchedule(seqlens, 40, MAXB, SMS, 0, buf));
        rejects("schedule: needs at least", () -> MlaShapes.checkSchedule(seqlens, PAGE, MAXB, SMS, 2,
                new Spec(DType.INT32, MlaShapes.scheduleInts(B, SMS, 2) - 1)));
        rejects("cacheSeqlens: expected INT32[*]", () -> MlaShapes.checkSchedule(table, PAGE, MAXB, SMS, 0, buf));
        rejects("maxBlocksPerSeq", () -> MlaShapes.checkSchedule(seqlens, PAGE, 0, SMS, 0, buf));
        rejects("schedule: expected INT32", () -> MlaShapes.checkSchedule(seqlens, PAGE, MAXB, SMS, 0, new Spec(DType.FP32, 1000)));
    }

    @Test
    void kvCacheWriteChecks() {
        Spec rows = new Spec(DType.BF16, 7, HKV, 576);
        Spec slots = new Spec(DType.INT32, 7);
        assertEquals(HKV, MlaShapes.checkKvCacheWrite(rows, slots, new Spec(DType.FP8_E4M3, 4, 16, HKV, 656)));
        assertEquals(HKV, MlaShapes.checkKvCacheWrite(rows, slots, new Spec(DType.BF16, 4, 16, HKV, 576)));
        rejects("slotMapping: expected INT32[7]", () -> MlaShapes.checkKvCacheWrite(rows, new Spec(DType.INT32, 6),
                new Spec(DType.BF16, 4, 16, HKV, 576)));
        rejects("kvCache: expected FP8_E4M3[*, *, 2, 656]", () -> MlaShapes.checkKvCacheWrite(rows, slots,
                new Spec(DType.FP8_E4M3, 4, 16, HKV, 576)));
        rejects("pageSize", () -> MlaShapes.checkKvCacheWrite(rows, slots, new Spec(DType.BF16, 4, 24, HKV, 576)));
        rejects("kvNew: expected BF16[*, *, 576]", () -> MlaShapes.checkKvCacheWrite(new Spec(DType.BF16, 7, 512), slots,
                new Spec(DType.BF16, 4, 16, HKV, 576)));
    }

    /** Dimensions past the int range used to be cast to int (2^32 + k passed as k); the native limits are checked in Java. */
    @Test
    void hugeDimensionsAndNativeLimitsAreRejectedInJava() {
        long huge = (1L << 32) + HQ;
        Spec good;
        good = q; q = new Spec(DType.BF16, B, (1L << 32) + SQ, HQ, 576); rejects("q.shape[1] (sQ): must be in [1, 2^31 - 1]", this::forward); q = good;
        good = q; q = new Spec(DType.BF16, B, SQ, huge, 576); rejects("q.shape[2] (hQ): must be in [1, 2^31 - 1]", this::forward); q = good;
        good = kv; kv = new Spec(DType.BF16, 10, PAGE, (1L << 32) + HKV, 576); rejects("kvCache.shape[2] (hKV)", this::forward); kv = good;
        // sQ * hQ past 2^20 (the native limit) with both factors in int range
        good = q; q = new Spec(DType.BF16, B, 1 << 11, 1 << 10, 576); rejects("q: sQ * hQ must be <= 2^20", this::forward); q = good;
        rejects("sQ: sQ * hQ must be <= 2^20", () -> MlaShapes.workspaceBytes(B, 1 << 11, 1 << 10, SMS, 0));
        rejects("schedule.batch: must be <= 65535", () -> MlaShapes.checkForward(q, kv, table, seqlens,
                new MlaDecode.Schedule(null, 65536, PAGE, MAXB, SMS, 0), 0.1f, ws, out, lse));
        rejects("schedule.maxBlocksPerSeq", () -> MlaShapes.checkForward(q, kv, table, seqlens,
                new MlaDecode.Schedule(null, B, PAGE, (1 << 24) + 1, SMS, 0), 0.1f, ws, out, lse));
        rejects("batch: ", () -> MlaShapes.maxWork(Integer.MAX_VALUE / 4, SMS, 0));
        Spec buf = new Spec(DType.INT32, MlaShapes.scheduleInts(B, SMS, 0));
        rejects("cacheSeqlens.shape[0] (batch)", () -> MlaShapes.checkSchedule(new Spec(DType.INT32, (1L << 32) + B), PAGE, MAXB, SMS, 0, buf));
        rejects("maxBlocksPerSeq: maxBlocksPerSeq * pageSize must be <= 2^30",
                () -> MlaShapes.checkSchedule(seqlens, PAGE, (1 << 24) + 1, SMS, 0, buf));
        assertDoesNotThrow(() -> MlaShapes.checkSchedule(seqlens, PAGE, 1 << 24, SMS, 0, buf));
        Spec rows = new Spec(DType.BF16, 7, HKV, 576);
        Spec slots = new Spec(DType.INT32, 7);
        rejects("kvNew.shape[1] (hKV)", () -> MlaShapes.checkKvCacheWrite(new Spec(DType.BF16, 7, (1L << 32) + HKV, 576), slots,
                new Spec(DType.BF16, 4, 16, (1L << 32) + HKV, 576)));
        rejects("pageSize", () -> MlaShapes.checkKvCacheWrite(rows, slots, new Spec(DType.BF16, 4, (1L << 32) + 16, HKV, 576)));
    }
}
