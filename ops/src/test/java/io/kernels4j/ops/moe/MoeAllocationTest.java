package io.kernels4j.ops.moe;

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
}
