package io.kernels4j.validation.moe;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.host.E4m3;
import io.kernels4j.ops.host.Fp8Quantizer;
import io.kernels4j.ops.moe.SiluAndMul;
import io.kernels4j.validation.CheckCase;
import io.kernels4j.validation.CheckContext;
import io.kernels4j.validation.CheckResult;
import io.kernels4j.validation.RandomTensors;
import java.util.ArrayList;
import java.util.List;

/**
 * GPU checks of {@link SiluAndMul} (part of the {@code moe} family, listed by {@link MoeChecks}).
 *
 * <p>The kernel computes h = silu(gate) * up in FP32 with CUDA's {@code expf}, which is not
 * correctly rounded, so h can differ from the FP64 value rounded to FP32 in the last bit or two.
 * The gates are therefore: every scale within 2^-20 relative of the scale the Java quantiser gives
 * for FP32(h_FP64) (bit-equal in practice unless the group's amax element moved by an ulp; with
 * power-of-two scales also a factor of two when amax / 448 sits on a power of two, see
 * {@link #scaleMatches}), every
 * code equal to or a neighbour of the Java code, the share of bit-equal codes reported, BF16 output
 * within 1 ulp of RN(h_FP64), skipped rows untouched, no NaN.
 */
final class SiluChecks {
    private SiluChecks() {}

    /**
     * Gates the GPU scale {@code sg} of the 128-group {@code hf[off, off + 128)} against the Java
     * quantiser and leaves in {@code qr[qOff, qOff + 128)} the reference codes to compare the GPU's
     * codes with. The scale must be within 2^-20 relative of the reference's. With power-of-two
     * scales the reference's FP32(h) and the GPU's h may differ by an ulp or two, and when the raw
     * quotient amax / 448 sits within 2^-20 of a power of two that moves the rounded-up scale by a
     * factor of two; that case is accepted (and the reference codes are then recomputed with the
     * GPU's scale), any other factor-of-two difference is not.
     */
    static boolean scaleMatches(float[] hf, int off, boolean pow2, float sg, byte[] qr, int qOff) {
        float sr = Fp8Quantizer.quantizeGroup(hf, off, Fp8Quantizer.GROUP, pow2, qr, qOff);
        if (Math.abs(sg - sr) <= 0x1p-20 * sr) return true;
        if (!pow2) return false;
        float lo = Math.min(sg, sr);
        if (Math.max(sg, sr) != 2 * lo) return false;
        float raw = Fp8Quantizer.quantizeGroup(hf, off, Fp8Quantizer.GROUP, false, new byte[Fp8Quantizer.GROUP], 0);
        if (Math.abs(raw - lo) > 0x1p-20 * lo) return false;
        for (int i = 0; i < Fp8Quantizer.GROUP; i++) qr[qOff + i] = E4m3.encode(hf[off + i] / sg);
        return true;
    }

    static List<CheckCase> cases() {
        List<CheckCase> c = new ArrayList<>();
        c.add(new Silu(false, 1, 300, 2048, DType.FP8_E4M3, false, true, false));
        c.add(new Silu(false, 1, 300, 2048, DType.FP8_E4M3, true, true, false));
        c.add(new Silu(false, 1, 65, 384, DType.FP8_E4M3, false, false, false));
        c.add(new Silu(false, 1, 300, 256, DType.BF16, false, true, false));
        c.add(new Silu(true, 8, 37, 2304, DType.FP8_E4M3, false, true, false));
        c.add(new Silu(true, 4, 37, 384, DType.FP8_E4M3, true, true, true));
        c.add(new Silu(true, 4, 5, 128, DType.BF16, false, true, false));
        return c;
    }

    /**
     * @param masked  masked layout [groups, rows, 2I] with counts, else contiguous [rows, 2I] with mIndices
     * @param filter  pass mIndices / counts (else every row is computed)
     * @param badCounts one count above rows and one negative: clamped, LENGTH_OUT_OF_RANGE expected
     */
    record Silu(boolean masked, int groups, int rows, int inter, DType out, boolean pow2, boolean filter, boolean badCounts)
            implements CheckCase {
        @Override
        public String op() {
            return masked ? "SiluAndMul.masked" : "SiluAndMul.contiguous";
        }

        @Override
        public String name() {
            return (masked ? "E=" + groups + " maxTokens=" : "rows=") + rows + " I=" + inter + " " + out + (pow2 ? " pow2" : "")
                    + (filter ? "" : " all-rows") + (badCounts ? " bad-counts" : "");
        }

        @Override
        public CheckResult run(CheckContext ctx) {
            Stream st = ctx.stream();
            long seed = ctx.seed();
            int total = groups * rows;
            short[] gu = RandomTensors.normalBf16(RandomTensors.derive(seed, "gu"), total * 2 * inter, 2.0);
            int[] rowFilter = null;
            boolean[] live = new boolean[total];
            java.util.Arrays.fill(live, true);
            if (filter && !masked) {
                int[] r = RandomTensors.uniformInts(RandomTensors.derive(seed, "m"), total, -2, 8);
                for (int i = 0; i < total; i++) {
                    if (r[i] < 0) r[i] = -1;
                    live[i] = r[i] >= 0;
                }
                rowFilter = r;
            } else if (filter) {
                int[] cnt = RandomTensors.uniformInts(RandomTensors.derive(seed, "c"), groups, 0, rows + 1);
                cnt[0] = 0;
                if (groups > 1) cnt[1] = rows;
                if (badCounts) {
                    cnt[2] = rows + 3;
                    cnt[3] = -1;
                }
                for (int i = 0; i < total; i++) {
                    int g = i / rows, c = Math.max(0, Math.min(rows, cnt[g]));
                    live[i] = i % rows < c;
                }
                rowFilter = cnt;
            }
            double[] h = MoeReference.siluMul(gu, total, inter);
            CheckResult.Builder b = CheckResult.builder();
            try (Scope s = Scope.open(ctx.device())) {
                st.clearDeviceErrors();
                DeviceTensor dgu = masked ? MoeChecks.upload(s, gu, groups, rows, 2L * inter) : MoeChecks.upload(s, gu, rows, 2L * inter);
                DeviceTensor df = rowFilter == null ? null : MoeChecks.upload(s, rowFilter, rowFilter.length);
                int ld = Fp8Quantizer.alignUp(rows, 4), kbs = inter / 128;
                DeviceTensor o = masked ? MoeChecks.poisoned(s, st, out, groups, rows, inter) : MoeChecks.poisoned(s, st, out, rows, inter);
                DeviceTensor sc = out != DType.FP8_E4M3 ? null
                        : masked ? MoeChecks.poisoned(s, st, DType.FP32, groups, kbs, ld) : MoeChecks.poisoned(s, st, DType.FP32, kbs, ld);
                if (masked) SiluAndMul.masked(dgu, df, o, sc, pow2, st);
                else SiluAndMul.contiguous(dgu, df, o, sc, pow2, st);
                st.synchronize();
                int wrongRows = 0, touched = 0;
                long exact = 0, checked = 0;
                if (out == DType.FP8_E4M3) {
                    byte[] q = o.toByteArray();
                    float[] sa = sc.toFloatArray();
                    float[] hf = new float[inter];
                    byte[] qr = new byte[inter];
                    for (int r = 0; r < total; r++) {
                        int g = r / rows, m = r % rows;
                        if (!live[r]) {
                            boolean ok = true;
                            for (int i = 0; ok && i < inter; i++) ok = q[r * inter + i] == MoeChecks.POISON_FP8;
                            for (int kb = 0; ok && kb < kbs; kb++) ok = Float.floatToRawIntBits(sa[(g * kbs + kb) * ld + m]) == MoeChecks.POISON_F32;
                            if (!ok) touched++;
                            continue;
                        }
                        for (int i = 0; i < inter; i++) hf[i] = (float) h[r * inter + i];
                        boolean ok = true;
                        for (int kb = 0; kb < kbs; kb++)
                            ok &= scaleMatches(hf, kb * 128, pow2, sa[(g * kbs + kb) * ld + m], qr, kb * 128);
                        for (int i = 0; i < inter; i++) {
                            byte a = q[r * inter + i];
                            ok &= MoeReference.e4m3WithinOneStep(a, qr[i]) && !E4m3.isNaN(a);
                            if (a == qr[i]) exact++;
                            checked++;
                        }
                        if (!ok) wrongRows++;
                    }
                } else {
                    short[] ob = o.toShortArray();
                    for (int r = 0; r < total; r++) {
                        boolean ok = true;
                        if (!live[r]) {
                            for (int i = 0; ok && i < inter; i++) ok = ob[r * inter + i] == MoeChecks.POISON_BF16;
                            if (!ok) touched++;
                            continue;
                        }
                        for (int i = 0; i < inter; i++) {
                            short a = ob[r * inter + i];
                            ok &= Bf16.ulpDistance(a, Bf16.encode(h[r * inter + i])) <= 1;
                            if (a == Bf16.encode(h[r * inter + i])) exact++;
                            checked++;
                        }
                        if (!ok) wrongRows++;
                    }
                }
                b.metric("wrongRows", wrongRows).metric("skippedRowsWritten", touched)
                        .metric("exactShare", checked == 0 ? 1.0 : (double) exact / checked);
                b.gate(wrongRows == 0, wrongRows + " rows with a scale off by more than 2^-20 relative or a code more than one step"
                        + " from the Java quantiser of FP32(h_FP64) (or NaN)");
                b.gate(touched == 0, touched + " skipped rows written");
                MoeChecks.gateDeviceErrors(b, st, badCounts ? Kernels4jNative.K4J_DEVERR_LENGTH_OUT_OF_RANGE : 0, "");
            }
            return b.build();
        }
    }
}
