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

    private static boolean accepts(Runnable fullCheck) {
        try {
            fullCheck.run();
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static int ceilDiv(long v, long d) {
        return (int) ((v + d - 1) / d);
    }

    /** Differential: on near-valid random arguments, the allocation-free predicates agree with MlaShapes and the op checks. */
    @Test
    void fastChecksAgreeWithTheFullChecksOnRandomArguments() {
        long seed = io.kernels4j.ops.testing.GpuTestSupport.seed("MlaAllocationTest.differential");
        var f = new io.kernels4j.ops.testing.ShapeFuzz(seed, dev, 0.06);
        int accepted = 0;
        for (int i = 0; i < 4000; i++) {
            int b = (int) f.dim(1 + f.nextInt(6)), sQ = (int) f.dim(1 + f.nextInt(3)), hKV = (int) f.dim(1 + f.nextInt(2)),
                    hQ = (int) f.dim(hKV * 16L * (1 + f.nextInt(4))), page = (int) f.dim(16L * (1 + f.nextInt(4))),
                    maxB = (int) f.dim(1 + f.nextInt(8)), sms = (int) f.dim(1 + f.nextInt(132)), fixed = f.flip() ? 65 : f.nextInt(3) * 4;
            boolean fp8 = f.nextInt(2) == 0;
            DeviceTensor kv = f.tensor(fp8 ? DType.FP8_E4M3 : DType.BF16, f.dim(10), f.dim(page), f.dim(hKV), f.dim(fp8 ? 656 : 576));
            int form = f.nextInt(3);
            boolean fast, full;
            String what;
            if (form == 0) {
                DeviceTensor seqlens = f.tensor(DType.INT32, b);
                long ints = b > 0 && sms > 0 && fixed >= 0 && fixed <= 64 ? MlaShapes.scheduleInts(b, sms, fixed) : 100;
                DeviceTensor buf = f.tensor(DType.INT32, f.dim(ints));
                fast = MlaArgs.scheduleOk(seqlens, page, maxB, sms, fixed, buf);
                full = accepts(() -> {
                    MlaShapes.checkSchedule(MlaShapes.Spec.of(seqlens), page, maxB, sms, fixed, MlaShapes.Spec.of(buf));
                    io.kernels4j.ops.internal.Checks.requireAligned(seqlens, "cacheSeqlens", 4);
                    io.kernels4j.ops.internal.Checks.requireAligned(buf, "schedule", 16);
                });
                what = "schedule " + seqlens + " " + page + " " + maxB + " " + sms + " " + fixed + " " + buf;
            } else if (form == 1) {
                long ints = b > 0 && sms > 0 && fixed >= 0 && fixed <= 64 ? MlaShapes.scheduleInts(b, sms, fixed) : 100;
                long wsBytes = b > 0 && sms > 0 && sQ > 0 && hQ > 0 && fixed >= 0 && fixed <= 64 && (long) sQ * hQ <= (1 << 20)
                        ? MlaShapes.workspaceBytes(b, sQ, hQ, sms, fixed) : 4096;
                var schedule = f.flip() && f.nextInt(4) == 0 ? null
                        : new MlaDecode.Schedule(f.tensor(DType.INT32, f.dim(ints)), (int) f.dim(b), (int) f.dim(page),
                                (int) f.dim(maxB), sms, fixed);
                DeviceTensor q = f.tensor(DType.BF16, b, sQ, hQ, f.dim(576)), table = f.tensor(DType.INT32, f.dim(b), f.dim(maxB)),
                        seqlens = f.tensor(DType.INT32, f.dim(b)), ws = f.tensor(DType.FP32, f.dim(ceilDiv(wsBytes, 4))),
                        out = f.tensor(DType.BF16, f.dim(b), f.dim(sQ), f.dim(hQ), f.dim(512)),
                        lse = f.tensor(DType.FP32, f.dim(b), f.dim(hQ), f.dim(sQ));
                float scale = f.flip() ? Float.NaN : 0.07f;
                int hk = MlaArgs.forwardOk(q, kv, table, seqlens, schedule, scale, ws, out, lse);
                fast = hk >= 0;
                full = accepts(() -> {
                    for (DeviceTensor t : new DeviceTensor[] {q, kv, table, seqlens, ws, out, lse})
                        if (t == null) throw new IllegalArgumentException("null");
                    int h = MlaShapes.checkForward(MlaShapes.Spec.of(q), MlaShapes.Spec.of(kv), MlaShapes.Spec.of(table),
                            MlaShapes.Spec.of(seqlens), schedule, scale, MlaShapes.Spec.of(ws), MlaShapes.Spec.of(out),
                            MlaShapes.Spec.of(lse));
                    io.kernels4j.ops.internal.Checks.requireNonNull(schedule.buffer(), "schedule.buffer");
                    io.kernels4j.ops.internal.Checks.requireDType(schedule.buffer(), "schedule.buffer", DType.INT32);
                    io.kernels4j.ops.internal.Checks.requireBytes(schedule.buffer(), "schedule.buffer",
                            4 * MlaShapes.scheduleInts(schedule.batch(), schedule.numSms(), schedule.fixedSplits()));
                    for (Object[] na : new Object[][] {{q, 16}, {kv, 16}, {out, 16}, {table, 4}, {seqlens, 4}, {lse, 4}, {ws, 16},
                            {schedule.buffer(), 16}})
                        io.kernels4j.ops.internal.Checks.requireAligned((DeviceTensor) na[0], "t", (Integer) na[1]);
                    if (h != hk) throw new AssertionError("hKV " + h + " vs " + hk);
                });
                what = "forward " + q + " " + kv + " " + table + " " + seqlens + " " + schedule + " " + ws + " " + out + " " + lse;
            } else {
                long tokens = f.dim(1 + f.nextInt(20));
                DeviceTensor kvNew = f.tensor(DType.BF16, tokens, hKV, f.dim(576)), slots = f.tensor(DType.INT32, f.dim(tokens));
                fast = MlaArgs.writeOk(kvNew, slots, kv) >= 0;
                full = accepts(() -> {
                    MlaShapes.checkKvCacheWrite(MlaShapes.Spec.of(kvNew), MlaShapes.Spec.of(slots), MlaShapes.Spec.of(kv));
                    io.kernels4j.ops.internal.Checks.requireAligned(kvNew, "kvNew", 16);
                    io.kernels4j.ops.internal.Checks.requireAligned(kv, "kvCache", 16);
                    io.kernels4j.ops.internal.Checks.requireAligned(slots, "slotMapping", 4);
                });
                what = "write " + kvNew + " " + slots + " " + kv;
            }
            assertEquals(full, fast, what);
            if (full) accepted++;
        }
        assertTrue(accepted > 200, "too few valid cases: " + accepted);
    }
}
