package io.kernels4j.ops.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kernels4j.ops.CudaGraph;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.host.Fp8Quantizer;
import io.kernels4j.ops.testing.RequiresGpu;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * MoeLayer on a GPU: INT64 ids give the INT32 result bit for bit, a CUDA-graph replay gives the
 * eager result bit for bit, and the INT64 narrowing maps out-of-range ids to INT32_MIN. (The
 * numerics against FP64 are the moe checks' MoeLayer.object cases.)
 */
@RequiresGpu
class MoeLayerGpuTest {
    @Test
    void topkIdsNarrowing() {
        long[] in = {-1, 0, 5, Integer.MAX_VALUE, 1L + Integer.MAX_VALUE, -2, Long.MIN_VALUE, Long.MAX_VALUE};
        int[] want = {-1, 0, 5, Integer.MAX_VALUE, Integer.MIN_VALUE, Integer.MIN_VALUE, Integer.MIN_VALUE, Integer.MIN_VALUE};
        try (Scope s = Scope.open(); Stream st = Stream.create()) {
            DeviceTensor a = s.allocate(DType.INT64, 2, 4), b = s.allocate(DType.INT32, 2, 4);
            a.copyFrom(in);
            MoeLayout.topkIdsToInt32(a, b, st);
            st.synchronize();
            assertArrayEquals(want, b.toIntArray());
        }
    }

    @Test
    void int64IdsAndGraphReplayMatchEagerInt32() {
        int h = 256, e = 8, k = 2, inter = 128, t = 20;
        SplittableRandom r = new SplittableRandom(5);
        int[] idx = new int[t * k];
        long[] idx64 = new long[t * k];
        float[] w = new float[t * k];
        for (int i = 0; i < t; i++) {
            int a = r.nextInt(e), b = (a + 1 + r.nextInt(e - 1)) % e;
            idx[i * k] = a;
            idx[i * k + 1] = b;
            w[i * k] = 0.6f;
            w[i * k + 1] = 0.4f;
        }
        for (int i = 0; i < idx.length; i++) idx64[i] = idx[i];
        short[] x = new short[t * h];
        for (int i = 0; i < x.length; i++) x[i] = Bf16.encode((float) r.nextGaussian());
        for (MoeLayerConfig cfg : new MoeLayerConfig[] {MoeLayerConfig.contiguous(h, e, k, inter, t), MoeLayerConfig.masked(h, e, k, inter, t, t)}) {
            try (Scope s = Scope.open(); Stream st = Stream.create()) {
                MoeLayer.Weights wt = new MoeLayer.Weights(s.allocate(DType.FP8_E4M3, e, 2 * inter, h), s.allocate(DType.FP32, e, 2 * inter / 128, h / 128),
                        s.allocate(DType.FP8_E4M3, e, h, inter), s.allocate(DType.FP32, e, h / 128, inter / 128));
                upload(wt.gateUp(), wt.gateUpScales(), e, 2 * inter, h, r);
                upload(wt.down(), wt.downScales(), e, h, inter, r);
                DeviceTensor dx = s.allocate(DType.BF16, t, h), di = s.allocate(DType.INT32, t, k), dl = s.allocate(DType.INT64, t, k),
                        dw = s.allocate(DType.FP32, t, k), o1 = s.allocate(DType.BF16, t, h), o2 = s.allocate(DType.BF16, t, h),
                        o3 = s.allocate(DType.BF16, t, h);
                dx.copyFrom(x);
                di.copyFrom(idx);
                dl.copyFrom(idx64);
                dw.copyFrom(w);
                try (MoeLayer layer = MoeLayer.create(cfg, wt)) {
                    layer.forward(dx, di, dw, o1, st);
                    layer.forward(dx, dl, dw, o2, st);
                    try (CudaGraph g = CudaGraph.capture(st, () -> layer.forward(dx, dl, dw, o3, st))) {
                        g.launch(st);
                    }
                    st.synchronize();
                    st.checkDeviceErrors();
                }
                short[] a = o1.toShortArray();
                int nan = 0;
                for (short v : a) if (Float.isNaN(Bf16.decode(v))) nan++;
                assertEquals(0, nan, cfg.layout() + ": NaN in the output");
                assertArrayEquals(a, o2.toShortArray(), cfg.layout() + ": INT64 ids differ from INT32 ids");
                assertArrayEquals(a, o3.toShortArray(), cfg.layout() + ": graph replay differs from the eager call");
            }
        }
    }

    private static void upload(DeviceTensor codes, DeviceTensor scales, int e, int n, int kk, SplittableRandom r) {
        byte[] q = new byte[e * n * kk];
        float[] sc = new float[e * (n / 128) * (kk / 128)];
        for (int g = 0; g < e; g++) {
            float[] wf = new float[n * kk];
            for (int i = 0; i < wf.length; i++) wf[i] = (float) (r.nextGaussian() / Math.sqrt(kk));
            Fp8Quantizer.Quantized qz = Fp8Quantizer.perBlock(wf, n, kk, false);
            System.arraycopy(qz.q(), 0, q, g * n * kk, n * kk);
            System.arraycopy(qz.scales(), 0, sc, g * qz.scales().length, qz.scales().length);
        }
        codes.copyFrom(q);
        scales.copyFrom(sc);
    }
}
