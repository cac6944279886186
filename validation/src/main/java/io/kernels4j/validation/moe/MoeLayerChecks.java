package io.kernels4j.validation.moe;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.gemm.Fp8Gemm;
import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.host.E4m3;
import io.kernels4j.ops.host.Fp8Quantizer;
import io.kernels4j.ops.moe.MoeCombine;
import io.kernels4j.ops.moe.MoeDispatch;
import io.kernels4j.ops.moe.MoeLayer;
import io.kernels4j.ops.moe.MoeLayerConfig;
import io.kernels4j.ops.moe.MoeLayout;
import io.kernels4j.ops.moe.SiluAndMul;
import io.kernels4j.validation.CheckCase;
import io.kernels4j.validation.CheckContext;
import io.kernels4j.validation.CheckResult;
import io.kernels4j.validation.CheckSuite;
import io.kernels4j.validation.EmulatorSizes;
import io.kernels4j.validation.Metrics;
import io.kernels4j.validation.RandomTensors;
import io.kernels4j.validation.moe.MoeRouting.Kind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * End-to-end check of one MoE layer on the GPU (family {@code moe}), by hand and through the
 * {@link MoeLayer} object (see {@link Layer}): route random tokens, dispatch
 * with the FP8 cast fused, grouped FP8 GEMM (gate/up, {@code [E, 2I, H]} weights with 128x128
 * scales), SiLU-and-multiply with FP8 re-quantisation, grouped FP8 GEMM (down, {@code [E, H, I]}),
 * combine. Both layouts: grouped-contiguous ({@link Fp8Gemm#groupedContiguous} with
 * {@code mIndices}) and masked ({@link Fp8Gemm#groupedMasked} with {@code counts}).
 *
 * <p>Gates, step by step, each against a Java FP64 reference computed on the very operands the
 * step consumed (read back from the GPU), so that each tolerance is the step's own:
 * <ol>
 *   <li>dispatch: codes and scales bitwise equal to the Java quantiser of x;</li>
 *   <li>gate/up GEMM: docs/CONTRACT.md section 2's {@code diff < 1e-5} against FP64 on the dequantised
 *       dispatched rows and weights (rows that hold tokens);</li>
 *   <li>SiLU-mul-quant: from the GPU's BF16 gate/up, every scale within 2^-20 relative and every
 *       code within one step of the Java quantiser of FP32(silu(g) * u in FP64) (see SiluChecks);</li>
 *   <li>down GEMM: {@code diff < 1e-5} against FP64 on the GPU's quantised h;</li>
 *   <li>combine: within 1 BF16 ulp (+ the FP32 accumulation bound) of FP64 on the GPU's y, no NaN.</li>
 * </ol>
 * End to end, against an independent FP64 layer that quantises x and h with the Java quantiser and
 * keeps everything else in double: {@code diff < 1e-3}. Why 1e-3: the GPU rounds gate/up and the
 * down output to BF16 (relative 2^-9) and h's FP8 codes then sit on the other side of a rounding
 * boundary for about one element in 2^6, each such flip moving that element by one e4m3 step
 * (2^-3 relative): a relative L2 error of order 1e-2 and so a {@code diff} of order 1e-4 (a NumPy
 * emulation of this chain, not a GPU run, gave diff 8e-5 to 1e-4 and relL2 1.3e-2 to 1.4e-2 for
 * the shapes below; against the unquantised layer, 2e-3); 1e-3 is
 * DeepGEMM's own gate for an FP8 result against unquantised inputs, and any layout, scale or
 * expert mix-up gives a {@code diff} of order 1. The {@code diff} against the unquantised layer
 * (BF16 x, FP32 weights, no FP8 anywhere) is reported, not gated.
 */
public final class MoeLayerChecks implements CheckSuite {
    /** The full MoE layer check suite. */
    public MoeLayerChecks() {}

    /** End-to-end tolerance on {@code diff} (see the class comment). */
    public static final double E2E_DIFF = 1e-3;
    /** Per-GEMM tolerance (docs/CONTRACT.md section 2). */
    public static final double GEMM_DIFF = 1e-5;

    @Override
    public String family() {
        return "moe";
    }

    @Override
    public List<CheckCase> cases() {
        List<CheckCase> c = new ArrayList<>();
        for (boolean masked : new boolean[] {false, true}) {
            c.add(new Layer(masked, 64, 2, 8, layerH(2048), layerI(512), Kind.UNIFORM, null));
            c.add(new Layer(masked, 128, 6, 16, layerH(512), layerI(256), Kind.SKEWED, null));
            c.add(new Layer(masked, 7, 8, 32, layerH(1024), layerI(384), Kind.UNIFORM, null));
        }
        // The same chain through the MoeLayer object, with PyTorch's INT64 ids and with INT32 ids.
        c.add(new Layer(false, 128, 6, 16, layerH(512), layerI(256), Kind.SKEWED, DType.INT64));
        c.add(new Layer(true, 7, 8, 32, layerH(1024), layerI(384), Kind.UNIFORM, DType.INT64));
        c.add(new Layer(true, 64, 2, 8, layerH(2048), layerI(512), Kind.UNIFORM, DType.INT32));
        return c;
    }

    // Emulator-sized hidden and intermediate sizes (EmulatorSizes): a layer holds E experts' two weight
    // matrices, which on the CPU cost more than the tokens; the 128-granule tails are kept.
    private static int layerH(int h) {
        return EmulatorSizes.dim(h, 512, 128);
    }

    private static int layerI(int inter) {
        return EmulatorSizes.dim(inter, 256, 128);
    }

    /** Dense FP64 y[rows, n] = a[rows, k] . w[e(row), n, k]^T over the listed rows. */
    static double[] gemm(double[] a, int k, double[][] w, int n, int[] rowsExpert, boolean[] real) {
        int rows = rowsExpert.length;
        double[] y = new double[rows * n];
        for (int r = 0; r < rows; r++) {
            if (!real[r]) continue;
            double[] we = w[rowsExpert[r]];
            for (int j = 0; j < n; j++) {
                double s = 0;
                int ao = r * k, wo = j * k;
                for (int i = 0; i < k; i++) s += a[ao + i] * we[wo + i];
                y[r * n + j] = s;
            }
        }
        return y;
    }

    /** Keeps the listed rows of a [rows, n] array, concatenated (for the metrics). */
    static double[] pick(double[] v, int n, boolean[] real) {
        int c = 0;
        for (boolean b : real) if (b) c++;
        double[] o = new double[c * n];
        int j = 0;
        for (int r = 0; r < real.length; r++) if (real[r]) System.arraycopy(v, r * n, o, (j++) * n, n);
        return o;
    }

    static float[] pickBf16(short[] v, int n, boolean[] real) {
        int c = 0;
        for (boolean b : real) if (b) c++;
        float[] o = new float[c * n];
        int j = 0;
        for (int r = 0; r < real.length; r++) {
            if (!real[r]) continue;
            for (int i = 0; i < n; i++) o[j * n + i] = Bf16.decode(v[r * n + i]);
            j++;
        }
        return o;
    }

    /**
     * One layer. {@code objectIds} null: the six ops by hand, each step gated. {@code objectIds}
     * INT32 or INT64: the same, then the {@link MoeLayer} object on the same inputs (top-k ids in that
     * dtype), whose output must equal the by-hand chain's bit for bit (same ops, same operands, no
     * order-dependent atomics), so every gate of the by-hand chain holds for it too.
     */
    record Layer(boolean masked, int t, int k, int e, int h, int inter, Kind kind, DType objectIds) implements CheckCase {
        @Override
        public String op() {
            return (objectIds == null ? "MoeLayer" : "MoeLayer.object") + (masked ? ".masked" : ".contiguous");
        }

        @Override
        public String name() {
            return "T=" + t + " K=" + k + " E=" + e + " H=" + h + " I=" + inter + " " + kind.name().toLowerCase()
                    + (objectIds == null ? "" : " ids=" + objectIds);
        }

        @Override
        public CheckResult run(CheckContext ctx) {
            Stream st = ctx.stream();
            long seed = ctx.seed();
            int n1 = 2 * inter, kbH = h / 128, kbI = inter / 128;
            int[] idx = MoeRouting.topkIdx(RandomTensors.derive(seed, "idx"), t, k, e, kind);
            float[] w = MoeRouting.weights(RandomTensors.derive(seed, "w"), t, k);
            short[] x = RandomTensors.normalBf16(RandomTensors.derive(seed, "x"), t * h, 1.0);
            int align = masked ? 1 : 128;
            MoeReference.Layout ref = MoeReference.layout(idx, t, k, e, align);
            int maxCount = Arrays.stream(ref.numTokensPerExpert()).max().orElse(0);
            int maxTok = Math.max(1, maxCount);
            int rows = masked ? e * maxTok : (int) MoeLayout.maxPaddedRows(t, k, e, align);
            int perGroup = masked ? maxTok : rows;
            int ld = Fp8Quantizer.alignUp(perGroup, 4);
            int[] rowMap = masked ? MoeReference.slotOf(ref, idx, maxTok) : ref.rowOf();
            int[] rowExpert = new int[rows];
            int[] rowToken = new int[rows];
            boolean[] real = new boolean[rows];
            for (int p = 0; p < rowMap.length; p++) {
                int r = rowMap[p];
                if (r < 0) continue;
                real[r] = true;
                rowExpert[r] = idx[p];
                rowToken[r] = p / k;
            }
            // Weights: FP32 normal, quantised per expert with 128x128 blocks in Java.
            float[][] w1f = new float[e][], w2f = new float[e][];
            Fp8Quantizer.Quantized[] w1q = new Fp8Quantizer.Quantized[e], w2q = new Fp8Quantizer.Quantized[e];
            double[][] w1d = new double[e][], w2d = new double[e][];
            byte[] w1Codes = new byte[e * n1 * h], w2Codes = new byte[e * h * inter];
            float[] w1Sc = new float[e * (n1 / 128) * kbH], w2Sc = new float[e * (h / 128) * kbI];
            for (int g = 0; g < e; g++) {
                w1f[g] = RandomTensors.normal(RandomTensors.derive(seed, "w1/" + g), n1 * h, 1.0 / Math.sqrt(h));
                w2f[g] = RandomTensors.normal(RandomTensors.derive(seed, "w2/" + g), h * inter, 1.0 / Math.sqrt(inter));
                w1q[g] = Fp8Quantizer.perBlock(w1f[g], n1, h, false);
                w2q[g] = Fp8Quantizer.perBlock(w2f[g], h, inter, false);
                w1d[g] = Fp8Quantizer.dequantizePerBlockExact(w1q[g], n1, h);
                w2d[g] = Fp8Quantizer.dequantizePerBlockExact(w2q[g], h, inter);
                System.arraycopy(w1q[g].q(), 0, w1Codes, g * n1 * h, n1 * h);
                System.arraycopy(w2q[g].q(), 0, w2Codes, g * h * inter, h * inter);
                System.arraycopy(w1q[g].scales(), 0, w1Sc, g * w1q[g].scales().length, w1q[g].scales().length);
                System.arraycopy(w2q[g].scales(), 0, w2Sc, g * w2q[g].scales().length, w2q[g].scales().length);
            }
            CheckResult.Builder b = CheckResult.builder().metric("rows", rows).metric("maxTokensPerExpert", maxTok);
            try (Scope s = Scope.open(ctx.device())) {
                st.clearDeviceErrors();
                MoeChecks.DevLayout dl = MoeChecks.DevLayout.create(s, st, idx, t, k, e);
                DeviceTensor dx = MoeChecks.upload(s, x, t, h);
                DeviceTensor dw = MoeChecks.upload(s, w, t, k);
                DeviceTensor w1 = s.allocate(DType.FP8_E4M3, e, n1, h), w2 = s.allocate(DType.FP8_E4M3, e, h, inter);
                w1.copyFrom(w1Codes);
                w2.copyFrom(w2Codes);
                DeviceTensor w1s = MoeChecks.upload(s, w1Sc, e, n1 / 128, kbH), w2s = MoeChecks.upload(s, w2Sc, e, h / 128, kbI);
                long[] rowsShape = masked ? new long[] {e, maxTok} : new long[] {rows};
                DeviceTensor xq = MoeChecks.poisoned(s, st, DType.FP8_E4M3, cat(rowsShape, h));
                DeviceTensor xs = MoeChecks.poisoned(s, st, DType.FP32, masked ? new long[] {e, kbH, ld} : new long[] {kbH, ld});
                DeviceTensor gu = MoeChecks.poisoned(s, st, DType.BF16, cat(rowsShape, n1));
                DeviceTensor hq = MoeChecks.poisoned(s, st, DType.FP8_E4M3, cat(rowsShape, inter));
                DeviceTensor hs = MoeChecks.poisoned(s, st, DType.FP32, masked ? new long[] {e, kbI, ld} : new long[] {kbI, ld});
                DeviceTensor y = MoeChecks.poisoned(s, st, DType.BF16, cat(rowsShape, h));
                DeviceTensor out = MoeChecks.poisoned(s, st, DType.BF16, t, h);
                dl.run(e, align, st);
                if (masked) {
                    DeviceTensor counts = MoeChecks.poisoned(s, st, DType.INT32, e);
                    DeviceTensor slot = MoeChecks.poisoned(s, st, DType.INT32, t, k);
                    MoeDispatch.masked(dx, dl.topkIdx(), dl.rowOf(), dl.counts(), dl.offsets(), xq, xs, false, counts, slot, null, st);
                    int expectedM = (t * k + e - 1) / e;
                    Fp8Gemm.groupedMasked(xq, xs, w1, w1s, null, gu, counts, expectedM, st);
                    SiluAndMul.masked(gu, counts, hq, hs, false, st);
                    Fp8Gemm.groupedMasked(hq, hs, w2, w2s, null, y, counts, expectedM, st);
                    MoeCombine.masked(y, slot, dw, out, st);
                } else {
                    DeviceTensor mIdx = MoeChecks.poisoned(s, st, DType.INT32, rows);
                    MoeDispatch.contiguous(dx, dl.rowOf(), dl.counts(), dl.offsets(), xq, xs, false, mIdx, st);
                    Fp8Gemm.groupedContiguous(xq, xs, w1, w1s, null, gu, mIdx, st);
                    SiluAndMul.contiguous(gu, mIdx, hq, hs, false, st);
                    Fp8Gemm.groupedContiguous(hq, hs, w2, w2s, null, y, mIdx, st);
                    MoeCombine.contiguous(y, dl.rowOf(), dw, out, st);
                }
                st.synchronize();
                int layoutBad = dl.mismatches(ref);
                b.gate(layoutBad == 0, "layout: " + layoutBad + " entries differ");

                // 1. dispatch: bitwise against the Java quantiser.
                byte[] xqa = xq.toByteArray();
                float[] xsa = xs.toFloatArray();
                MoeChecks.QuantRows xr = new MoeChecks.QuantRows(x, t, h, false);
                MoeChecks.RowReport dr = MoeChecks.checkFp8Rows(xqa, xsa, xr, h, k, rowMap, new boolean[rows], perGroup);
                b.metric("dispatchWrongRows", dr.wrongRows()).gate(dr.wrongRows() == 0, "dispatch: " + dr.wrongRows() + " rows differ from the Java quantiser");
                double[] xd = dequant(xqa, xsa, rows, h, perGroup, real);

                // 2. gate/up GEMM on the dispatched operands.
                short[] gua = gu.toShortArray();
                double[] guRef = gemm(xd, h, w1d, n1, rowExpert, real);
                double d1 = Metrics.diff(pick(guRef, n1, real), pickBf16(gua, n1, real));
                b.metric("gemm1.diff", d1).gate(d1 < GEMM_DIFF, "gate/up GEMM: diff " + d1 + " >= " + GEMM_DIFF);

                // 3. SiLU-mul-quant from the GPU's gate/up.
                byte[] hqa = hq.toByteArray();
                float[] hsa = hs.toFloatArray();
                int siluBad = 0;
                float[] hf = new float[inter];
                byte[] qr = new byte[inter];
                for (int r = 0; r < rows; r++) {
                    if (!real[r]) continue;
                    for (int i = 0; i < inter; i++)
                        hf[i] = (float) MoeReference.siluMul(Bf16.decode(gua[r * n1 + i]), Bf16.decode(gua[r * n1 + inter + i]));
                    boolean ok = true;
                    int g = r / perGroup, m = r % perGroup;
                    for (int kb = 0; kb < kbI; kb++) {
                        float sr = Fp8Quantizer.quantizeGroup(hf, kb * 128, 128, false, qr, kb * 128);
                        ok &= Math.abs(hsa[(g * kbI + kb) * ld + m] - sr) <= 0x1p-20 * sr;
                    }
                    for (int i = 0; i < inter; i++) ok &= MoeReference.e4m3WithinOneStep(hqa[r * inter + i], qr[i]);
                    if (!ok) siluBad++;
                }
                b.metric("siluWrongRows", siluBad).gate(siluBad == 0, "silu-mul-quant: " + siluBad + " rows off by more than one code / 2^-20 scale");

                // 4. down GEMM on the GPU's quantised h.
                double[] hd = dequant(hqa, hsa, rows, inter, perGroup, real);
                short[] ya = y.toShortArray();
                double[] yRef = gemm(hd, inter, w2d, h, rowExpert, real);
                double d2 = Metrics.diff(pick(yRef, h, real), pickBf16(ya, h, real));
                b.metric("gemm2.diff", d2).gate(d2 < GEMM_DIFF, "down GEMM: diff " + d2 + " >= " + GEMM_DIFF);

                // 5. combine on the GPU's y.
                short[] oa = out.toShortArray();
                double[] cRef = MoeReference.combine(ya, h, rowMap, w, t, k);
                int viol = MoeReference.combineViolations(cRef, MoeReference.combineAccumulationBound(ya, h, rowMap, w, t, k), oa);
                b.metric("combine.violations", viol).gate(viol == 0, "combine: " + viol + " outputs further than 1 BF16 ulp from FP64");
                int nan = Metrics.nanCountBf16(oa);
                b.gate(nan == 0, "out: " + nan + " NaN/unwritten values");

                // End to end against an independent FP64 layer (Java quantisation of x and h).
                double[] hE2e = new double[rows * inter];
                for (int r = 0; r < rows; r++) {
                    if (!real[r]) continue;
                    for (int i = 0; i < inter; i++) hf[i] = (float) MoeReference.siluMul(guRef[r * n1 + i], guRef[r * n1 + inter + i]);
                    int g = r / perGroup, m = r % perGroup;
                    for (int kb = 0; kb < kbI; kb++) {
                        float sr = Fp8Quantizer.quantizeGroup(hf, kb * 128, 128, false, qr, kb * 128);
                        for (int i = kb * 128; i < kb * 128 + 128; i++) hE2e[r * inter + i] = (double) E4m3.decode(qr[i]) * sr;
                    }
                }
                double[] yE2e = gemm(hE2e, inter, w2d, h, rowExpert, real);
                double[] outE2e = combineDouble(yE2e, h, rowMap, w, t, k);
                float[] of = Bf16.decode(oa);
                double de = Metrics.diff(outE2e, of);
                b.metric("e2e.diff", de).metric("e2e.relL2", Metrics.relL2(outE2e, of))
                        .gate(de < E2E_DIFF, "end to end: diff " + de + " >= " + E2E_DIFF);

                // Against the unquantised layer (reported only).
                double[] xu = new double[rows * h];
                for (int r = 0; r < rows; r++)
                    if (real[r]) for (int i = 0; i < h; i++) xu[r * h + i] = Bf16.decode(x[rowToken[r] * h + i]);
                double[][] w1u = new double[e][], w2u = new double[e][];
                for (int g = 0; g < e; g++) {
                    w1u[g] = toDouble(w1f[g]);
                    w2u[g] = toDouble(w2f[g]);
                }
                double[] guU = gemm(xu, h, w1u, n1, rowExpert, real);
                double[] hu = new double[rows * inter];
                for (int r = 0; r < rows; r++)
                    if (real[r]) for (int i = 0; i < inter; i++) hu[r * inter + i] = MoeReference.siluMul(guU[r * n1 + i], guU[r * n1 + inter + i]);
                double[] outU = combineDouble(gemm(hu, inter, w2u, h, rowExpert, real), h, rowMap, w, t, k);
                b.metric("vsUnquantised.diff", Metrics.diff(outU, of));
                MoeChecks.gateDeviceErrors(b, st, 0, "");
                if (objectIds != null) {
                    MoeLayerConfig cfg = masked ? MoeLayerConfig.masked(h, e, k, inter, t, maxTok)
                            : MoeLayerConfig.contiguous(h, e, k, inter, t);
                    DeviceTensor ids = dl.topkIdx();
                    if (objectIds == DType.INT64) {
                        long[] idx64 = new long[idx.length];
                        for (int i = 0; i < idx.length; i++) idx64[i] = idx[i];
                        ids = s.allocate(DType.INT64, t, k);
                        ids.copyFrom(idx64);
                    }
                    DeviceTensor outObj = MoeChecks.poisoned(s, st, DType.BF16, t, h);
                    try (MoeLayer layer = MoeLayer.create(cfg, new MoeLayer.Weights(w1, w1s, w2, w2s), s)) {
                        layer.forward(dx, ids, dw, outObj, st);
                        st.synchronize();
                        if (masked) {
                            int dropped = layer.droppedPairs().toIntArray()[0];
                            b.gate(dropped == 0, "MoeLayer: " + dropped + " pairs dropped with a capacity of the largest expert count");
                        }
                    }
                    short[] ob = outObj.toShortArray();
                    int differ = 0;
                    for (int i = 0; i < ob.length; i++) if (ob[i] != oa[i]) differ++;
                    b.metric("object.differingOutputs", differ)
                            .gate(differ == 0, "MoeLayer object: " + differ + " outputs differ from the six-op chain");
                    MoeChecks.gateDeviceErrors(b, st, 0, "object: ");
                }
            }
            return b.build();
        }
    }

    static long[] cat(long[] a, long last) {
        long[] o = Arrays.copyOf(a, a.length + 1);
        o[a.length] = last;
        return o;
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    /** q * scale (exact in double) for the real rows of a [rows, n] FP8 buffer with [G][n/128][ld] scales. */
    static double[] dequant(byte[] q, float[] sc, int rows, int n, int perGroup, boolean[] real) {
        int kbs = n / 128, ld = Fp8Quantizer.alignUp(perGroup, 4);
        double[] d = new double[rows * n];
        for (int r = 0; r < rows; r++) {
            if (!real[r]) continue;
            int g = r / perGroup, m = r % perGroup;
            for (int i = 0; i < n; i++) d[r * n + i] = (double) E4m3.decode(q[r * n + i]) * sc[(g * kbs + i / 128) * ld + m];
        }
        return d;
    }

    /** Combine of a double y (FP64 throughout). */
    static double[] combineDouble(double[] y, int h, int[] rowMap, float[] w, int t, int k) {
        double[] o = new double[t * h];
        for (int tt = 0; tt < t; tt++)
            for (int kk = 0; kk < k; kk++) {
                int r = rowMap[tt * k + kk];
                if (r < 0) continue;
                for (int i = 0; i < h; i++) o[tt * h + i] += w[tt * k + kk] * y[r * h + i];
            }
        return o;
    }
}
