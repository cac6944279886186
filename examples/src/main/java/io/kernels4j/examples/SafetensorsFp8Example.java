package io.kernels4j.examples;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.gemm.Fp8Gemm;
import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.host.Fp8Quantizer;
import io.kernels4j.validation.Metrics;
import io.kernels4j.validation.RandomTensors;
import io.kernels4j.validation.gemm.Fp8GemmReference;
import java.io.PrintStream;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * FP8 weights in DeepSeek-V3's checkpoint layout, from a safetensors file into device tensors: a
 * linear layer's {@code weight} (F8_E4M3 {@code [N, K]}) and {@code weight_scale_inv} (F32
 * {@code [ceil(N/128), ceil(K/128)]}: the dequantised weight is {@code weight * scale} per
 * 128x128 block, which is the B-scale layout of {@link Fp8Gemm}, so the tensors go to the GEMM as
 * they are). The example first writes such a file itself (with a BF16 norm weight beside it, as
 * in the checkpoint), then opens it with {@link Safetensors}, copies the tensors to the device,
 * checks that the device bytes equal the file's, and runs {@code y = x . W^T} with them against an
 * FP64 reference ({@code diff < 1e-5}). N is not a multiple of 128, as for some of V3's
 * projections, so the last scale row covers a partial block.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp ... io.kernels4j.examples.SafetensorsFp8Example [file.safetensors]}
 * (without an argument the file goes to a temporary folder and is deleted afterwards).
 */
public final class SafetensorsFp8Example {
    private SafetensorsFp8Example() {}

    static final String PREFIX = "model.layers.3.mlp.experts.0.down_proj.";

    /**
     * Runs the example on the selected device; exits 0 (matches), 1 (does not match) or 2 (no usable GPU).
     *
     * @param args optional: the safetensors file to write (else a temporary file, deleted afterwards)
     */
    public static void main(String[] args) {
        Examples.main("SafetensorsFp8Example", o -> run(o, args.length > 0 ? Path.of(args[0]) : null));
    }

    /**
     * {@link #run(PrintStream, Path)} with a temporary file.
     *
     * @param out where it prints what it does and the gates
     * @return {@link Examples#OK} or {@link Examples#MISMATCH}
     * @throws Exception if the file cannot be written or read
     */
    public static int run(PrintStream out) throws Exception {
        return run(out, null);
    }

    /**
     * The example's body (see the class comment), on a device the caller knows to be usable.
     *
     * @param out where it prints what it does and the gates
     * @param file the safetensors file to write, or null for a temporary file, deleted afterwards
     * @return {@link Examples#OK} or {@link Examples#MISMATCH}
     * @throws Exception if the file cannot be written or read
     */

    public static int run(PrintStream out, Path file) throws Exception {
        int n = 320, k = 640, m = 64;
        long seed = 3;
        Path tmp = file != null ? null : Files.createTempDirectory("k4j-safetensors");
        Path path = file != null ? file : tmp.resolve("deepseek-v3-style.safetensors");
        try {
            // 1. Write a checkpoint-style file: block-quantised weight + its weight_scale_inv.
            float[] wf = RandomTensors.normal(RandomTensors.derive(seed, "w"), n * k, 1.0 / Math.sqrt(k));
            Fp8Quantizer.Quantized wq = Fp8Quantizer.perBlock(wf, n, k, false); // scales [ceil(N/128), ceil(K/128)]
            int nb = Fp8Quantizer.ceilDiv(n, 128), kb = Fp8Quantizer.ceilDiv(k, 128);
            Map<String, Safetensors.Tensor> tensors = new LinkedHashMap<>();
            tensors.put(PREFIX + "weight", Safetensors.Tensor.e4m3(new long[] {n, k}, wq.q()));
            tensors.put(PREFIX + "weight_scale_inv", Safetensors.Tensor.f32(new long[] {nb, kb}, wq.scales()));
            tensors.put("model.layers.3.post_attention_layernorm.weight",
                    Safetensors.Tensor.bf16(new long[] {k}, RandomTensors.normalBf16(RandomTensors.derive(seed, "norm"), k, 1.0)));
            Safetensors.write(path, tensors, Map.of("format", "pt"));
            out.printf("wrote %s (%d bytes): %s%n", path, Files.size(path), tensors.keySet());

            // 2. Read it back into device tensors.
            boolean ok;
            try (Safetensors st = Safetensors.open(path); Scope s = Scope.open(); Stream stream = Stream.create()) {
                for (Safetensors.Entry e : st.entries().values())
                    out.printf("  %-60s %-8s %s%n", e.name(), e.dtype(), Arrays.toString(e.shape()));
                Device dev = Device.current();
                DeviceTensor w = s.track(st.toDevice(PREFIX + "weight", dev, stream));
                DeviceTensor ws = s.track(st.toDevice(PREFIX + "weight_scale_inv", dev, stream));
                stream.synchronize();
                boolean bytesOk = Arrays.equals(w.toByteArray(), st.bytes(PREFIX + "weight").toArray(ValueLayout.JAVA_BYTE))
                        && Arrays.equals(ws.toFloatArray(), Safetensors.floats(st.bytes(PREFIX + "weight_scale_inv")));
                out.printf("  device copies equal the file's bytes: %s%n", Examples.verdict(bytesOk));

                // 3. Use them: y[M, N] = x[M, K] . W^T with x quantised per 1x128 group.
                float[] xf = RandomTensors.normal(RandomTensors.derive(seed, "x"), m * k, 1.0);
                Fp8Quantizer.Quantized xq = Fp8Quantizer.perTokenGroup(xf, m, k, false);
                DeviceTensor dx = s.allocate(DType.FP8_E4M3, m, k), dxs = s.allocate(DType.FP32, kb, Fp8Quantizer.alignUp(m, 4));
                DeviceTensor dy = s.allocate(DType.BF16, m, n);
                dx.copyFrom(xq.q());
                dxs.copyFrom(xq.scales());
                Fp8Gemm.dense(dx, dxs, w, ws, null, dy, stream);
                stream.synchronize();
                stream.checkDeviceErrors();
                short[] y = dy.toShortArray();
                double[] ref = Fp8GemmReference.dense(Fp8Quantizer.dequantizePerTokenGroupExact(xq, m, k),
                        Fp8Quantizer.dequantizePerBlockExact(wq, n, k), null, m, n, k);
                double diff = Metrics.diff(ref, Bf16.decode(y));
                int nan = Metrics.nanCountBf16(y);
                boolean gemmOk = diff < 1e-5 && nan == 0;
                out.printf("  y = x . W^T (M=%d N=%d K=%d) vs FP64: diff %.3e (gate < 1e-5), NaN %d: %s%n", m, n, k, diff, nan,
                        Examples.verdict(gemmOk));
                ok = bytesOk && gemmOk;
            }
            return ok ? Examples.OK : Examples.MISMATCH;
        } finally {
            if (tmp != null) {
                Files.deleteIfExists(path);
                Files.deleteIfExists(tmp);
            }
        }
    }
}
