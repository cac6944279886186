package io.kernels4j.ops.moe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Simulated;
import io.kernels4j.ops.Simulated.Outcome;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.moe.MoeLayerConfig.Layout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** MoeLayer's config, sizing and argument checks, on simulated tensors (no GPU). */
class MoeLayerTest {
    private static final Device DEV = Simulated.device(0);

    private static void fails(String prefix, Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().startsWith(prefix), () -> "message '" + ex.getMessage() + "' should start with '" + prefix + "'");
    }

    private static DeviceTensor t(DType d, long... shape) {
        return Simulated.tensor(DEV, d, shape);
    }

    private static MoeLayer.Weights weights(MoeLayerConfig c) {
        long e = c.numExperts(), h = c.hiddenSize(), i = c.intermediateSize();
        return new MoeLayer.Weights(t(DType.FP8_E4M3, e, 2 * i, h), t(DType.FP32, e, 2 * i / 128, h / 128),
                t(DType.FP8_E4M3, e, h, i), t(DType.FP32, e, h / 128, i / 128));
    }

    /** A layer whose workspaces are simulated tensors; records them. */
    private static MoeLayer layer(MoeLayerConfig c, MoeLayer.Weights w, boolean ownsWeights, List<DeviceTensor> buffers) {
        return new MoeLayer(c, w, ownsWeights, (dtype, n) -> {
            DeviceTensor b = Simulated.tensor(DEV, dtype, n);
            buffers.add(b);
            return b;
        }, true);
    }

    @Test
    void configChecksNameTheComponent() {
        fails("hiddenSize:", () -> MoeLayerConfig.contiguous(100, 8, 2, 128, 16));
        fails("intermediateSize:", () -> MoeLayerConfig.contiguous(256, 8, 2, 0, 16));
        fails("topK:", () -> MoeLayerConfig.contiguous(256, 8, 33, 128, 16));
        fails("numExperts:", () -> MoeLayerConfig.contiguous(256, 1025, 2, 128, 16));
        fails("maxTokens:", () -> MoeLayerConfig.contiguous(256, 8, 2, 128, 0));
        fails("maxTokensPerExpert:", () -> MoeLayerConfig.masked(256, 8, 2, 128, 16, 0));
        fails("maxTokensPerExpert:", () -> new MoeLayerConfig(256, 8, 2, 128, 16, Layout.CONTIGUOUS, 4, 128));
        fails("alignment:", () -> new MoeLayerConfig(256, 8, 2, 128, 16, Layout.MASKED, 4, 0));
        fails("layout:", () -> new MoeLayerConfig(256, 8, 2, 128, 16, null, 4, 1));
        fails("maxTokens:", () -> MoeLayerConfig.contiguous(128, 1024, 32, 128, 67_108_800)); // padded rows past INT32
    }

    @Test
    void sizing() {
        MoeLayerConfig c = MoeLayerConfig.contiguous(256, 4, 2, 128, 8);
        assertEquals(16 + 4 * 127, c.rows(8)); // maxPaddedRows(8, 2, 4, 128)
        assertEquals(0, c.rows(0));
        fails("numTokens:", () -> c.rows(9));
        // Each buffer rounded to 256 bytes: topk32 64, counts 16, offsets 20, rowOf 64, layout 1024,
        // xq 524*256, xqScales 2*524*4, mIndices 524*4, gateUp 524*256*2, h 524*128, hScales 524*4, y 524*256*2.
        long r = 524;
        long expected = 256 + 256 + 256 + 256 + 1024 + r * 256 + up(2 * r * 4) + up(r * 4) + r * 512 + r * 128 + up(r * 4) + r * 512;
        assertEquals(expected, c.workspaceBytes());

        MoeLayerConfig m = MoeLayerConfig.masked(7168, 256, 8, 2048, 128, 64);
        assertEquals(256L * 64, m.rows(5));
        long rows = 256L * 64;
        assertTrue(m.workspaceBytes() >= rows * 7168 + rows * 4096 * 2 + rows * 2048 + rows * 7168 * 2, "activations fit");
    }

    private static long up(long b) {
        return (b + 255) / 256 * 256;
    }

    @Test
    void buffersHaveTheConfigSizes() {
        for (MoeLayerConfig c : new MoeLayerConfig[] {MoeLayerConfig.contiguous(256, 4, 2, 128, 8), MoeLayerConfig.masked(256, 4, 2, 128, 8, 5)}) {
            List<DeviceTensor> bufs = new ArrayList<>();
            try (MoeLayer l = layer(c, weights(c), false, bufs)) {
                long total = 0;
                for (DeviceTensor b : bufs) total += up(b.byteSize());
                assertEquals(c.workspaceBytes(), total);
                if (c.layout() == Layout.MASKED) assertEquals(DType.INT32, l.droppedPairs().dtype());
                else assertNull(l.droppedPairs());
            }
            for (DeviceTensor b : bufs) assertTrue(b.isClosed(), "close() frees every workspace buffer");
        }
    }

    @Test
    void weightsAreChecked() {
        MoeLayerConfig c = MoeLayerConfig.contiguous(256, 4, 2, 128, 8);
        MoeLayer.Weights w = weights(c);
        List<DeviceTensor> bufs = new ArrayList<>();
        fails("gateUp:", () -> layer(c, new MoeLayer.Weights(t(DType.FP8_E4M3, 4, 128, 256), w.gateUpScales(), w.down(), w.downScales()), false, bufs));
        fails("gateUpScales:", () -> layer(c, new MoeLayer.Weights(w.gateUp(), t(DType.FP32, 4, 2, 1), w.down(), w.downScales()), false, bufs));
        fails("down:", () -> layer(c, new MoeLayer.Weights(w.gateUp(), w.gateUpScales(), t(DType.BF16, 4, 256, 128), w.downScales()), false, bufs));
        fails("downScales:", () -> layer(c, new MoeLayer.Weights(w.gateUp(), w.gateUpScales(), w.down(), null), false, bufs));
        fails("weights:", () -> layer(c, new MoeLayer.Weights(w.gateUp(), w.gateUpScales(),
                Simulated.tensor(Simulated.device(1), DType.FP8_E4M3, 4, 256, 128), w.downScales()), false, bufs));
        fails("config:", () -> layer(null, w, false, bufs));
        fails("weights:", () -> layer(c, null, false, bufs));
        assertTrue(bufs.isEmpty(), "nothing allocated before the checks pass");
    }

    @Test
    void forwardChecksArgumentsThenRunsTheChain() {
        for (MoeLayerConfig c : new MoeLayerConfig[] {MoeLayerConfig.contiguous(256, 4, 2, 128, 8), MoeLayerConfig.masked(256, 4, 2, 128, 8, 5)}) {
            try (MoeLayer l = layer(c, weights(c), false, new ArrayList<>()); Stream s = Simulated.stream(DEV)) {
                DeviceTensor x = t(DType.BF16, 6, 256), idx = t(DType.INT32, 6, 2), idx64 = t(DType.INT64, 6, 2),
                        w = t(DType.FP32, 6, 2), out = t(DType.BF16, 6, 256);
                fails("x:", () -> l.forward(t(DType.BF16, 6, 128), idx, w, out, s));
                fails("x:", () -> l.forward(t(DType.BF16, 9, 256), t(DType.INT32, 9, 2), t(DType.FP32, 9, 2), t(DType.BF16, 9, 256), s));
                fails("x:", () -> l.forward(null, idx, w, out, s));
                fails("topkIdx:", () -> l.forward(x, t(DType.FP32, 6, 2), w, out, s));
                fails("topkIdx:", () -> l.forward(x, t(DType.INT32, 6, 3), w, out, s));
                fails("topkWeights:", () -> l.forward(x, idx, t(DType.BF16, 6, 2), out, s));
                fails("out:", () -> l.forward(x, idx, w, t(DType.BF16, 5, 256), s));
                assertInstanceOf(Outcome.Accepted.class, Simulated.validate(s, () -> l.forward(x, idx, w, out, s)));
                assertInstanceOf(Outcome.Accepted.class, Simulated.validate(s, () -> l.forward(x, idx64, w, out, s)));
                assertInstanceOf(Outcome.Accepted.class, Simulated.validate(s, () -> l.forward(t(DType.BF16, 8, 256),
                        t(DType.INT32, 8, 2), t(DType.FP32, 8, 2), t(DType.BF16, 8, 256), s)));
                assertInstanceOf(Outcome.Returned.class, Simulated.validate(s, () -> l.forward(t(DType.BF16, 0, 256),
                        t(DType.INT32, 0, 2), t(DType.FP32, 0, 2), t(DType.BF16, 0, 256), s)));
            }
        }
    }

    @Test
    void closeIsIdempotentAndOwnershipIsHonoured() {
        MoeLayerConfig c = MoeLayerConfig.masked(256, 4, 2, 128, 8, 5);
        MoeLayer.Weights borrowed = weights(c), owned = weights(c);
        MoeLayer a = layer(c, borrowed, false, new ArrayList<>());
        MoeLayer b = layer(c, owned, true, new ArrayList<>());
        assertSame(borrowed, a.weights());
        a.close();
        a.close();
        b.close();
        b.close();
        assertTrue(a.isClosed());
        assertFalse(borrowed.gateUp().isClosed(), "borrowed weights stay open");
        assertTrue(owned.gateUp().isClosed() && owned.gateUpScales().isClosed() && owned.down().isClosed() && owned.downScales().isClosed());
        try (Stream s = Simulated.stream(DEV)) {
            assertThrows(IllegalStateException.class, () -> a.forward(t(DType.BF16, 1, 256), t(DType.INT32, 1, 2),
                    t(DType.FP32, 1, 2), t(DType.BF16, 1, 256), s));
        }
    }

    @Test
    void topkIdsConversionChecks() {
        try (Stream s = Simulated.stream(DEV)) {
            fails("topkIdx:", () -> MoeLayout.topkIdsToInt32(t(DType.INT32, 4, 2), t(DType.INT32, 4, 2), s));
            fails("topkIdx32:", () -> MoeLayout.topkIdsToInt32(t(DType.INT64, 4, 2), t(DType.INT32, 4, 3), s));
            fails("topkIdx:", () -> MoeLayout.topkIdsToInt32(t(DType.INT64, 4, 33), t(DType.INT32, 4, 33), s));
            assertInstanceOf(Outcome.Accepted.class,
                    Simulated.validate(s, () -> MoeLayout.topkIdsToInt32(t(DType.INT64, 4, 2), t(DType.INT32, 4, 2), s)));
        }
    }
}
