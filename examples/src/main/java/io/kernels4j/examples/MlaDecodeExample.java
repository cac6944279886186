package io.kernels4j.examples;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.mla.MlaDecodeConfig;
import io.kernels4j.ops.mla.MlaDecodeConfig.CacheFormat;
import io.kernels4j.ops.mla.MlaDecodeStep;
import io.kernels4j.validation.Metrics;
import io.kernels4j.validation.RandomTensors;
import io.kernels4j.validation.mla.MlaReference;
import java.io.PrintStream;
import java.util.SplittableRandom;

/**
 * One MLA decode step (DeepSeek-V3's attention: 576-value latent rows, V = the first 512) over a
 * paged BF16 cache through {@link MlaDecodeStep}: {@code plan} once for the step, then
 * {@code forward} for two layers (each its own cache and queries, one block table), each checked
 * against the FP64 reference (out {@code diff < 1e-5}, lse within {@code 1e-4 * max(1, |ref|)},
 * the MLA checks' gates). Pages are handed out in a shuffled order, as a paged allocator would.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp ... io.kernels4j.examples.MlaDecodeExample}
 */
public final class MlaDecodeExample {
    private MlaDecodeExample() {}

    /**
     * Runs the example on the selected device; exits 0 (matches), 1 (does not match) or 2 (no usable GPU).
     *
     * @param args none
     */
    public static void main(String[] args) {
        Examples.main("MlaDecodeExample", MlaDecodeExample::run);
    }

    /**
     * The example's body (see the class comment), on a device the caller knows to be usable.
     *
     * @param out where it prints what it does and the gates
     * @return {@link Examples#OK} or {@link Examples#MISMATCH}
     */
    public static int run(PrintStream out) {

        int batch = 4, sQ = 1, hQ = 16, hKV = 1, page = 64, maxBlocks = 8, layers = 2;
        long seed = 11;
        SplittableRandom r = new SplittableRandom(seed);
        int[] seqlens = new int[batch];
        for (int b = 0; b < batch; b++) seqlens[b] = 1 + r.nextInt(page * maxBlocks);
        int numBlocks = batch * maxBlocks;
        int[] pages = RandomTensors.permutation(RandomTensors.derive(seed, "pages"), numBlocks);
        int[] blockTable = new int[batch * maxBlocks];
        for (int i = 0; i < blockTable.length; i++) blockTable[i] = pages[i];
        float scale = (float) (1 / Math.sqrt(192)); // DeepSeek-V3: 1/sqrt(qk_nope 128 + qk_rope 64)
        MlaDecodeConfig cfg = MlaDecodeConfig.of(batch, sQ, hQ, hKV, page, maxBlocks, CacheFormat.BF16);
        boolean ok = true;
        try (Scope s = Scope.open(); Stream stream = Stream.create();
                MlaDecodeStep step = MlaDecodeStep.create(cfg, Device.current())) {
            DeviceTensor dBt = s.allocate(DType.INT32, batch, maxBlocks), dLen = s.allocate(DType.INT32, batch);
            dBt.copyFrom(blockTable);
            dLen.copyFrom(seqlens);
            step.plan(dLen, stream); // once per decode step: split-KV schedule on the GPU, no host sync
            out.printf("MlaDecodeStep: batch=%d sQ=%d hQ=%d hKV=%d page=%d, seqlens %s, %d SMs, %.1f MiB of buffers%n", batch, sQ, hQ,
                    hKV, page, java.util.Arrays.toString(seqlens), step.numSms(), step.deviceBytes() / 1048576.0);
            for (int layer = 0; layer < layers; layer++) {
                short[] q = RandomTensors.normalBf16(RandomTensors.derive(seed, "q" + layer), batch * sQ * hQ * 576, 1.0);
                short[] cache = RandomTensors.normalBf16(RandomTensors.derive(seed, "kv" + layer), numBlocks * page * hKV * 576, 1.0);
                DeviceTensor dq = s.allocate(DType.BF16, batch, sQ, hQ, 576), dKv = s.allocate(DType.BF16, numBlocks, page, hKV, 576);
                DeviceTensor dOut = s.allocate(DType.BF16, batch, sQ, hQ, 512), dLse = s.allocate(DType.FP32, batch, hQ, sQ);
                dq.copyFrom(q);
                dKv.copyFrom(cache);
                step.forward(dq, dKv, dBt, dLen, dOut, dLse, scale, true, stream); // every layer reuses the plan
                stream.synchronize();
                stream.checkDeviceErrors();
                short[] o = dOut.toShortArray();
                float[] lse = dLse.toFloatArray();
                MlaReference.Result ref = MlaReference.decode(q, MlaReference.Cache.bf16(cache), page, hKV, blockTable, maxBlocks,
                        seqlens, sQ, hQ, scale, true);
                double diff = Metrics.diff(ref.out(), Bf16.decode(o));
                int lseBad = 0;
                for (int i = 0; i < lse.length; i++)
                    if (!(Math.abs(lse[i] - ref.lse()[i]) <= 1e-4 * Math.max(1, Math.abs(ref.lse()[i])))) lseBad++;
                int nan = Metrics.nanCountBf16(o);
                boolean pass = diff < 1e-5 && lseBad == 0 && nan == 0;
                ok &= pass;
                out.printf("  layer %d: out diff %.3e (gate < 1e-5), lse off by > 1e-4 rel: %d, NaN %d: %s%n", layer, diff, lseBad, nan,
                        Examples.verdict(pass));
            }
        }
        return ok ? Examples.OK : Examples.MISMATCH;
    }
}
