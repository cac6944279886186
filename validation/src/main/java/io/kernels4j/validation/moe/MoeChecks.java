package io.kernels4j.validation.moe;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.CudaGraph;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.host.Fp8Quantizer;
import io.kernels4j.ops.moe.MoeCombine;
import io.kernels4j.ops.moe.MoeDispatch;
import io.kernels4j.ops.moe.MoeLayout;
import io.kernels4j.validation.CheckCase;
import io.kernels4j.validation.EmulatorSizes;
import io.kernels4j.validation.CheckContext;
import io.kernels4j.validation.CheckResult;
import io.kernels4j.validation.CheckSuite;
import io.kernels4j.validation.RandomTensors;
import io.kernels4j.validation.moe.MoeRouting.Kind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * GPU checks of the MoE layout, dispatch and combine (docs/CONTRACT.md section 4), family {@code moe}.
 *
 * <p>Every case routes fresh random tokens, runs the ops into poisoned outputs and gates:
 * layout (counts, offsets, total, rowOf) exactly equal to {@link MoeReference#layout}; the
 * permutation bitwise exact (BF16 rows); the fused FP8 cast bitwise equal to the Java quantiser
 * (codes and scale bits); {@code mIndices}/{@code counts}/{@code slotOf}/{@code overflow} exact;
 * rows the op must not write (alignment padding, rows past {@code counts}, a guard past the
 * capacity) still poisoned; combine within 1 BF16 ulp of the FP64 reference (plus the FP32
 * accumulation bound of {@link MoeReference#combineAccumulationBound} for cancelling sums), no NaN
 * (unused rows of y are NaN, so reading one fails), and bitwise identical over 10 runs; the device
 * error word exactly as expected. Cover T in {1, 7, 128, 4096}, K in {1, 6, 8}, E in {8, 64, 256},
 * uniform and skewed routing (hot expert, empty experts, -1 slots), both layouts, plus bad ids,
 * capacity overflow, other alignments, H = 7168 and a CUDA-graph replay.
 */
public final class MoeChecks implements CheckSuite {
    /** The MoE op check suite. */
    public MoeChecks() {}

    static final int POISON_I32 = 0x5A5A5A5A;
    static final short POISON_BF16 = (short) 0x7FC0;
    static final byte POISON_FP8 = 0x7F;
    static final int POISON_F32 = 0x7FC00000;
    static final int COMBINE_REPEATS = 10;

    @Override
    public String family() {
        return "moe";
    }

    // Emulator-sized shapes (EmulatorSizes): fewer tokens, a narrower hidden size; tails kept.
    static int emuT(int t) {
        return EmulatorSizes.dim(t, 512, 128);
    }

    static int emuH(int h) {
        return EmulatorSizes.dim(h, 1024, 128);
    }

    @Override
    public List<CheckCase> cases() {
        List<CheckCase> cases = new ArrayList<>();
        int i = 0;
        for (int t : new int[] {1, 7, 128, 4096})
            for (int k : new int[] {1, 6, 8})
                for (int e : new int[] {8, 64, 256})
                    for (Kind kind : Kind.values()) {
                        boolean pow2 = (i++ & 1) == 1;
                        cases.add(new Contiguous(emuT(t), k, e, emuH(256), kind, 128, pow2, false));
                        cases.add(new Masked(emuT(t), k, e, emuH(256), kind, 1, pow2));
                    }
        cases.add(new Contiguous(emuT(128), 8, 256, emuH(7168), Kind.UNIFORM, 128, false, false));
        cases.add(new Contiguous(emuT(7), 6, 64, emuH(7168), Kind.SKEWED, 64, true, false));
        cases.add(new Contiguous(emuT(4096), 8, 256, emuH(2304), Kind.UNIFORM, 1, false, false));
        cases.add(new Contiguous(emuT(128), 6, 64, emuH(384), Kind.SKEWED, 1, false, false));
        cases.add(new Contiguous(emuT(128), 6, 64, emuH(384), Kind.SKEWED, 64, false, false));
        cases.add(new Contiguous(emuT(300), 8, 1024, emuH(256), Kind.UNIFORM, 128, false, false));
        cases.add(new Masked(emuT(128), 8, 256, emuH(7168), Kind.UNIFORM, 1, false));
        cases.add(new Masked(emuT(64), 8, 64, emuH(2304), Kind.SKEWED, 128, true));
        cases.add(new Contiguous(emuT(200), 4, 8, emuH(256), Kind.UNIFORM, 128, false, true));
        cases.add(new BadIds());
        cases.add(new CapacityOverflow());
        cases.add(new GraphReplay());
        cases.addAll(SiluChecks.cases());
        return cases;
    }

    // ---- shared plumbing ----

    static DeviceTensor upload(Scope s, int[] v, long... shape) {
        DeviceTensor d = s.allocate(DType.INT32, shape);
        if (v.length > 0) d.copyFrom(v);
        return d;
    }

    static DeviceTensor upload(Scope s, short[] v, long... shape) {
        DeviceTensor d = s.allocate(DType.BF16, shape);
        if (v.length > 0) d.copyFrom(v);
        return d;
    }

    static DeviceTensor upload(Scope s, float[] v, long... shape) {
        DeviceTensor d = s.allocate(DType.FP32, shape);
        if (v.length > 0) d.copyFrom(v);
        return d;
    }

    static DeviceTensor poisoned(Scope s, Stream st, DType dt, long... shape) {
        DeviceTensor d = s.allocate(dt, shape);
        int bits = switch (dt) {
            case BF16 -> POISON_BF16;
            case FP8_E4M3 -> POISON_FP8;
            case FP32 -> POISON_F32;
            case INT32 -> POISON_I32;
            case INT64 -> throw new IllegalArgumentException("dt: INT64 is not poisoned here (k4j_fill takes 1-, 2- and 4-byte elements)");
        };
        if (d.numel() > 0) d.fill(bits, st);
        return d;
    }

    /** Layout buffers on the device. */
    record DevLayout(DeviceTensor topkIdx, DeviceTensor counts, DeviceTensor offsets, DeviceTensor total, DeviceTensor rowOf,
            DeviceTensor workspace) {
        static DevLayout create(Scope s, Stream st, int[] idx, int t, int k, int e) {
            long ws = MoeLayout.workspaceBytes(t, k, e);
            return new DevLayout(upload(s, idx, t, k), poisoned(s, st, DType.INT32, e), poisoned(s, st, DType.INT32, e + 1),
                    poisoned(s, st, DType.INT32, 1), poisoned(s, st, DType.INT32, t, k),
                    ws == 0 ? null : s.allocate(DType.INT32, ws / 4));
        }

        void run(int e, int alignment, Stream st) {
            MoeLayout.compute(topkIdx, e, alignment, counts, offsets, total, rowOf, workspace, st);
        }

        /** Gates the layout against the reference; returns the number of mismatching entries. */
        int mismatches(MoeReference.Layout ref) {
            int bad = diffCount(ref.numTokensPerExpert(), counts.toIntArray());
            bad += diffCount(ref.expertOffsets(), offsets.toIntArray());
            bad += total.toIntArray()[0] == ref.totalRows() ? 0 : 1;
            bad += diffCount(ref.rowOf(), rowOf.toIntArray());
            return bad;
        }
    }

    static int diffCount(int[] a, int[] b) {
        if (a.length != b.length) return Math.max(a.length, b.length);
        int n = 0;
        for (int i = 0; i < a.length; i++) if (a[i] != b[i]) n++;
        return n;
    }

    static String flags(int bits) {
        return bits == 0 ? "none" : "0x" + Integer.toHexString(bits);
    }

    /**
     * Reads the stream's device error word (a sync), clears it so later cases start clean, records it
     * and gates it against {@code expected}; {@code what} names the expected bits in the message.
     */
    static void gateDeviceErrors(CheckResult.Builder b, Stream st, int expected, String what) {
        int errs = st.deviceErrors();
        st.clearDeviceErrors();
        b.metric("deviceErrors", flags(errs)).gate(errs == expected,
                "device error word: expected " + flags(expected) + (what.isEmpty() ? "" : " (" + what + ")") + ", got " + flags(errs));
    }

    /** Per-token FP8 reference rows (codes and scales), computed once per token. */
    static final class QuantRows {
        final byte[][] q;
        final float[][] s;

        QuantRows(short[] x, int t, int h, boolean pow2) {
            q = new byte[t][];
            s = new float[t][];
            for (int i = 0; i < t; i++) {
                q[i] = new byte[h];
                s[i] = MoeReference.quantizeRow(x, i, h, pow2, q[i]);
            }
        }
    }

    /** Number of wrong rows among the dispatched ones and of written rows among the ones that must stay poisoned. */
    record RowReport(int wrongRows, int touchedRows) {}

    /**
     * Checks a BF16 dispatch output: rows {@code dest[p] >= 0} hold x[p / K] bitwise; rows flagged in
     * {@code untouched} still hold the poison.
     */
    static RowReport checkBf16Rows(short[] out, short[] x, int h, int k, int[] dest, boolean[] untouched) {
        int wrong = 0, touched = 0;
        for (int p = 0; p < dest.length; p++) {
            int r = dest[p];
            if (r < 0) continue;
            int t = p / k;
            for (int c = 0; c < h; c++)
                if (out[r * h + c] != x[t * h + c]) {
                    wrong++;
                    break;
                }
        }
        for (int r = 0; r < untouched.length; r++) {
            if (!untouched[r]) continue;
            for (int c = 0; c < h; c++)
                if (out[r * h + c] != POISON_BF16) {
                    touched++;
                    break;
                }
        }
        return new RowReport(wrong, touched);
    }

    /**
     * Checks an FP8 dispatch output with scales {@code [G][H/128][ld]}, G groups of {@code perGroup}
     * rows: codes and scale bits of dispatched rows equal the Java quantiser; untouched rows keep the
     * poison in codes and scales.
     */
    static RowReport checkFp8Rows(byte[] q, float[] scales, QuantRows ref, int h, int k, int[] dest, boolean[] untouched,
            int perGroup) {
        int kbs = h / Fp8Quantizer.GROUP, ld = Fp8Quantizer.alignUp(perGroup, 4);
        int wrong = 0, touched = 0;
        for (int p = 0; p < dest.length; p++) {
            int r = dest[p];
            if (r < 0) continue;
            int t = p / k, g = r / perGroup, m = r % perGroup;
            boolean ok = Arrays.equals(q, r * h, r * h + h, ref.q[t], 0, h);
            for (int kb = 0; ok && kb < kbs; kb++)
                ok = Float.floatToRawIntBits(scales[(g * kbs + kb) * ld + m]) == Float.floatToRawIntBits(ref.s[t][kb]);
            if (!ok) wrong++;
        }
        for (int r = 0; r < untouched.length; r++) {
            if (!untouched[r]) continue;
            int g = r / perGroup, m = r % perGroup;
            boolean ok = true;
            for (int c = 0; ok && c < h; c++) ok = q[r * h + c] == POISON_FP8;
            for (int kb = 0; ok && kb < kbs; kb++) ok = Float.floatToRawIntBits(scales[(g * kbs + kb) * ld + m]) == POISON_F32;
            if (!ok) touched++;
        }
        return new RowReport(wrong, touched);
    }

    /** y[rows, H] random BF16, NaN in every row that no pair maps to (reading one must show). */
    static short[] combineInput(long seed, int rows, int h, int[] rowMap) {
        short[] y = RandomTensors.normalBf16(seed, Math.max(1, rows * h), 1.0);
        if (rows * h == 0) return new short[0];
        boolean[] used = new boolean[rows];
        for (int r : rowMap) if (r >= 0) used[r] = true;
        for (int r = 0; r < rows; r++) if (!used[r]) Arrays.fill(y, r * h, r * h + h, POISON_BF16);
        return y;
    }

    /**
     * Runs {@code combine} COMBINE_REPEATS times into a re-poisoned {@code out} and gates the result
     * against the FP64 reference and the first run.
     */
    static void checkCombine(CheckResult.Builder b, String what, Runnable combine, DeviceTensor out, Stream st, short[] y, int h,
            int[] rowMap, float[] w, int t, int k) {
        short[] first = null;
        int unstable = 0;
        for (int i = 0; i < COMBINE_REPEATS; i++) {
            out.fill(POISON_BF16, st);
            combine.run();
            st.synchronize();
            short[] o = out.toShortArray();
            if (first == null) first = o;
            else if (!Arrays.equals(first, o)) unstable++;
        }
        double[] ref = MoeReference.combine(y, h, rowMap, w, t, k);
        double[] bound = MoeReference.combineAccumulationBound(y, h, rowMap, w, t, k);
        int violations = MoeReference.combineViolations(ref, bound, first);
        int nan = io.kernels4j.validation.Metrics.nanCountBf16(first);
        b.metric(what + ".maxUlp", io.kernels4j.validation.Metrics.maxBf16UlpDistance(ref, first));
        b.metric(what + ".violations", violations);
        b.metric(what + ".unstableRuns", unstable);
        b.gate(violations == 0, what + ": " + violations + " outputs further than 1 BF16 ulp (+FP32 bound) from the FP64 reference");
        b.gate(nan == 0, what + ": " + nan + " NaN/unwritten outputs");
        b.gate(unstable == 0, what + ": " + unstable + " of " + (COMBINE_REPEATS - 1) + " repeated runs differ bitwise from the first");
    }

    // ---- the grouped-contiguous layout ----

    record Contiguous(int t, int k, int e, int h, Kind kind, int alignment, boolean pow2, boolean noMIndices) implements CheckCase {
        @Override
        public String op() {
            return "MoeDispatch.contiguous";
        }

        @Override
        public String name() {
            return "T=" + t + " K=" + k + " E=" + e + " H=" + h + " " + kind.name().toLowerCase() + " align=" + alignment
                    + (pow2 ? " pow2" : "") + (noMIndices ? " no-mIndices" : "");
        }

        @Override
        public CheckResult run(CheckContext ctx) {
            Stream st = ctx.stream();
            long seed = ctx.seed();
            int[] idx = MoeRouting.topkIdx(RandomTensors.derive(seed, "idx"), t, k, e, kind);
            float[] w = MoeRouting.weights(RandomTensors.derive(seed, "w"), t, k);
            short[] x = RandomTensors.normalBf16(RandomTensors.derive(seed, "x"), t * h, 1.0);
            MoeReference.Layout ref = MoeReference.layout(idx, t, k, e, alignment);
            int cap = (int) MoeLayout.maxPaddedRows(t, k, e, alignment);
            int[] mRef = MoeReference.mIndices(ref, cap);
            CheckResult.Builder b = CheckResult.builder().metric("totalRows", ref.totalRows()).metric("capacity", cap);
            try (Scope s = Scope.open(ctx.device())) {
                st.clearDeviceErrors();
                DevLayout dl = DevLayout.create(s, st, idx, t, k, e);
                DeviceTensor dx = upload(s, x, t, h);
                DeviceTensor x16 = poisoned(s, st, DType.BF16, cap, h);
                DeviceTensor mIdx = noMIndices ? null : poisoned(s, st, DType.INT32, cap);
                DeviceTensor x8 = poisoned(s, st, DType.FP8_E4M3, cap, h);
                DeviceTensor sc = poisoned(s, st, DType.FP32, h / 128, Fp8Quantizer.alignUp(cap, 4));
                dl.run(e, alignment, st);
                MoeDispatch.contiguous(dx, dl.rowOf, dl.counts, dl.offsets, x16, null, false, mIdx, st);
                MoeDispatch.contiguous(dx, dl.rowOf, dl.counts, dl.offsets, x8, sc, pow2, null, st);
                st.synchronize();
                int layoutBad = dl.mismatches(ref);
                b.metric("layoutMismatches", layoutBad).gate(layoutBad == 0, "layout: " + layoutBad + " entries differ from the reference");
                if (mIdx != null) {
                    int mBad = diffCount(mRef, mIdx.toIntArray());
                    b.metric("mIndicesMismatches", mBad).gate(mBad == 0, "mIndices: " + mBad + " entries differ");
                }
                boolean[] untouched = new boolean[cap];
                for (int r = 0; r < cap; r++) untouched[r] = mRef[r] < 0;
                RowReport r16 = checkBf16Rows(x16.toShortArray(), x, h, k, ref.rowOf(), untouched);
                b.metric("bf16WrongRows", r16.wrongRows()).metric("bf16PaddingWritten", r16.touchedRows());
                b.gate(r16.wrongRows() == 0, "dispatch BF16: " + r16.wrongRows() + " rows not bitwise equal to x");
                b.gate(r16.touchedRows() == 0, "dispatch BF16: " + r16.touchedRows() + " padding rows written");
                RowReport r8 = checkFp8Rows(x8.toByteArray(), sc.toFloatArray(), new QuantRows(x, t, h, pow2), h, k, ref.rowOf(),
                        untouched, cap);
                b.metric("fp8WrongRows", r8.wrongRows()).metric("fp8PaddingWritten", r8.touchedRows());
                b.gate(r8.wrongRows() == 0, "dispatch FP8: " + r8.wrongRows() + " rows differ from the Java quantiser (codes or scale bits)");
                b.gate(r8.touchedRows() == 0, "dispatch FP8: " + r8.touchedRows() + " padding rows written");

                short[] y = combineInput(RandomTensors.derive(seed, "y"), cap, h, ref.rowOf());
                DeviceTensor dy = upload(s, y, cap, h);
                DeviceTensor dw = upload(s, w, t, k);
                DeviceTensor out = s.allocate(DType.BF16, t, h);
                checkCombine(b, "combine", () -> MoeCombine.contiguous(dy, dl.rowOf, dw, out, st), out, st, y, h, ref.rowOf(), w, t, k);
                gateDeviceErrors(b, st, 0, "");
            }
            return b.build();
        }
    }

    // ---- the masked layout ----

    record Masked(int t, int k, int e, int h, Kind kind, int alignment, boolean pow2) implements CheckCase {
        @Override
        public String op() {
            return "MoeDispatch.masked";
        }

        @Override
        public String name() {
            return "T=" + t + " K=" + k + " E=" + e + " H=" + h + " " + kind.name().toLowerCase() + " align=" + alignment
                    + (pow2 ? " pow2" : "");
        }

        @Override
        public CheckResult run(CheckContext ctx) {
            Stream st = ctx.stream();
            long seed = ctx.seed();
            int[] idx = MoeRouting.topkIdx(RandomTensors.derive(seed, "idx"), t, k, e, kind);
            float[] w = MoeRouting.weights(RandomTensors.derive(seed, "w"), t, k);
            short[] x = RandomTensors.normalBf16(RandomTensors.derive(seed, "x"), t * h, 1.0);
            MoeReference.Layout ref = MoeReference.layout(idx, t, k, e, alignment);
            int maxCount = Arrays.stream(ref.numTokensPerExpert()).max().orElse(0);
            // Uniform: room to spare (rows past counts must stay untouched). Skewed: the hot expert overflows.
            int maxTok = kind == Kind.UNIFORM ? maxCount + 3 : Math.max(1, Math.min(maxCount / 2, 256));
            int[] slotRef = MoeReference.slotOf(ref, idx, maxTok);
            int[] countsRef = MoeReference.maskedCounts(ref, maxTok);
            int overflowRef = MoeReference.maskedOverflow(ref, maxTok);
            int rows = e * maxTok;
            CheckResult.Builder b = CheckResult.builder().metric("maxTokensPerExpert", maxTok).metric("overflowRef", overflowRef);
            try (Scope s = Scope.open(ctx.device())) {
                st.clearDeviceErrors();
                DevLayout dl = DevLayout.create(s, st, idx, t, k, e);
                DeviceTensor dx = upload(s, x, t, h);
                DeviceTensor x16 = poisoned(s, st, DType.BF16, e, maxTok, h);
                DeviceTensor x8 = poisoned(s, st, DType.FP8_E4M3, e, maxTok, h);
                DeviceTensor sc = poisoned(s, st, DType.FP32, e, h / 128, Fp8Quantizer.alignUp(maxTok, 4));
                DeviceTensor counts = poisoned(s, st, DType.INT32, e);
                DeviceTensor slot = poisoned(s, st, DType.INT32, t, k);
                DeviceTensor overflow = poisoned(s, st, DType.INT32, 1);
                DeviceTensor slot8 = poisoned(s, st, DType.INT32, t, k);
                DeviceTensor counts8 = poisoned(s, st, DType.INT32, e);
                dl.run(e, alignment, st);
                MoeDispatch.masked(dx, dl.topkIdx, dl.rowOf, dl.counts, dl.offsets, x16, null, false, counts, slot, overflow, st);
                MoeDispatch.masked(dx, dl.topkIdx, dl.rowOf, dl.counts, dl.offsets, x8, sc, pow2, counts8, slot8, null, st);
                st.synchronize();
                int layoutBad = dl.mismatches(ref);
                b.metric("layoutMismatches", layoutBad).gate(layoutBad == 0, "layout: " + layoutBad + " entries differ from the reference");
                int cBad = diffCount(countsRef, counts.toIntArray()) + diffCount(countsRef, counts8.toIntArray());
                int sBad = diffCount(slotRef, slot.toIntArray()) + diffCount(slotRef, slot8.toIntArray());
                int ov = overflow.toIntArray()[0];
                b.metric("overflow", ov).gate(cBad == 0, "counts: " + cBad + " entries differ").gate(sBad == 0, "slotOf: " + sBad + " entries differ")
                        .gate(ov == overflowRef, "overflow: expected " + overflowRef + ", got " + ov);
                boolean[] untouched = new boolean[rows];
                for (int r = 0; r < rows; r++) untouched[r] = r % maxTok >= countsRef[r / maxTok];
                RowReport r16 = checkBf16Rows(x16.toShortArray(), x, h, k, slotRef, untouched);
                b.metric("bf16WrongRows", r16.wrongRows()).metric("bf16UnusedWritten", r16.touchedRows());
                b.gate(r16.wrongRows() == 0, "dispatch BF16: " + r16.wrongRows() + " rows not bitwise equal to x");
                b.gate(r16.touchedRows() == 0, "dispatch BF16: " + r16.touchedRows() + " rows past counts written");
                RowReport r8 = checkFp8Rows(x8.toByteArray(), sc.toFloatArray(), new QuantRows(x, t, h, pow2), h, k, slotRef, untouched, maxTok);
                b.metric("fp8WrongRows", r8.wrongRows()).metric("fp8UnusedWritten", r8.touchedRows());
                b.gate(r8.wrongRows() == 0, "dispatch FP8: " + r8.wrongRows() + " rows differ from the Java quantiser (codes or scale bits)");
                b.gate(r8.touchedRows() == 0, "dispatch FP8: " + r8.touchedRows() + " rows past counts written");

                short[] y = combineInput(RandomTensors.derive(seed, "y"), rows, h, slotRef);
                DeviceTensor dy = upload(s, y, e, maxTok, h);
                DeviceTensor dw = upload(s, w, t, k);
                DeviceTensor out = s.allocate(DType.BF16, t, h);
                checkCombine(b, "combine", () -> MoeCombine.masked(dy, slot, dw, out, st), out, st, y, h, slotRef, w, t, k);
                gateDeviceErrors(b, st, overflowRef > 0 ? Kernels4jNative.K4J_DEVERR_CAPACITY_OVERFLOW : 0, "masked overflow flag");
            }
            return b.build();
        }
    }

    // ---- device-side bad data ----

    /** Ids outside [0, E) (besides -1) are not routed and raise K4J_DEVERR_INDEX_OUT_OF_RANGE. */
    record BadIds() implements CheckCase {
        @Override
        public String op() {
            return "MoeLayout.compute";
        }

        @Override
        public String name() {
            return "bad expert ids T=64 K=4 E=8";
        }

        @Override
        public CheckResult run(CheckContext ctx) {
            int t = 64, k = 4, e = 8, h = 128;
            Stream st = ctx.stream();
            int[] idx = MoeRouting.topkIdx(ctx.seed(), t, k, e, Kind.UNIFORM);
            idx[5] = 8;
            idx[17] = 1000;
            idx[100] = -7;
            idx[255] = Integer.MIN_VALUE;
            MoeReference.Layout ref = MoeReference.layout(idx, t, k, e, 128);
            int cap = (int) MoeLayout.maxPaddedRows(t, k, e, 128);
            CheckResult.Builder b = CheckResult.builder();
            try (Scope s = Scope.open(ctx.device())) {
                st.clearDeviceErrors();
                DevLayout dl = DevLayout.create(s, st, idx, t, k, e);
                short[] x = RandomTensors.normalBf16(RandomTensors.derive(ctx.seed(), "x"), t * h, 1.0);
                DeviceTensor x16 = poisoned(s, st, DType.BF16, cap, h);
                dl.run(e, 128, st);
                MoeDispatch.contiguous(upload(s, x, t, h), dl.rowOf, dl.counts, dl.offsets, x16, null, false, null, st);
                st.synchronize();
                int bad = dl.mismatches(ref);
                b.metric("layoutMismatches", bad).gate(bad == 0, "layout: " + bad + " entries differ (bad ids must count as not routed)");
                boolean[] untouched = new boolean[cap];
                int[] m = MoeReference.mIndices(ref, cap);
                for (int r = 0; r < cap; r++) untouched[r] = m[r] < 0;
                RowReport rr = checkBf16Rows(x16.toShortArray(), x, h, k, ref.rowOf(), untouched);
                b.gate(rr.wrongRows() == 0 && rr.touchedRows() == 0, "dispatch: " + rr + " after bad ids");
                gateDeviceErrors(b, st, Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE, "INDEX_OUT_OF_RANGE");
            }
            return b.build();
        }
    }

    /** Contiguous capacity below the total: rows past it are not written (guard rows stay poisoned) and flagged. */
    record CapacityOverflow() implements CheckCase {
        @Override
        public String op() {
            return "MoeDispatch.contiguous";
        }

        @Override
        public String name() {
            return "capacity overflow T=128 K=8 E=64 H=256";
        }

        @Override
        public CheckResult run(CheckContext ctx) {
            int t = 128, k = 8, e = 64, h = 256, guard = 64;
            Stream st = ctx.stream();
            int[] idx = MoeRouting.topkIdx(ctx.seed(), t, k, e, Kind.UNIFORM);
            MoeReference.Layout ref = MoeReference.layout(idx, t, k, e, 128);
            int cap = ref.totalRows() / 2;
            int ld = Fp8Quantizer.alignUp(cap, 4);
            int[] dest = ref.rowOf().clone();
            for (int p = 0; p < dest.length; p++) if (dest[p] >= cap) dest[p] = -1;
            int[] mRef = MoeReference.mIndices(ref, cap);
            CheckResult.Builder b = CheckResult.builder().metric("totalRows", ref.totalRows()).metric("capacity", cap);
            try (Scope s = Scope.open(ctx.device())) {
                st.clearDeviceErrors();
                DevLayout dl = DevLayout.create(s, st, idx, t, k, e);
                short[] x = RandomTensors.normalBf16(RandomTensors.derive(ctx.seed(), "x"), t * h, 1.0);
                DeviceTensor q = poisoned(s, st, DType.FP8_E4M3, cap + guard, h);
                DeviceTensor scAll = poisoned(s, st, DType.FP32, (long) (h / 128) * ld + guard);
                DeviceTensor mAll = poisoned(s, st, DType.INT32, cap + guard);
                dl.run(e, 128, st);
                MoeDispatch.contiguous(upload(s, x, t, h), dl.rowOf, dl.counts, dl.offsets, q.slice(0, cap),
                        scAll.slice(0, (long) (h / 128) * ld).view(DType.FP32, h / 128, ld), false, mAll.slice(0, cap), st);
                st.synchronize();
                byte[] qa = q.toByteArray();
                float[] sa = scAll.toFloatArray();
                int[] ma = mAll.toIntArray();
                boolean[] untouched = new boolean[cap];
                for (int r = 0; r < cap; r++) untouched[r] = mRef[r] < 0;
                RowReport rr = checkFp8Rows(Arrays.copyOf(qa, cap * h), Arrays.copyOf(sa, (h / 128) * ld), new QuantRows(x, t, h, false), h, k,
                        dest, untouched, cap);
                b.gate(rr.wrongRows() == 0 && rr.touchedRows() == 0, "dispatch rows below the capacity: " + rr);
                int guardWritten = 0;
                for (int i = cap * h; i < qa.length; i++) if (qa[i] != POISON_FP8) guardWritten++;
                for (int i = (h / 128) * ld; i < sa.length; i++) if (Float.floatToRawIntBits(sa[i]) != POISON_F32) guardWritten++;
                for (int i = cap; i < ma.length; i++) if (ma[i] != POISON_I32) guardWritten++;
                b.metric("guardWritten", guardWritten).gate(guardWritten == 0, guardWritten + " guard elements past the capacity written");
                int mBad = diffCount(mRef, Arrays.copyOf(ma, cap));
                b.gate(mBad == 0, "mIndices: " + mBad + " entries differ");
                gateDeviceErrors(b, st, Kernels4jNative.K4J_DEVERR_CAPACITY_OVERFLOW, "CAPACITY_OVERFLOW");
            }
            return b.build();
        }
    }

    /** Layout + FP8 dispatch + combine captured in a CUDA graph and replayed: same bits as eager. */
    record GraphReplay() implements CheckCase {
        @Override
        public String op() {
            return "MoeDispatch.contiguous";
        }

        @Override
        public String name() {
            return "CUDA graph replay T=128 K=8 E=256 H=512";
        }

        @Override
        public CheckResult run(CheckContext ctx) {
            int t = 128, k = 8, e = 256, h = 512, al = 128;
            Stream st = ctx.stream();
            int[] idx = MoeRouting.topkIdx(ctx.seed(), t, k, e, Kind.SKEWED);
            float[] w = MoeRouting.weights(RandomTensors.derive(ctx.seed(), "w"), t, k);
            short[] x = RandomTensors.normalBf16(RandomTensors.derive(ctx.seed(), "x"), t * h, 1.0);
            int cap = (int) MoeLayout.maxPaddedRows(t, k, e, al);
            MoeReference.Layout ref = MoeReference.layout(idx, t, k, e, al);
            short[] y = combineInput(RandomTensors.derive(ctx.seed(), "y"), cap, h, ref.rowOf());
            CheckResult.Builder b = CheckResult.builder();
            try (Scope s = Scope.open(ctx.device())) {
                st.clearDeviceErrors();
                DevLayout dl = DevLayout.create(s, st, idx, t, k, e);
                DeviceTensor dx = upload(s, x, t, h), dy = upload(s, y, cap, h), dw = upload(s, w, t, k);
                DeviceTensor q = poisoned(s, st, DType.FP8_E4M3, cap, h);
                DeviceTensor sc = poisoned(s, st, DType.FP32, h / 128, Fp8Quantizer.alignUp(cap, 4));
                DeviceTensor mIdx = poisoned(s, st, DType.INT32, cap);
                DeviceTensor out = poisoned(s, st, DType.BF16, t, h);
                Runnable step = () -> {
                    dl.run(e, al, st);
                    MoeDispatch.contiguous(dx, dl.rowOf, dl.counts, dl.offsets, q, sc, false, mIdx, st);
                    MoeCombine.contiguous(dy, dl.rowOf, dw, out, st);
                };
                step.run();
                st.synchronize();
                byte[] q0 = q.toByteArray();
                float[] s0 = sc.toFloatArray();
                short[] o0 = out.toShortArray();
                int[] r0 = dl.rowOf.toIntArray();
                int[] m0 = mIdx.toIntArray(), c0 = dl.counts.toIntArray(), f0 = dl.offsets.toIntArray();
                int diffs = 0;
                try (CudaGraph g = CudaGraph.capture(st, step)) {
                    for (int rep = 0; rep < 3; rep++) {
                        // Every output re-poisoned: a replay that skipped a kernel cannot pass on the eager run's data.
                        dl.rowOf.fill(POISON_I32, st);
                        dl.counts.fill(POISON_I32, st);
                        dl.offsets.fill(POISON_I32, st);
                        q.fill(POISON_FP8, st);
                        sc.fill(POISON_F32, st);
                        mIdx.fill(POISON_I32, st);
                        out.fill(POISON_BF16, st);
                        g.launch(st);
                        st.synchronize();
                        diffs += Arrays.equals(q0, q.toByteArray()) ? 0 : 1;
                        diffs += Arrays.equals(s0, sc.toFloatArray()) ? 0 : 1;
                        diffs += Arrays.equals(o0, out.toShortArray()) ? 0 : 1;
                        diffs += Arrays.equals(r0, dl.rowOf.toIntArray()) ? 0 : 1;
                        diffs += Arrays.equals(m0, mIdx.toIntArray()) ? 0 : 1;
                        diffs += Arrays.equals(c0, dl.counts.toIntArray()) && Arrays.equals(f0, dl.offsets.toIntArray()) ? 0 : 1;
                    }
                }
                int bad = diffCount(ref.rowOf(), r0);
                b.gate(bad == 0, "eager rowOf: " + bad + " entries differ from the reference");
                b.metric("replayDiffs", diffs).gate(diffs == 0, diffs + " outputs of graph replays differ from the eager run");
                gateDeviceErrors(b, st, 0, "");
            }
            return b.build();
        }
    }
}
