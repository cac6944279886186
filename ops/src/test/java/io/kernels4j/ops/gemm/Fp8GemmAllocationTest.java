package io.kernels4j.ops.gemm;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Simulated;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.testing.AllocationMeter;
import org.junit.jupiter.api.Test;

/** The host side of every GEMM call (all checks up to the launch) allocates nothing on the Java heap. */
class Fp8GemmAllocationTest {
    private final Device dev = Simulated.device(0);
    private final Stream stream = Simulated.stream(dev);

    private DeviceTensor t(DType dtype, long... shape) {
        return Simulated.tensor(dev, dtype, shape);
    }

    @Test
    void dense() {
        DeviceTensor a = t(DType.FP8_E4M3, 64, 7168), sa = t(DType.FP32, 56, 64), b = t(DType.FP8_E4M3, 2112, 7168),
                sb = t(DType.FP32, 17, 56), c = t(DType.FP32, 64, 2112), d = t(DType.BF16, 64, 2112);
        AllocationMeter.assertNoAllocation("Fp8Gemm.dense", () -> Fp8Gemm.checkDense(a, sa, b, sb, null, d, stream));
        AllocationMeter.assertNoAllocation("Fp8Gemm.dense with c", () -> Fp8Gemm.checkDense(a, sa, b, sb, c, d, stream));
    }

    @Test
    void groupedContiguousAndEnds() {
        DeviceTensor a = t(DType.FP8_E4M3, 512, 2048), sa = t(DType.FP32, 16, 512), b = t(DType.FP8_E4M3, 4, 7168, 2048),
                sb = t(DType.FP32, 4, 56, 16), c = t(DType.FP32, 512, 7168), d = t(DType.FP32, 512, 7168),
                mIndices = t(DType.INT32, 512), ends = t(DType.INT32, 4);
        AllocationMeter.assertNoAllocation("Fp8Gemm.groupedContiguous",
                () -> Fp8Gemm.checkContiguous(a, sa, b, sb, c, d, mIndices, true, stream));
        AllocationMeter.assertNoAllocation("Fp8Gemm.groupedEnds",
                () -> Fp8Gemm.checkContiguous(a, sa, b, sb, null, d, ends, false, stream));
    }

    @Test
    void groupedMasked() {
        DeviceTensor a = t(DType.FP8_E4M3, 8, 33, 7168), sa = t(DType.FP32, 8, 56, 36), b = t(DType.FP8_E4M3, 8, 4096, 7168),
                sb = t(DType.FP32, 8, 32, 56), d = t(DType.BF16, 8, 33, 4096), mm = t(DType.INT32, 8);
        AllocationMeter.assertNoAllocation("Fp8Gemm.groupedMasked",
                () -> Fp8Gemm.checkMasked(a, sa, b, sb, null, d, mm, 16, stream));
    }

    @Test
    void quantize() {
        DeviceTensor x = t(DType.BF16, 300, 7168), qx = t(DType.FP8_E4M3, 300, 7168), sx = t(DType.FP32, 56, 300);
        DeviceTensor w = t(DType.FP32, 2112, 7168), qw = t(DType.FP8_E4M3, 2112, 7168), sw = t(DType.FP32, 17, 56);
        AllocationMeter.assertNoAllocation("Fp8Quantize.perTokenGroup", () -> Fp8Quantize.check(x, qx, sx, true, stream));
        AllocationMeter.assertNoAllocation("Fp8Quantize.perBlock", () -> Fp8Quantize.check(w, qw, sw, false, stream));
    }

    /** The allocation-free predicates reject exactly what the full checks reject (a few edge cases; the robustness tests hold the rest). */
    @Test
    void fastChecksMatchTheFullChecks() {
        DeviceTensor a = t(DType.FP8_E4M3, 64, 7168), sa = t(DType.FP32, 56, 64), b = t(DType.FP8_E4M3, 2112, 7168),
                sb = t(DType.FP32, 17, 56), d = t(DType.BF16, 64, 2112);
        org.junit.jupiter.api.Assertions.assertTrue(Fp8Gemm.denseOk(a, sa, b, sb, null, d));
        DeviceTensor badD = t(DType.FP32, 64, 2104), badSa = t(DType.FP32, 56, 68), closed = t(DType.FP32, 64, 2112);
        closed.close();
        DeviceTensor misaligned = Simulated.wrap(Simulated.fakeAddress(1 << 20) + 8, dev, DType.FP8_E4M3, 64, 7168);
        org.junit.jupiter.api.Assertions.assertFalse(Fp8Gemm.denseOk(a, sa, b, sb, null, badD));
        org.junit.jupiter.api.Assertions.assertFalse(Fp8Gemm.denseOk(a, badSa, b, sb, null, d));
        org.junit.jupiter.api.Assertions.assertFalse(Fp8Gemm.denseOk(a, sa, b, sb, closed, d));
        org.junit.jupiter.api.Assertions.assertFalse(Fp8Gemm.denseOk(misaligned, sa, b, sb, null, d));
        org.junit.jupiter.api.Assertions.assertFalse(Fp8Gemm.denseOk(a, sa, b, sb, null, null));
    }

    private static boolean accepts(Runnable fullCheck) {
        try {
            fullCheck.run();
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Differential: on near-valid random arguments, the allocation-free predicates agree with validate*. */
    @Test
    void fastChecksAgreeWithTheFullChecksOnRandomArguments() {
        long seed = io.kernels4j.ops.testing.GpuTestSupport.seed("Fp8GemmAllocationTest.differential");
        var f = new io.kernels4j.ops.testing.ShapeFuzz(seed, dev, 0.08);
        int accepted = 0;
        for (int i = 0; i < 4000; i++) {
            long m = f.dim(1 + f.nextInt(300)), n = f.dim(8L * (1 + f.nextInt(40))), k = f.dim(16L * (1 + f.nextInt(40))),
                    g = f.dim(1 + f.nextInt(8));
            long kb = f.dim(Fp8Gemm.ceilDiv(k, 128)), nb = f.dim(Fp8Gemm.ceilDiv(n, 128));
            DeviceTensor c = f.flip() ? null : f.tensor(DType.FP32, f.dim(m), f.dim(n));
            int form = f.nextInt(5);
            boolean fast, full;
            String what;
            if (form == 0) {
                DeviceTensor a = f.tensor(DType.FP8_E4M3, m, k), sa = f.tensor(DType.FP32, kb, f.dim(Fp8Gemm.alignUp(m, 4))),
                        b = f.tensor(DType.FP8_E4M3, n, f.dim(k)), sb = f.tensor(DType.FP32, nb, f.dim(kb)),
                        d = f.tensor(f.nextInt(2) == 0 ? DType.BF16 : DType.FP32, f.dim(m), f.dim(n));
                fast = Fp8Gemm.denseOk(a, sa, b, sb, c, d);
                full = accepts(() -> Fp8Gemm.validateDense(TensorArg.of(a, "a"), TensorArg.of(sa, "aScales"), TensorArg.of(b, "b"),
                        TensorArg.of(sb, "bScales"), TensorArg.of(c, "c"), TensorArg.of(d, "d")));
                what = "dense " + a + " " + sa + " " + b + " " + sb + " " + c + " " + d;
            } else if (form <= 2) {
                boolean mi = form == 1;
                DeviceTensor a = f.tensor(DType.FP8_E4M3, m, k), sa = f.tensor(DType.FP32, kb, f.dim(Fp8Gemm.alignUp(m, 4))),
                        b = f.tensor(DType.FP8_E4M3, g, n, f.dim(k)), sb = f.tensor(DType.FP32, f.dim(g), nb, f.dim(kb)),
                        d = f.tensor(DType.BF16, f.dim(m), f.dim(n)), idx = f.tensor(DType.INT32, f.dim(mi ? m : g));
                fast = Fp8Gemm.contiguousOk(a, sa, b, sb, c, d, idx, mi);
                full = accepts(() -> Fp8Gemm.validateContiguous(TensorArg.of(a, "a"), TensorArg.of(sa, "aScales"),
                        TensorArg.of(b, "b"), TensorArg.of(sb, "bScales"), TensorArg.of(c, "c"), TensorArg.of(d, "d"),
                        TensorArg.of(idx, mi ? "mIndices" : "groupEnds"), mi ? "mIndices" : "groupEnds"));
                what = "contiguous " + a + " " + sa + " " + b + " " + sb + " " + c + " " + d + " " + idx;
            } else if (form == 3) {
                int expectedM = f.flip() ? -1 : 16;
                DeviceTensor c3 = c == null ? null : f.tensor(DType.FP32, f.dim(g), f.dim(m), f.dim(n));
                DeviceTensor a = f.tensor(DType.FP8_E4M3, g, m, k), sa = f.tensor(DType.FP32, f.dim(g), kb, f.dim(Fp8Gemm.alignUp(m, 4))),
                        b = f.tensor(DType.FP8_E4M3, f.dim(g), n, f.dim(k)), sb = f.tensor(DType.FP32, f.dim(g), nb, f.dim(kb)),
                        d = f.tensor(DType.FP32, f.dim(g), f.dim(m), f.dim(n)), mm = f.tensor(DType.INT32, f.dim(g));
                fast = Fp8Gemm.maskedOk(a, sa, b, sb, c3, d, mm, expectedM);
                full = accepts(() -> Fp8Gemm.validateMasked(TensorArg.of(a, "a"), TensorArg.of(sa, "aScales"), TensorArg.of(b, "b"),
                        TensorArg.of(sb, "bScales"), TensorArg.of(c3, "c"), TensorArg.of(d, "d"), TensorArg.of(mm, "maskedM"), expectedM));
                what = "masked " + a + " " + sa + " " + b + " " + sb + " " + c3 + " " + d + " " + mm + " " + expectedM;
            } else {
                boolean perToken = f.nextInt(2) == 0;
                DeviceTensor x = f.tensor(DType.BF16, m, k), q = f.tensor(DType.FP8_E4M3, f.dim(m), f.dim(k)),
                        s = perToken ? f.tensor(DType.FP32, kb, f.dim(Fp8Gemm.alignUp(m, 4)))
                                : f.tensor(DType.FP32, f.dim(Fp8Gemm.ceilDiv(m, 128)), kb);
                fast = Fp8Quantize.ok(x, q, s, perToken);
                full = accepts(() -> Fp8Quantize.validate(TensorArg.of(x, perToken ? "x" : "w"), TensorArg.of(q, "q"),
                        TensorArg.of(s, "scales"), perToken));
                what = "quantize " + perToken + " " + x + " " + q + " " + s;
            }
            org.junit.jupiter.api.Assertions.assertEquals(full, fast, what);
            if (full) accepted++;
        }
        org.junit.jupiter.api.Assertions.assertTrue(accepted > 200, "too few valid cases: " + accepted);
    }
}
