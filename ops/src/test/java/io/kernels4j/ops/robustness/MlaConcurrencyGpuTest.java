package io.kernels4j.ops.robustness;

import static org.junit.jupiter.api.Assertions.*;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.mla.MlaDecode;
import io.kernels4j.ops.mla.MlaKvCache;
import io.kernels4j.ops.testing.GpuTestSupport;
import io.kernels4j.ops.testing.RequiresGpu;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * MLA cache write + schedule + decode from several threads on several streams at once, each with its
 * own buffers but shared read-only inputs: bit-identical to the serial run (the ops are deterministic).
 */
@RequiresGpu
class MlaConcurrencyGpuTest {
    static final int B = 3, SQ = 2, HQ = 32, PAGE = 64, MAXB = 4, BLOCKS = 12, TOKENS = BLOCKS * PAGE;

    /** One decode step: writes the cache, plans, decodes; returns out's raw bits. */
    static short[] step(DeviceTensor kvNew, DeviceTensor slots, DeviceTensor q, DeviceTensor bt, DeviceTensor sl, boolean fp8,
            int fixedSplits, Stream s) {
        Device d = s.device();
        int sms = d.smCount();
        try (DeviceTensor cache = fp8 ? DeviceTensor.allocate(d, DType.FP8_E4M3, BLOCKS, PAGE, 1, 656)
                        : DeviceTensor.allocate(d, DType.BF16, BLOCKS, PAGE, 1, 576);
                DeviceTensor sched = DeviceTensor.allocate(d, DType.INT32, MlaDecode.scheduleInts(B, sms, fixedSplits));
                DeviceTensor ws = DeviceTensor.allocate(d, DType.FP32, (MlaDecode.workspaceBytes(B, SQ, HQ, sms, fixedSplits) + 3) / 4);
                DeviceTensor out = DeviceTensor.allocate(d, DType.BF16, B, SQ, HQ, 512);
                DeviceTensor lse = DeviceTensor.allocate(d, DType.FP32, B, HQ, SQ)) {
            MlaKvCache.write(kvNew, slots, cache, s);
            MlaDecode.Schedule plan = MlaDecode.schedule(sl, PAGE, MAXB, sms, fixedSplits, sched, s);
            for (int layer = 0; layer < 3; layer++)
                MlaDecode.forward(q, cache, bt, sl, plan, 0.0417f, true, ws, out, lse, s);
            s.checkDeviceErrors();
            return out.toShortArray();
        }
    }

    @Test
    void threadsOnTheirOwnStreamsMatchTheSerialRun() throws Exception {
        Device d = GpuTestSupport.device();
        SplittableRandom r = new SplittableRandom(GpuTestSupport.seed("MlaConcurrencyGpuTest"));
        int[] slotIds = new int[TOKENS];
        for (int i = 0; i < TOKENS; i++) slotIds[i] = i;
        int[] table = new int[B * MAXB];
        for (int i = 0; i < table.length; i++) table[i] = r.nextInt(BLOCKS);
        int[] seqlens = {1 + r.nextInt(MAXB * PAGE), 1 + r.nextInt(MAXB * PAGE), 1 + r.nextInt(MAXB * PAGE)};
        try (DeviceTensor kvNew = DeviceTensor.allocate(d, DType.BF16, TOKENS, 1, 576);
                DeviceTensor slots = DeviceTensor.allocate(d, DType.INT32, TOKENS);
                DeviceTensor q = DeviceTensor.allocate(d, DType.BF16, B, SQ, HQ, 576);
                DeviceTensor bt = DeviceTensor.allocate(d, DType.INT32, B, MAXB);
                DeviceTensor sl = DeviceTensor.allocate(d, DType.INT32, B)) {
            kvNew.copyFrom(MlaBadDataGpuTest.randomBf16(r, TOKENS * 576));
            q.copyFrom(MlaBadDataGpuTest.randomBf16(r, B * SQ * HQ * 576));
            slots.copyFrom(slotIds);
            bt.copyFrom(table);
            sl.copyFrom(seqlens);
            record Cfg(boolean fp8, int fixedSplits) {}
            List<Cfg> cfgs = List.of(new Cfg(false, 0), new Cfg(true, 0), new Cfg(false, 3), new Cfg(true, 5));
            List<short[]> serial = new ArrayList<>();
            try (Stream s = Stream.create(d)) {
                for (Cfg c : cfgs) serial.add(step(kvNew, slots, q, bt, sl, c.fp8(), c.fixedSplits(), s));
            }
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<short[]>> par = new ArrayList<>();
                int reps = GpuTestSupport.scaled(4, 2); // fewer repetitions on the emulator, every configuration still
                for (int rep = 0; rep < reps; rep++)
                    for (Cfg c : cfgs)
                        par.add(pool.submit(() -> {
                            try (Stream s = Stream.create(d)) {
                                return step(kvNew, slots, q, bt, sl, c.fp8(), c.fixedSplits(), s);
                            }
                        }));
                for (int i = 0; i < par.size(); i++)
                    assertArrayEquals(serial.get(i % cfgs.size()), par.get(i).get(), "parallel run " + i + " differs from serial "
                            + cfgs.get(i % cfgs.size()));
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
