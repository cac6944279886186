package com.example.consumer;

import io.kernels4j.examples.Examples;
import io.kernels4j.examples.Fp8GemmExample;
import io.kernels4j.examples.MlaDecodeExample;
import io.kernels4j.examples.MoeLayerExample;
import io.kernels4j.examples.SafetensorsFp8Example;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.GpuUnavailableException;
import io.kernels4j.ops.Kernels4j;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.gemm.Fp8Gemm;
import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.host.Fp8Quantizer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * What an application does with kernels4j: asks whether a GPU is there without risking an
 * exception, and if so runs an FP8 GEMM and checks it; if not, gets the documented exception from
 * the API. Then runs the kernels4j examples named as arguments (all of them without arguments).
 * Exit code as the examples': 0 ran and matched, 1 did not match (or the API misbehaved), 2 no
 * usable GPU.
 */
public final class Main {
    private Main() {}

    private static final Map<String, Examples.Body> EXAMPLES = new LinkedHashMap<>();

    static {
        EXAMPLES.put("Fp8GemmExample", Fp8GemmExample::run);
        EXAMPLES.put("MoeLayerExample", MoeLayerExample::run);
        EXAMPLES.put("MlaDecodeExample", MlaDecodeExample::run);
        EXAMPLES.put("SafetensorsFp8Example", SafetensorsFp8Example::run);
    }

    public static void main(String[] args) throws Exception {
        List<String> names = args.length == 0 ? List.copyOf(EXAMPLES.keySet()) : List.of(args);
        for (String n : names)
            if (!EXAMPLES.containsKey(n)) {
                System.err.println("consumer: no example " + n + "; the examples are " + EXAMPLES.keySet());
                System.exit(64);
            }
        Kernels4j.Availability a = Kernels4j.availability(); // never throws
        System.out.println("consumer: running as " + (Main.class.getModule().isNamed() ? Main.class.getModule() : "class path")
                + ", kernels4j-ops from " + (Kernels4j.class.getModule().isNamed() ? Kernels4j.class.getModule() : "class path"));
        System.out.println("consumer: available=" + a.available() + " emulated=" + a.emulated() + " devices=" + a.deviceCount()
                + " library=" + a.libraryPath() + (a.available() ? "" : " reason=" + a.unavailableReason() + ": " + a.reason()));
        int rc = a.available() ? gemm() : expectTypedException();
        for (String n : names) {
            long t0 = System.nanoTime();
            int r = Examples.run(n, EXAMPLES.get(n), System.out, System.err);
            System.out.printf("consumer: %s exit code %d (%.1f s)%n", n, r, (System.nanoTime() - t0) * 1e-9);
            if (r != rc) rc = Examples.MISMATCH; // every example must agree with the probe
        }
        System.out.println("consumer: exit code " + rc);
        System.exit(rc);
    }

    /** No GPU: the API must say so with GpuUnavailableException, nothing else. */
    private static int expectTypedException() {
        try {
            Device d = Device.get(0);
            System.out.println("consumer: FAIL: Device.get(0) returned " + d + " although availability() said no");
            return Examples.MISMATCH;
        } catch (GpuUnavailableException e) {
            System.err.println("consumer: no usable GPU: GpuUnavailableException(" + e.reason() + "): " + e.getMessage());
            return Examples.NO_GPU;
        }
    }

    /** D[m, n] = A[m, k] . B[n, k]^T with 1x128 / 128x128 scales, against a double GEMM of the dequantised inputs. */
    private static int gemm() {
        int m = 16, n = 128, k = 256;
        Random r = new Random(1);
        float[] x = new float[m * k], w = new float[n * k];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() / Math.sqrt(k));
        Fp8Quantizer.Quantized xq = Fp8Quantizer.perTokenGroup(x, m, k, false), wq = Fp8Quantizer.perBlock(w, n, k, false);
        short[] d;
        try (Scope s = Scope.open(); Stream stream = Stream.create()) {
            DeviceTensor dx = s.allocate(DType.FP8_E4M3, m, k), dxs = s.allocate(DType.FP32, k / 128, Fp8Quantizer.alignUp(m, 4));
            DeviceTensor dw = s.allocate(DType.FP8_E4M3, n, k), dws = s.allocate(DType.FP32, n / 128, k / 128);
            DeviceTensor dd = s.allocate(DType.BF16, m, n);
            dx.copyFrom(xq.q());
            dxs.copyFrom(xq.scales());
            dw.copyFrom(wq.q());
            dws.copyFrom(wq.scales());
            Fp8Gemm.dense(dx, dxs, dw, dws, null, dd, stream);
            stream.synchronize();
            stream.checkDeviceErrors();
            d = dd.toShortArray();
        }
        double[] xd = Fp8Quantizer.dequantizePerTokenGroupExact(xq, m, k), wd = Fp8Quantizer.dequantizePerBlockExact(wq, n, k);
        double xy = 0, xxyy = 0; // DeepGEMM's calc_diff
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double ref = 0;
                for (int t = 0; t < k; t++) ref += xd[i * k + t] * wd[j * k + t];
                double got = Bf16.decode(d[i * n + j]);
                xy += ref * got;
                xxyy += ref * ref + got * got;
            }
        double diff = 1 - 2 * xy / xxyy;
        boolean ok = diff < 1e-5; // NaN fails too
        System.out.printf("consumer: Fp8Gemm.dense %dx%dx%d diff %.2e (< 1e-5): %s%n", m, n, k, diff, ok ? "PASS" : "FAIL");
        return ok ? Examples.OK : Examples.MISMATCH;
    }
}
