package io.kernels4j.examples;

import io.kernels4j.ops.DType;
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

/**
 * FP8 GEMM with DeepGEMM's scaling: {@code D[M, N] = A[M, K] . B[N, K]^T} with A quantised per
 * 1x128 token group and B per 128x128 block, BF16 output, checked against an FP64 GEMM of the
 * dequantised operands ({@code diff < 1e-5}, the GEMM checks' gate).
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp ... io.kernels4j.examples.Fp8GemmExample}
 */
public final class Fp8GemmExample {
    private Fp8GemmExample() {}

    /**
     * Runs the example on the selected device; exits 0 (matches), 1 (does not match) or 2 (no usable GPU).
     *
     * @param args none
     */
    public static void main(String[] args) {
        Examples.main("Fp8GemmExample", Fp8GemmExample::run);
    }

    /**
     * The example's body (see the class comment), on a device the caller knows to be usable.
     *
     * @param out where it prints what it does and the gates
     * @return {@link Examples#OK} or {@link Examples#MISMATCH}
     */
    public static int run(PrintStream out) {

        int m = 256, n = 512, k = 1024;
        long seed = 42;
        float[] a = RandomTensors.normal(RandomTensors.derive(seed, "a"), m * k, 1.0);
        float[] b = RandomTensors.normal(RandomTensors.derive(seed, "b"), n * k, 1.0 / Math.sqrt(k));
        // Host quantisation, bit for bit what the device quantisers do.
        Fp8Quantizer.Quantized aq = Fp8Quantizer.perTokenGroup(a, m, k, false); // scales MN-major [K/128, alignUp(M, 4)]
        Fp8Quantizer.Quantized bq = Fp8Quantizer.perBlock(b, n, k, false); // scales [N/128, K/128]
        short[] d;
        try (Scope s = Scope.open(); Stream stream = Stream.create()) {
            DeviceTensor da = s.allocate(DType.FP8_E4M3, m, k), das = s.allocate(DType.FP32, k / 128, Fp8Quantizer.alignUp(m, 4));
            DeviceTensor db = s.allocate(DType.FP8_E4M3, n, k), dbs = s.allocate(DType.FP32, n / 128, k / 128);
            DeviceTensor dd = s.allocate(DType.BF16, m, n);
            da.copyFrom(aq.q());
            das.copyFrom(aq.scales());
            db.copyFrom(bq.q());
            dbs.copyFrom(bq.scales());
            Fp8Gemm.dense(da, das, db, dbs, null, dd, stream);
            stream.synchronize();
            stream.checkDeviceErrors();
            d = dd.toShortArray();
        }
        out.printf("Fp8Gemm.dense: M=%d N=%d K=%d, FP8 e4m3 operands, 1x128 / 128x128 FP32 scales, BF16 output%n", m, n, k);
        double[] ref = Fp8GemmReference.dense(Fp8Quantizer.dequantizePerTokenGroupExact(aq, m, k),
                Fp8Quantizer.dequantizePerBlockExact(bq, n, k), null, m, n, k);
        double diff = Metrics.diff(ref, Bf16.decode(d));
        int nan = Metrics.nanCountBf16(d);
        boolean ok = diff < 1e-5 && nan == 0;
        out.printf("  vs FP64 reference: diff %.3e (gate < 1e-5), relL2 %.3e, NaN %d: %s%n", diff,
                Metrics.relL2(ref, Bf16.decode(d)), nan, Examples.verdict(ok));
        return ok ? Examples.OK : Examples.MISMATCH;
    }
}
