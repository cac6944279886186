package io.kernels4j.ops.robustness;

import static org.junit.jupiter.api.Assertions.*;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceDataException;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.gemm.Fp8Gemm;
import io.kernels4j.ops.testing.GpuTestSupport;
import io.kernels4j.ops.testing.RequiresGpu;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Bad device-side indices for the grouped FP8 GEMMs: ids outside [-1, G), masked counts outside
 * [0, maxM], decreasing or out-of-range group ends. The kernels skip or clamp them, raise the right
 * bit, and write nothing outside the rows they own (poisoned guard rows around d stay poisoned).
 */
@RequiresGpu
class GemmBadDataGpuTest {
    static final short POISON = (short) 0x7FC1;
    static final int N = 256, K = 256, GUARD = 16;

    /** Random e4m3 bytes, no NaN codes (0x7F, 0xFF), small magnitudes. */
    static byte[] fp8(SplittableRandom r, int n) {
        byte[] v = new byte[n];
        for (int i = 0; i < n; i++) {
            int b;
            do b = r.nextInt(256); while ((b & 0x7F) == 0x7F || (b & 0x78) > 0x40); // |x| < 8
            v[i] = (byte) b;
        }
        return v;
    }

    static float[] scales(int n) {
        float[] s = new float[n];
        Arrays.fill(s, 0.0625f);
        return s;
    }

    record Operands(DeviceTensor a, DeviceTensor aScales, DeviceTensor b, DeviceTensor bScales) implements AutoCloseable {
        static Operands of(Device d, SplittableRandom r, long[] aShape, long[] aScaleShape, int groups) {
            DeviceTensor a = DeviceTensor.allocate(d, DType.FP8_E4M3, aShape);
            DeviceTensor as = DeviceTensor.allocate(d, DType.FP32, aScaleShape);
            DeviceTensor b = DeviceTensor.allocate(d, DType.FP8_E4M3, groups, N, K);
            DeviceTensor bs = DeviceTensor.allocate(d, DType.FP32, groups, N / 128, K / 128);
            a.copyFrom(fp8(r, (int) a.numel()));
            as.copyFrom(scales((int) as.numel()));
            b.copyFrom(fp8(r, (int) b.numel()));
            bs.copyFrom(scales((int) bs.numel()));
            return new Operands(a, as, b, bs);
        }

        @Override
        public void close() {
            a.close();
            aScales.close();
            b.close();
            bScales.close();
        }
    }

    /** Row r of a [rows, N] BF16 array is entirely the poison pattern / entirely not. */
    static boolean rowPoisoned(short[] d, int row) {
        for (int j = 0; j < N; j++) if (d[row * N + j] != POISON) return false;
        return true;
    }

    static boolean rowWritten(short[] d, int row) {
        for (int j = 0; j < N; j++) if (d[row * N + j] == POISON || Float.isNaN(Float.intBitsToFloat(d[row * N + j] << 16))) return false;
        return true;
    }

    @Test
    void contiguousSkipsIdsOutsideTheGroups() {
        Device dev = GpuTestSupport.device();
        SplittableRandom r = new SplittableRandom(GpuTestSupport.seed("GemmBadDataGpuTest.contiguous"));
        int m = 256, g = 3;
        int[] ids = new int[m];
        for (int i = 0; i < m; i++) ids[i] = i < 128 ? 1 : i < 160 ? g : i < 192 ? -7 : i < 224 ? Integer.MAX_VALUE : -1;
        try (Stream s = Stream.create(dev); Operands o = Operands.of(dev, r, new long[] {m, K}, new long[] {K / 128, m}, g);
                DeviceTensor dFull = DeviceTensor.allocate(dev, DType.BF16, m + 2 * GUARD, N);
                DeviceTensor mIdx = DeviceTensor.allocate(dev, DType.INT32, m)) {
            mIdx.copyFrom(ids);
            dFull.fill(POISON, s);
            Fp8Gemm.groupedContiguous(o.a(), o.aScales(), o.b(), o.bScales(), null, dFull.slice(GUARD, GUARD + m), mIdx, s);
            assertEquals(Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE, s.deviceErrors());
            assertThrows(DeviceDataException.class, s::checkDeviceErrors);
            short[] d = dFull.toShortArray();
            for (int row = 0; row < m + 2 * GUARD; row++) {
                int i = row - GUARD;
                boolean valid = i >= 0 && i < m && ids[i] >= 0 && ids[i] < g;
                if (valid) assertTrue(rowWritten(d, row), "row " + i + " (expert " + ids[i] + ") not written");
                else assertTrue(rowPoisoned(d, row), "row " + i + " (id " + (i >= 0 && i < m ? ids[i] : "guard") + ") was written");
            }
        }
    }

    @Test
    void maskedClampsCountsAndLeavesTheRestUntouched() {
        Device dev = GpuTestSupport.device();
        SplittableRandom r = new SplittableRandom(GpuTestSupport.seed("GemmBadDataGpuTest.masked"));
        int g = 3, maxM = 64;
        int[] masked = {70, -3, 10};
        try (Stream s = Stream.create(dev);
                Operands o = Operands.of(dev, r, new long[] {g, maxM, K}, new long[] {g, K / 128, maxM}, g);
                DeviceTensor dFull = DeviceTensor.allocate(dev, DType.BF16, g + 2, maxM, N);
                DeviceTensor mm = DeviceTensor.allocate(dev, DType.INT32, g)) {
            mm.copyFrom(masked);
            dFull.fill(POISON, s);
            Fp8Gemm.groupedMasked(o.a(), o.aScales(), o.b(), o.bScales(), null, dFull.slice(1, g + 1), mm, 16, s);
            assertEquals(Kernels4jNative.K4J_DEVERR_LENGTH_OUT_OF_RANGE, s.deviceErrors());
            assertThrows(DeviceDataException.class, s::checkDeviceErrors);
            short[] d = dFull.toShortArray();
            for (int grp = -1; grp <= g; grp++) {
                int count = grp < 0 || grp == g ? 0 : Math.max(0, Math.min(maxM, masked[grp]));
                for (int row = 0; row < maxM; row++) {
                    int flat = (grp + 1) * maxM + row;
                    if (row < count) assertTrue(rowWritten(d, flat), "group " + grp + " row " + row + " not written");
                    else assertTrue(rowPoisoned(d, flat), "group " + grp + " row " + row + " written past its count");
                }
            }
        }
    }

    @Test
    void endsAreClampedToTheRowsAndMadeMonotone() {
        Device dev = GpuTestSupport.device();
        SplittableRandom r = new SplittableRandom(GpuTestSupport.seed("GemmBadDataGpuTest.ends"));
        int m = 200, g = 4;
        int[] ends = {60, 20, 500, -4}; // clamped: 60, max(60, 20) = 60, 200, then max(200, 0) = 200
        try (Stream s = Stream.create(dev); Operands o = Operands.of(dev, r, new long[] {m, K}, new long[] {K / 128, m}, g);
                DeviceTensor dFull = DeviceTensor.allocate(dev, DType.BF16, m + 2 * GUARD, N);
                DeviceTensor ge = DeviceTensor.allocate(dev, DType.INT32, g)) {
            ge.copyFrom(ends);
            dFull.fill(POISON, s);
            Fp8Gemm.groupedEnds(o.a(), o.aScales(), o.b(), o.bScales(), null, dFull.slice(GUARD, GUARD + m), ge, s);
            assertEquals(Kernels4jNative.K4J_DEVERR_LENGTH_OUT_OF_RANGE, s.deviceErrors());
            short[] d = dFull.toShortArray();
            for (int row = 0; row < m + 2 * GUARD; row++) {
                boolean inside = row >= GUARD && row < GUARD + m;
                if (inside) assertTrue(rowWritten(d, row), "row " + (row - GUARD) + " not written");
                else assertTrue(rowPoisoned(d, row), "guard row " + row + " written");
            }
        }
    }
}
