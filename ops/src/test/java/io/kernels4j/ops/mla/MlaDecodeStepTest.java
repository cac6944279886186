package io.kernels4j.ops.mla;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Simulated;
import io.kernels4j.ops.Simulated.Outcome;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.mla.MlaDecodeConfig.CacheFormat;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** MlaDecodeStep's config, sizing and argument checks, on simulated tensors (no GPU). */
class MlaDecodeStepTest {
    private static final Device DEV = Simulated.device(0);

    private static void fails(String prefix, Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().startsWith(prefix), () -> "message '" + ex.getMessage() + "' should start with '" + prefix + "'");
    }

    private static DeviceTensor t(DType d, long... shape) {
        return Simulated.tensor(DEV, d, shape);
    }

    private static MlaDecodeStep step(MlaDecodeConfig c, List<DeviceTensor> bufs) {
        return new MlaDecodeStep(c, DEV, (dtype, n) -> {
            DeviceTensor b = Simulated.tensor(DEV, dtype, n);
            bufs.add(b);
            return b;
        }, true);
    }

    @Test
    void configChecksNameTheComponent() {
        fails("batch:", () -> MlaDecodeConfig.of(0, 1, 128, 1, 64, 16, CacheFormat.BF16));
        fails("batch:", () -> MlaDecodeConfig.of(65536, 1, 128, 1, 64, 16, CacheFormat.BF16));
        fails("sQ:", () -> MlaDecodeConfig.of(4, 0, 128, 1, 64, 16, CacheFormat.BF16));
        fails("hQ:", () -> MlaDecodeConfig.of(4, 1, 127, 2, 64, 16, CacheFormat.BF16));
        fails("pageSize:", () -> MlaDecodeConfig.of(4, 1, 128, 1, 60, 16, CacheFormat.BF16));
        fails("maxBlocksPerSeq:", () -> MlaDecodeConfig.of(4, 1, 128, 1, 64, 0, CacheFormat.BF16));
        fails("cacheFormat:", () -> MlaDecodeConfig.of(4, 1, 128, 1, 64, 16, null));
        fails("fixedSplits:", () -> new MlaDecodeConfig(4, 1, 128, 1, 64, 16, CacheFormat.FP8, 65, 0));
        fails("numSms:", () -> new MlaDecodeConfig(4, 1, 128, 1, 64, 16, CacheFormat.FP8, 0, -1));
    }

    @Test
    void buffersAreSizedFromTheConfig() {
        MlaDecodeConfig c = MlaDecodeConfig.of(4, 2, 16, 1, 64, 16, CacheFormat.FP8);
        List<DeviceTensor> bufs = new ArrayList<>();
        try (MlaDecodeStep s = step(c, bufs)) {
            assertEquals(132, s.numSms(), "0 takes the device's SM count");
            assertEquals(MlaDecode.scheduleInts(4, 132, 0), bufs.get(0).numel());
            assertEquals(MlaDecode.workspaceBytes(4, 2, 16, 132, 0), bufs.get(1).byteSize());
            assertEquals(bufs.get(0).byteSize() + bufs.get(1).byteSize(), s.deviceBytes());
        }
        for (DeviceTensor b : bufs) assertTrue(b.isClosed());
        try (MlaDecodeStep s = step(new MlaDecodeConfig(4, 1, 16, 1, 64, 16, CacheFormat.BF16, 8, 0), new ArrayList<>())) {
            assertEquals(MlaDecode.workspaceBytes(4, 1, 16, 132, 8), s.deviceBytes() - 4 * MlaDecode.scheduleInts(4, 132, 8));
        }
    }

    @Test
    void planThenForward() {
        MlaDecodeConfig c = MlaDecodeConfig.of(4, 2, 16, 1, 64, 16, CacheFormat.FP8);
        try (MlaDecodeStep step = step(c, new ArrayList<>()); Stream s = Simulated.stream(DEV)) {
            DeviceTensor q = t(DType.BF16, 4, 2, 16, 576), kv = t(DType.FP8_E4M3, 10, 64, 1, 656), bt = t(DType.INT32, 4, 16),
                    len = t(DType.INT32, 4), out = t(DType.BF16, 4, 2, 16, 512), lse = t(DType.FP32, 4, 16, 2);
            assertThrows(IllegalStateException.class, () -> step.forward(q, kv, bt, len, out, lse, 0.1f, true, s));
            assertFalse(step.isPlanned());
            fails("cacheSeqlens:", () -> step.plan(t(DType.INT32, 5), s));
            assertInstanceOf(Outcome.Accepted.class, Simulated.validate(s, () -> step.plan(len, s)));
            // A plan whose launch stopped at the simulated stream is not kept.
            assertFalse(step.isPlanned());
        }
    }

    @Test
    void forwardChecksTheConfigShapes() throws Exception {
        MlaDecodeConfig c = MlaDecodeConfig.of(4, 2, 16, 1, 64, 16, CacheFormat.FP8);
        try (MlaDecodeStep step = step(c, new ArrayList<>()); Stream s = Simulated.stream(DEV)) {
            step.forcePlanForTests(t(DType.INT32, 4));
            DeviceTensor q = t(DType.BF16, 4, 2, 16, 576), kv = t(DType.FP8_E4M3, 10, 64, 1, 656), bt = t(DType.INT32, 4, 16),
                    len = t(DType.INT32, 4), out = t(DType.BF16, 4, 2, 16, 512), lse = t(DType.FP32, 4, 16, 2);
            fails("q:", () -> step.forward(t(DType.BF16, 4, 1, 16, 576), kv, bt, len, out, lse, 0.1f, true, s));
            fails("kvCache:", () -> step.forward(q, t(DType.BF16, 10, 64, 1, 576), bt, len, out, lse, 0.1f, true, s));
            fails("blockTable:", () -> step.forward(q, kv, t(DType.INT32, 4, 15), len, out, lse, 0.1f, true, s));
            fails("lse:", () -> step.forward(q, kv, bt, len, out, t(DType.FP32, 4, 2, 16), 0.1f, true, s));
            fails("softmaxScale:", () -> step.forward(q, kv, bt, len, out, lse, 0f, true, s));
            assertInstanceOf(Outcome.Accepted.class, Simulated.validate(s, () -> step.forward(q, kv, bt, len, out, lse, 0.1f, true, s)));
            step.close();
            step.close();
            assertThrows(IllegalStateException.class, () -> step.plan(len, s));
        }
    }
}
