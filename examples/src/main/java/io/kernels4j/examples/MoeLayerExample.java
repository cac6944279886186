package io.kernels4j.examples;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.host.E4m3;
import io.kernels4j.ops.host.Fp8Quantizer;
import io.kernels4j.ops.moe.MoeLayer;
import io.kernels4j.ops.moe.MoeLayerConfig;
import io.kernels4j.validation.Metrics;
import io.kernels4j.validation.RandomTensors;
import io.kernels4j.validation.moe.MoeLayerChecks;
import java.io.PrintStream;
import java.util.SplittableRandom;

/**
 * One DeepSeek-V3 style MoE layer through {@link MoeLayer}: top-8 routing with PyTorch's INT64
 * expert ids, FP8 expert weights with 128x128 scales, once in the masked (decode) layout and once
 * in the grouped-contiguous (prefill) layout, each checked against an FP64 layer that quantises x
 * and h with the host quantiser and keeps everything else in double ({@code diff < 1e-3}, the moe
 * checks' end-to-end gate). The sizes are DeepSeek-V3's ratios scaled down (V3: H = 7168, 256
 * experts, I = 2048) so that the FP64 reference stays quick.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp ... io.kernels4j.examples.MoeLayerExample}
 */
public final class MoeLayerExample {
    private MoeLayerExample() {}

    static final int H = 1024, E = 32, K = 8, I = 256, T = 24;

    /**
     * Runs the example on the selected device; exits 0 (matches), 1 (does not match) or 2 (no usable GPU).
     *
     * @param args none
     */
    public static void main(String[] args) {
        Examples.main("MoeLayerExample", MoeLayerExample::run);
    }

    /**
     * The example's body (see the class comment), on a device the caller knows to be usable.
     *
     * @param out where it prints what it does and the gates
     * @return {@link Examples#OK} or {@link Examples#MISMATCH}
     */
    public static int run(PrintStream out) {

        long seed = 7;
        // Routing as a gate would produce it: K distinct experts per token, softmax-normalised weights.
        SplittableRandom r = new SplittableRandom(seed);
        long[] idx = new long[T * K];
        float[] w = new float[T * K];
        int maxCount = 0;
        int[] count = new int[E];
        for (int t = 0; t < T; t++) {
            int[] perm = RandomTensors.permutation(r.nextLong(), E);
            double sum = 0;
            for (int k = 0; k < K; k++) {
                idx[t * K + k] = perm[k];
                maxCount = Math.max(maxCount, ++count[perm[k]]);
                sum += w[t * K + k] = (float) Math.exp(r.nextGaussian());
            }
            for (int k = 0; k < K; k++) w[t * K + k] = (float) (w[t * K + k] / sum);
        }
        short[] x = RandomTensors.normalBf16(RandomTensors.derive(seed, "x"), T * H, 1.0);
        // Expert weights: FP32, quantised per expert in 128x128 blocks (a checkpoint ships them quantised).
        byte[] w1 = new byte[E * 2 * I * H], w2 = new byte[E * H * I];
        float[] w1s = new float[E * (2 * I / 128) * (H / 128)], w2s = new float[E * (H / 128) * (I / 128)];
        double[][] w1d = new double[E][], w2d = new double[E][];
        for (int e = 0; e < E; e++) {
            Fp8Quantizer.Quantized q1 = Fp8Quantizer.perBlock(RandomTensors.normal(RandomTensors.derive(seed, "w1/" + e), 2 * I * H,
                    1.0 / Math.sqrt(H)), 2 * I, H, false);
            Fp8Quantizer.Quantized q2 = Fp8Quantizer.perBlock(RandomTensors.normal(RandomTensors.derive(seed, "w2/" + e), H * I,
                    1.0 / Math.sqrt(I)), H, I, false);
            System.arraycopy(q1.q(), 0, w1, e * 2 * I * H, 2 * I * H);
            System.arraycopy(q2.q(), 0, w2, e * H * I, H * I);
            System.arraycopy(q1.scales(), 0, w1s, e * q1.scales().length, q1.scales().length);
            System.arraycopy(q2.scales(), 0, w2s, e * q2.scales().length, q2.scales().length);
            w1d[e] = Fp8Quantizer.dequantizePerBlockExact(q1, 2 * I, H);
            w2d[e] = Fp8Quantizer.dequantizePerBlockExact(q2, H, I);
        }
        double[] ref = reference(x, idx, w, w1d, w2d);
        boolean ok = true;
        try (Scope s = Scope.open(); Stream stream = Stream.create()) {
            DeviceTensor gateUp = s.allocate(DType.FP8_E4M3, E, 2 * I, H), gateUpScales = s.allocate(DType.FP32, E, 2 * I / 128, H / 128);
            DeviceTensor down = s.allocate(DType.FP8_E4M3, E, H, I), downScales = s.allocate(DType.FP32, E, H / 128, I / 128);
            gateUp.copyFrom(w1);
            gateUpScales.copyFrom(w1s);
            down.copyFrom(w2);
            downScales.copyFrom(w2s);
            MoeLayer.Weights weights = new MoeLayer.Weights(gateUp, gateUpScales, down, downScales);
            DeviceTensor dx = s.allocate(DType.BF16, T, H), dIdx = s.allocate(DType.INT64, T, K), dW = s.allocate(DType.FP32, T, K);
            DeviceTensor dOut = s.allocate(DType.BF16, T, H);
            dx.copyFrom(x);
            dIdx.copyFrom(idx);
            dW.copyFrom(w);
            MoeLayerConfig[] configs = {
                MoeLayerConfig.masked(H, E, K, I, T, maxCount), // decode: capacity = the largest expert load here
                MoeLayerConfig.contiguous(H, E, K, I, T) // prefill: 128-row segments
            };
            for (MoeLayerConfig cfg : configs) {
                try (MoeLayer layer = MoeLayer.create(cfg, weights)) { // borrows the weights, owns its workspaces
                    layer.forward(dx, dIdx, dW, dOut, stream); // one call: layout, dispatch+FP8, GEMM, SiLU+FP8, GEMM, combine
                    stream.synchronize();
                    stream.checkDeviceErrors();
                    short[] o = dOut.toShortArray();
                    double diff = Metrics.diff(ref, Bf16.decode(o));
                    int nan = Metrics.nanCountBf16(o);
                    boolean pass = diff < MoeLayerChecks.E2E_DIFF && nan == 0;
                    ok &= pass;
                    out.printf("MoeLayer %s: T=%d H=%d E=%d top-%d I=%d, INT64 ids, workspace %.1f MiB%n", cfg.layout(), T, H, E, K, I,
                            cfg.workspaceBytes() / 1048576.0);
                    out.printf("  vs FP64 layer: diff %.3e (gate < %.0e), relL2 %.3e, NaN %d: %s%n", diff, MoeLayerChecks.E2E_DIFF,
                            Metrics.relL2(ref, Bf16.decode(o)), nan, Examples.verdict(pass));
                }
            }
        }
        return ok ? Examples.OK : Examples.MISMATCH;
    }

    /** FP64 layer per token: x and h quantised with the host quantiser (as the GPU does), the rest in double. */
    static double[] reference(short[] x, long[] idx, float[] w, double[][] w1d, double[][] w2d) {
        double[] out = new double[T * H];
        float[] xf = new float[H], hf = new float[I];
        byte[] xq = new byte[H], hq = new byte[I];
        double[] xd = new double[H], hd = new double[I];
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < H; i++) xf[i] = Bf16.decode(x[t * H + i]);
            for (int g = 0; g < H / 128; g++) {
                float sc = Fp8Quantizer.quantizeGroup(xf, g * 128, 128, false, xq, g * 128);
                for (int i = g * 128; i < g * 128 + 128; i++) xd[i] = (double) E4m3.decode(xq[i]) * sc;
            }
            for (int k = 0; k < K; k++) {
                int e = (int) idx[t * K + k];
                for (int j = 0; j < I; j++) {
                    double gate = dot(w1d[e], j * H, xd, H), up = dot(w1d[e], (I + j) * H, xd, H);
                    hf[j] = (float) (gate / (1 + Math.exp(-gate)) * up);
                }
                for (int g = 0; g < I / 128; g++) {
                    float sc = Fp8Quantizer.quantizeGroup(hf, g * 128, 128, false, hq, g * 128);
                    for (int i = g * 128; i < g * 128 + 128; i++) hd[i] = (double) E4m3.decode(hq[i]) * sc;
                }
                for (int j = 0; j < H; j++) out[t * H + j] += w[t * K + k] * dot(w2d[e], j * I, hd, I);
            }
        }
        return out;
    }

    private static double dot(double[] a, int off, double[] b, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += a[off + i] * b[i];
        return s;
    }
}
