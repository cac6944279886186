package io.kernels4j.ops.moe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Simulated;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.testing.AllocationMeter;
import org.junit.jupiter.api.Test;

/** The host side of every MoE call (all checks up to the launch) allocates nothing on the Java heap. */
class MoeAllocationTest {
    private static final int T = 96, K = 8, E = 64, H = 7168, I = 2048, ALIGN = 128, CAP = T * K + E * (ALIGN - 1), MAXT = 32;
    private final Device dev = Simulated.device(0);
    private final Stream stream = Simulated.stream(dev);

    private DeviceTensor t(DType dtype, long... shape) {
        return Simulated.tensor(dev, dtype, shape);
    }

    private final DeviceTensor topkIdx = t(DType.INT32, T, K), counts = t(DType.INT32, E), offsets = t(DType.INT32, E + 1),
            total = t(DType.INT32, 1), rowOf = t(DType.INT32, T, K), x = t(DType.BF16, T, H);

    @Test
    void layout() {
        DeviceTensor ws = t(DType.INT32, MoeLayout.workspaceBytes(T, K, E) / 4);
        AllocationMeter.assertNoAllocation("MoeLayout.compute",
                () -> MoeArgs.checkLayout(topkIdx, E, ALIGN, counts, offsets, total, rowOf, ws, stream));
        AllocationMeter.assertNoAllocation("MoeLayout.compute (no totalRows)",
                () -> MoeArgs.checkLayout(topkIdx, E, ALIGN, counts, offsets, null, rowOf, ws, stream));
    }

    @Test
    void dispatch() {
        DeviceTensor xOut = t(DType.FP8_E4M3, CAP, H), scales = t(DType.FP32, H / 128, MoeShapes.scaleRows(CAP)),
                mIndices = t(DType.INT32, CAP), xOutBf16 = t(DType.BF16, CAP, H);
        AllocationMeter.assertNoAllocation("MoeDispatch.contiguous (FP8)",
                () -> MoeArgs.checkDispatchContiguous(x, rowOf, counts, offsets, xOut, scales, mIndices, stream));
        AllocationMeter.assertNoAllocation("MoeDispatch.contiguous (BF16)",
                () -> MoeArgs.checkDispatchContiguous(x, rowOf, counts, offsets, xOutBf16, null, null, stream));
        DeviceTensor mOut = t(DType.FP8_E4M3, E, MAXT, H), mScales = t(DType.FP32, E, H / 128, MAXT),
                mCounts = t(DType.INT32, E), slotOf = t(DType.INT32, T, K), overflow = t(DType.INT32, 1);
        AllocationMeter.assertNoAllocation("MoeDispatch.masked",
                () -> MoeArgs.checkDispatchMasked(x, topkIdx, rowOf, counts, offsets, mOut, mScales, mCounts, slotOf, overflow,
                        stream));
    }

    @Test
    void combine() {
        DeviceTensor y = t(DType.BF16, CAP, H), ym = t(DType.BF16, E, MAXT, H), w = t(DType.FP32, T, K), out = t(DType.BF16, T, H);
        AllocationMeter.assertNoAllocation("MoeCombine.contiguous",
                () -> MoeArgs.checkCombine(y, false, rowOf, "rowOf", w, out, stream));
        AllocationMeter.assertNoAllocation("MoeCombine.masked",
                () -> MoeArgs.checkCombine(ym, true, rowOf, "slotOf", w, out, stream));
    }

    @Test
    void siluAndMul() {
        DeviceTensor gu = t(DType.BF16, CAP, 2 * I), out = t(DType.FP8_E4M3, CAP, I),
                scales = t(DType.FP32, I / 128, MoeShapes.scaleRows(CAP)), mIndices = t(DType.INT32, CAP);
        AllocationMeter.assertNoAllocation("SiluAndMul.contiguous",
                () -> MoeArgs.checkSiluAndMul(gu, false, mIndices, "mIndices", out, scales, stream));
        DeviceTensor gm = t(DType.BF16, E, MAXT, 2 * I), om = t(DType.BF16, E, MAXT, I), c = t(DType.INT32, E);
        AllocationMeter.assertNoAllocation("SiluAndMul.masked",
                () -> MoeArgs.checkSiluAndMul(gm, true, c, "counts", om, null, stream));
    }

    /** The allocation-free predicates reject what the full checks reject (edge cases; the robustness properties hold the rest). */
    @Test
    void fastChecksRejectWhatTheFullChecksReject() {
        DeviceTensor y = t(DType.BF16, CAP, H), w = t(DType.FP32, T, K), out = t(DType.BF16, T, H);
        assertTrue(MoeArgs.combineOk(y, false, rowOf, w, out));
        assertFalse(MoeArgs.combineOk(y, true, rowOf, w, out));
        assertFalse(MoeArgs.combineOk(t(DType.BF16, CAP, 100), false, rowOf, w, t(DType.BF16, T, 100)));
        assertFalse(MoeArgs.combineOk(y, false, rowOf, t(DType.FP32, T, K + 1), out));
        DeviceTensor gu = t(DType.BF16, CAP, 2 * I), bf = t(DType.BF16, CAP, I);
        assertTrue(MoeArgs.siluAndMulOk(gu, false, bf, null, null));
        assertFalse(MoeArgs.siluAndMulOk(gu, false, bf, t(DType.FP32, I / 128, MoeShapes.scaleRows(CAP)), null));
        assertFalse(MoeArgs.siluAndMulOk(gu, false, t(DType.FP32, CAP, I), null, null));
    }

    private static boolean accepts(Runnable fullCheck) {
        try {
            fullCheck.run();
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static MoeShapes.Arg arg(String name, DeviceTensor t) {
        return MoeShapes.Arg.of(name, t);
    }

    private static void aligned(DeviceTensor t, int bytes) {
        io.kernels4j.ops.internal.Checks.requireAligned(t, "t", bytes);
    }

    /** Differential: on near-valid random arguments, the allocation-free predicates agree with MoeShapes and the op checks. */
    @Test
    void fastChecksAgreeWithTheFullChecksOnRandomArguments() {
        long seed = io.kernels4j.ops.testing.GpuTestSupport.seed("MoeAllocationTest.differential");
        var f = new io.kernels4j.ops.testing.ShapeFuzz(seed, dev, 0.06);
        int accepted = 0;
        for (int i = 0; i < 5000; i++) {
            long tk = f.dim(f.nextInt(40)), k = f.dim(1 + f.nextInt(8)), e = f.dim(1 + f.nextInt(16)), h = f.dim(128L * (1 + f.nextInt(4))),
                    align = f.dim(1L << f.nextInt(8)), cap = f.dim(1 + f.nextInt(300)), maxT = f.dim(1 + f.nextInt(40));
            boolean fp8 = f.nextInt(2) == 0, masked = f.nextInt(2) == 0;
            DeviceTensor rowOf = f.tensor(DType.INT32, tk, k), counts = f.tensor(DType.INT32, e), offsets = f.tensor(DType.INT32, f.dim(e + 1));
            int form = f.nextInt(5);
            boolean fast, full;
            String what;
            if (form == 0) {
                DeviceTensor topk = f.tensor(DType.INT32, f.dim(tk), f.dim(k)), total = f.flip() ? null : f.tensor(DType.INT32, f.dim(1));
                long need = tk >= 0 && k >= 1 && k <= 32 && e >= 1 && e <= 1024 && tk * k <= Integer.MAX_VALUE
                        ? MoeLayout.workspaceBytes(tk, k, e) : 256;
                DeviceTensor ws = need == 0 && f.nextInt(2) == 0 ? null : f.tensor(DType.INT32, f.dim((need + 3) / 4));
                int ne = (int) e, al = (int) align;
                fast = MoeArgs.layoutOk(topk, ne, al, counts, offsets, total, rowOf, ws);
                full = accepts(() -> {
                    MoeShapes.layout(arg("topkIdx", topk), ne, al, arg("numTokensPerExpert", counts), arg("expertOffsets", offsets),
                            arg("totalRows", total), arg("rowOf", rowOf));
                    for (DeviceTensor t : new DeviceTensor[] {topk, counts, offsets, total, rowOf}) aligned(t, 4);
                    long nd = MoeLayout.workspaceBytes(topk.dim(0), topk.dim(1), ne);
                    if (nd > 0) {
                        io.kernels4j.ops.internal.Checks.requireBytes(ws, "workspace", nd);
                        aligned(ws, 4);
                    }
                });
                what = "layout " + topk + " " + ne + " " + al + " " + counts + " " + offsets + " " + total + " " + rowOf + " " + ws;
            } else if (form == 1) {
                DType o = fp8 ? DType.FP8_E4M3 : DType.BF16;
                DeviceTensor x = f.tensor(DType.BF16, f.dim(tk), h), xOut = f.tensor(o, cap, f.dim(h)),
                        sc = fp8 != f.flip() ? f.tensor(DType.FP32, f.dim(h / 128), f.dim(MoeShapes.scaleRows(cap))) : null,
                        mi = f.flip() ? null : f.tensor(DType.INT32, f.dim(cap));
                fast = MoeArgs.dispatchContiguousOk(x, rowOf, counts, offsets, xOut, sc, mi);
                full = accepts(() -> {
                    MoeShapes.dispatchContiguous(arg("x", x), arg("rowOf", rowOf), arg("numTokensPerExpert", counts),
                            arg("expertOffsets", offsets), arg("xOut", xOut), arg("xOutScales", sc), arg("mIndices", mi));
                    aligned(x, 16);
                    aligned(xOut, 16);
                    for (DeviceTensor t : new DeviceTensor[] {rowOf, counts, offsets, sc, mi}) aligned(t, 4);
                });
                what = "dispatchContiguous " + x + " " + rowOf + " " + counts + " " + offsets + " " + xOut + " " + sc + " " + mi;
            } else if (form == 2) {
                DType o = fp8 ? DType.FP8_E4M3 : DType.BF16;
                DeviceTensor x = f.tensor(DType.BF16, f.dim(tk), h), topk = f.tensor(DType.INT32, f.dim(tk), f.dim(k)),
                        xOut = f.tensor(o, f.dim(e), maxT, f.dim(h)),
                        sc = fp8 != f.flip() ? f.tensor(DType.FP32, f.dim(e), f.dim(h / 128), f.dim(MoeShapes.scaleRows(maxT))) : null,
                        cnt = f.tensor(DType.INT32, f.dim(e)), slot = f.tensor(DType.INT32, f.dim(tk), f.dim(k)),
                        ovf = f.flip() ? null : f.tensor(DType.INT32, f.dim(1));
                fast = MoeArgs.dispatchMaskedOk(x, topk, rowOf, counts, offsets, xOut, sc, cnt, slot, ovf);
                full = accepts(() -> {
                    MoeShapes.dispatchMasked(arg("x", x), arg("topkIdx", topk), arg("rowOf", rowOf), arg("numTokensPerExpert", counts),
                            arg("expertOffsets", offsets), arg("xOut", xOut), arg("xOutScales", sc), arg("counts", cnt),
                            arg("slotOf", slot), arg("overflow", ovf));
                    aligned(x, 16);
                    aligned(xOut, 16);
                    for (DeviceTensor t : new DeviceTensor[] {topk, rowOf, counts, offsets, sc, cnt, slot, ovf}) aligned(t, 4);
                });
                what = "dispatchMasked " + x + " " + topk + " " + rowOf + " " + counts + " " + offsets + " " + xOut + " " + sc + " "
                        + cnt + " " + slot + " " + ovf;
            } else if (form == 3) {
                DeviceTensor y = masked ? f.tensor(DType.BF16, e, maxT, h) : f.tensor(DType.BF16, cap, h),
                        w = f.tensor(DType.FP32, f.dim(tk), f.dim(k)), out = f.tensor(DType.BF16, f.dim(tk), f.dim(h));
                fast = MoeArgs.combineOk(y, masked, rowOf, w, out);
                full = accepts(() -> {
                    MoeShapes.combine(arg("y", y), masked, arg("rowOf", rowOf), "rowOf", arg("topkWeights", w), arg("out", out));
                    aligned(y, 16);
                    aligned(out, 16);
                    aligned(rowOf, 4);
                    aligned(w, 4);
                });
                what = "combine " + masked + " " + y + " " + rowOf + " " + w + " " + out;
            } else {
                DType o = fp8 ? DType.FP8_E4M3 : DType.BF16;
                long inter = h, rows = masked ? maxT : cap;
                DeviceTensor gu = masked ? f.tensor(DType.BF16, e, rows, f.dim(2 * inter)) : f.tensor(DType.BF16, rows, f.dim(2 * inter)),
                        out = masked ? f.tensor(o, f.dim(e), f.dim(rows), f.dim(inter)) : f.tensor(o, f.dim(rows), f.dim(inter)),
                        sc = fp8 == f.flip() ? null : masked ? f.tensor(DType.FP32, f.dim(e), f.dim(inter / 128), f.dim(MoeShapes.scaleRows(rows)))
                                : f.tensor(DType.FP32, f.dim(inter / 128), f.dim(MoeShapes.scaleRows(rows))),
                        filter = f.flip() ? null : f.tensor(DType.INT32, f.dim(masked ? e : rows));
                String fn = masked ? "counts" : "mIndices";
                fast = MoeArgs.siluAndMulOk(gu, masked, out, sc, filter);
                full = accepts(() -> {
                    MoeShapes.siluAndMul(arg("gateUp", gu), masked, arg("out", out), arg("outScales", sc), arg(fn, filter), fn);
                    aligned(filter, 4);
                    aligned(sc, 4);
                    aligned(gu, 16);
                    aligned(out, 16);
                });
                what = "siluAndMul " + masked + " " + gu + " " + out + " " + sc + " " + filter;
            }
            assertEquals(full, fast, what);
            if (full) accepted++;
        }
        assertTrue(accepted > 200, "too few valid cases: " + accepted);
    }
}
