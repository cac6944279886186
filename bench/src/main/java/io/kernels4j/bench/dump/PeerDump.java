package io.kernels4j.bench.dump;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kernels4j.bindings.cuda.CudaRuntime;
import io.kernels4j.ops.Cuda;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.gemm.Fp8Gemm;
import io.kernels4j.ops.mla.MlaDecode;
import io.kernels4j.ops.moe.MoeCombine;
import io.kernels4j.ops.moe.MoeDispatch;
import io.kernels4j.ops.moe.MoeLayout;
import io.kernels4j.ops.host.Fp8Quantizer;
import io.kernels4j.validation.RandomTensors;
import io.kernels4j.validation.mla.MlaChecks;
import io.kernels4j.validation.mla.MlaFp8Row;
import io.kernels4j.validation.mla.MlaReference;
import io.kernels4j.validation.moe.MoeRouting;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One representative case per op for the PyTorch peer check ({@code bin/torch-peer.py}): runs the op on
 * seeded random inputs from validation's generators and hands inputs and outputs to a {@link Sink}
 * ({@code .npy} files plus a manifest entry). The peer recomputes each op independently; the checks
 * of {@code kernels4j check} stay the gate, this is a second opinion from another implementation.
 */
public final class PeerDump {
    private PeerDump() {}

    /** Bit pattern written into outputs before an op, so untouched elements are visible (BF16 NaN). */
    public static final int BF16_POISON = 0x7FC0;

    /** One dumped case. */
    public interface Case {
        String name();

        String op();

        void run(Device device, Stream stream, long seed, Sink sink) throws IOException;
    }

    /** Writes {@code <case>.<tensor>.npy} into the dump folder and records it in the case's manifest entry. */
    public static final class Sink {
        private final Path dir;
        private final String prefix;
        private final ObjectNode node;

        public Sink(Path dir, String caseName, ObjectNode node) {
            this.dir = dir;
            this.prefix = caseName;
            this.node = node;
            node.putObject("params");
            node.putObject("inputs");
            node.putObject("outputs");
        }

        public ObjectNode params() {
            return (ObjectNode) node.get("params");
        }

        public void input(String name, String type, Object data, long... shape) throws IOException {
            put("inputs", name, type, data, shape);
        }

        public void output(String name, String type, Object data, long... shape) throws IOException {
            put("outputs", name, type, data, shape);
        }

        private void put(String role, String name, String type, Object data, long... shape) throws IOException {
            String file = prefix + "." + name + ".npy";
            Path p = dir.resolve(file);
            switch (data) {
                case byte[] b -> Npy.write(p, b, shape);
                case short[] s -> Npy.write(p, s, shape);
                case int[] i -> Npy.write(p, i, shape);
                case float[] f -> Npy.write(p, f, shape);
                default -> throw new IllegalArgumentException("data: unsupported array type " + data.getClass());
            }
            ObjectNode t = ((ObjectNode) node.get(role)).putObject(name);
            t.put("file", file);
            t.put("dtype", type);
            ArrayNode sh = t.putArray("shape");
            for (long d : shape) sh.add(d);
        }
    }

    public static List<Case> cases() {
        List<Case> c = new ArrayList<>();
        c.add(new SimpleCase("gemm_dense", "Fp8Gemm.dense", PeerDump::gemmDense));
        c.add(new SimpleCase("gemm_grouped_contiguous", "Fp8Gemm.groupedContiguous", PeerDump::gemmContiguous));
        c.add(new SimpleCase("gemm_grouped_masked", "Fp8Gemm.groupedMasked", PeerDump::gemmMasked));
        c.add(new SimpleCase("mla_decode_bf16", "MlaDecode.forward", (d, s, seed, k) -> mla(d, s, seed, k, false)));
        c.add(new SimpleCase("mla_decode_fp8", "MlaDecode.forward", (d, s, seed, k) -> mla(d, s, seed, k, true)));
        c.add(new SimpleCase("moe_dispatch_combine", "MoeLayout.compute+MoeDispatch.contiguous+MoeCombine.contiguous",
                PeerDump::moe));
        return c;
    }

    interface Body {
        void run(Device device, Stream stream, long seed, Sink sink) throws IOException;
    }

    record SimpleCase(String name, String op, Body body) implements Case {
        @Override
        public void run(Device device, Stream stream, long seed, Sink sink) throws IOException {
            body.run(device, stream, seed, sink);
        }
    }

    // ---- FP8 GEMM ----

    private static DeviceTensor up(Scope scope, DType t, Object data, long... shape) {
        DeviceTensor d = scope.allocate(t, shape);
        switch (data) {
            case byte[] b -> d.copyFrom(b);
            case short[] s -> d.copyFrom(s);
            case int[] i -> d.copyFrom(i);
            case float[] f -> d.copyFrom(f);
            default -> throw new IllegalArgumentException("data: " + data.getClass());
        }
        // A pageable cudaMemcpy may still be in flight when it returns, and the ops run on a non-blocking stream.
        Cuda.check(CudaRuntime.cudaDeviceSynchronize(), "cudaDeviceSynchronize");
        return d;
    }

    /** Per-group 128x128 weights [G, N, K] and scales [G, ceil(N/128), ceil(K/128)]. */
    private record Weights(byte[] q, float[] scales) {
        static Weights random(long seed, int groups, int n, int k) {
            int sPer = Fp8Quantizer.ceilDiv(n, 128) * Fp8Quantizer.ceilDiv(k, 128);
            byte[] q = new byte[groups * n * k];
            float[] s = new float[groups * sPer];
            for (int g = 0; g < groups; g++) {
                float[] w = RandomTensors.normal(RandomTensors.derive(seed, "b" + g), n * k, 1.0);
                Fp8Quantizer.Quantized qb = Fp8Quantizer.perBlock(w, n, k, false);
                System.arraycopy(qb.q(), 0, q, g * n * k, n * k);
                System.arraycopy(qb.scales(), 0, s, g * sPer, sPer);
            }
            return new Weights(q, s);
        }
    }

    private static void gemmDense(Device device, Stream st, long seed, Sink sink) throws IOException {
        int m = 100, n = 576, k = 1536, kb = Fp8Quantizer.ceilDiv(k, 128), ma = Fp8Quantizer.alignUp(m, 4);
        Fp8Quantizer.Quantized qa = Fp8Quantizer.perTokenGroup(RandomTensors.normal(RandomTensors.derive(seed, "a"), m * k, 1.0), m, k, false);
        Weights w = Weights.random(seed, 1, n, k);
        sink.params().put("m", m).put("n", n).put("k", k);
        try (Scope scope = Scope.open(device)) {
            DeviceTensor d = scope.allocate(DType.BF16, m, n);
            d.fill(BF16_POISON, st);
            Fp8Gemm.dense(up(scope, DType.FP8_E4M3, qa.q(), m, k), up(scope, DType.FP32, qa.scales(), kb, ma),
                    up(scope, DType.FP8_E4M3, w.q(), n, k), up(scope, DType.FP32, w.scales(), Fp8Quantizer.ceilDiv(n, 128), kb),
                    null, d, st);
            st.synchronize();
            sink.input("a", "e4m3", qa.q(), m, k);
            sink.input("sa", "f32", qa.scales(), kb, ma);
            sink.input("b", "e4m3", w.q(), n, k);
            sink.input("sb", "f32", w.scales(), Fp8Quantizer.ceilDiv(n, 128), kb);
            sink.output("d", "bf16", d.toShortArray(), m, n);
        }
    }

    private static void gemmContiguous(Device device, Stream st, long seed, Sink sink) throws IOException {
        int[] sizes = {0, 1, 130, 37};
        int groups = sizes.length, n = 576, k = 1024, align = 128, kb = Fp8Quantizer.ceilDiv(k, 128);
        List<Integer> rows = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            for (int i = 0; i < sizes[g]; i++) rows.add(g);
            while (rows.size() % align != 0) rows.add(-1);
        }
        int sumM = rows.size();
        int[] mIndices = rows.stream().mapToInt(Integer::intValue).toArray();
        Fp8Quantizer.Quantized qa = Fp8Quantizer.perTokenGroup(RandomTensors.normal(RandomTensors.derive(seed, "a"), sumM * k, 1.0),
                sumM, k, false);
        Weights w = Weights.random(seed, groups, n, k);
        int nb = Fp8Quantizer.ceilDiv(n, 128);
        sink.params().put("n", n).put("k", k).put("groups", groups).put("alignment", align).put("poison", BF16_POISON);
        try (Scope scope = Scope.open(device)) {
            DeviceTensor d = scope.allocate(DType.BF16, sumM, n);
            d.fill(BF16_POISON, st);
            Fp8Gemm.groupedContiguous(up(scope, DType.FP8_E4M3, qa.q(), sumM, k), up(scope, DType.FP32, qa.scales(), kb, sumM),
                    up(scope, DType.FP8_E4M3, w.q(), groups, n, k), up(scope, DType.FP32, w.scales(), groups, nb, kb), null, d,
                    up(scope, DType.INT32, mIndices, sumM), st);
            st.synchronize();
            sink.params().put("deviceErrors", st.deviceErrors());
            sink.input("a", "e4m3", qa.q(), sumM, k);
            sink.input("sa", "f32", qa.scales(), kb, sumM);
            sink.input("b", "e4m3", w.q(), groups, n, k);
            sink.input("sb", "f32", w.scales(), groups, nb, kb);
            sink.input("m_indices", "i32", mIndices, sumM);
            sink.output("d", "bf16", d.toShortArray(), sumM, n);
        }
    }

    private static void gemmMasked(Device device, Stream st, long seed, Sink sink) throws IOException {
        int[] maskedM = {0, 40, 64};
        int groups = maskedM.length, maxM = 64, n = 384, k = 1024, expectedM = 64, kb = Fp8Quantizer.ceilDiv(k, 128);
        int nb = Fp8Quantizer.ceilDiv(n, 128);
        float[] x = RandomTensors.normal(RandomTensors.derive(seed, "a"), groups * maxM * k, 1.0);
        byte[] aq = new byte[groups * maxM * k];
        float[] as = new float[groups * kb * maxM];
        for (int g = 0; g < groups; g++) {
            Fp8Quantizer.Quantized q = Fp8Quantizer.perTokenGroup(java.util.Arrays.copyOfRange(x, g * maxM * k, (g + 1) * maxM * k),
                    maxM, k, false);
            System.arraycopy(q.q(), 0, aq, g * maxM * k, maxM * k);
            System.arraycopy(q.scales(), 0, as, g * kb * maxM, kb * maxM);
        }
        Weights w = Weights.random(seed, groups, n, k);
        sink.params().put("n", n).put("k", k).put("groups", groups).put("maxM", maxM).put("expectedM", expectedM)
                .put("poison", BF16_POISON);
        try (Scope scope = Scope.open(device)) {
            DeviceTensor d = scope.allocate(DType.BF16, groups, maxM, n);
            d.fill(BF16_POISON, st);
            Fp8Gemm.groupedMasked(up(scope, DType.FP8_E4M3, aq, groups, maxM, k), up(scope, DType.FP32, as, groups, kb, maxM),
                    up(scope, DType.FP8_E4M3, w.q(), groups, n, k), up(scope, DType.FP32, w.scales(), groups, nb, kb), null, d,
                    up(scope, DType.INT32, maskedM, groups), expectedM, st);
            st.synchronize();
            sink.params().put("deviceErrors", st.deviceErrors());
            sink.input("a", "e4m3", aq, groups, maxM, k);
            sink.input("sa", "f32", as, groups, kb, maxM);
            sink.input("b", "e4m3", w.q(), groups, n, k);
            sink.input("sb", "f32", w.scales(), groups, nb, kb);
            sink.input("masked_m", "i32", maskedM, groups);
            sink.output("d", "bf16", d.toShortArray(), groups, maxM, n);
        }
    }

    // ---- MLA decode ----

    private static void mla(Device device, Stream st, long seed, Sink sink, boolean fp8) throws IOException {
        MlaChecks.Spec spec = fp8
                ? new MlaChecks.Spec("fp8", 3, 1, 16, 1, 64, new int[] {65, 0, 200}, 0, 0, true, false, false)
                : new MlaChecks.Spec("bf16", 3, 2, 16, 2, 16, new int[] {1, 64, 300}, 0, 0, false, true, false);
        MlaChecks.Problem p = MlaChecks.build(spec, seed);
        int b = p.b, sQ = spec.sQ(), hQ = spec.hQ(), hKV = spec.hKV(), page = spec.pageSize(), sms = device.smCount();
        int dim = MlaReference.DIM, vdim = MlaReference.VDIM;
        sink.params().put("b", b).put("sQ", sQ).put("hQ", hQ).put("hKV", hKV).put("pageSize", page)
                .put("causal", spec.causal()).put("scale", MlaChecks.SCALE).put("fp8", fp8)
                .put("fp8RowBytes", MlaFp8Row.ROW_BYTES).put("poison", BF16_POISON);
        try (Scope scope = Scope.open(device)) {
            DeviceTensor q = up(scope, DType.BF16, p.q, b, sQ, hQ, dim);
            DeviceTensor cache = fp8 ? up(scope, DType.FP8_E4M3, p.cacheFp8, p.numBlocks, page, hKV, MlaFp8Row.ROW_BYTES)
                    : up(scope, DType.BF16, p.cacheBf16, p.numBlocks, page, hKV, dim);
            DeviceTensor table = up(scope, DType.INT32, p.table, b, p.maxBlocks);
            DeviceTensor seqlens = up(scope, DType.INT32, p.seqlens, b);
            DeviceTensor sched = scope.allocate(DType.INT32, MlaDecode.scheduleInts(b, sms, 0));
            DeviceTensor ws = scope.allocate(DType.FP32, (MlaDecode.workspaceBytes(b, sQ, hQ, sms, 0) + 3) / 4);
            DeviceTensor out = scope.allocate(DType.BF16, b, sQ, hQ, vdim);
            DeviceTensor lse = scope.allocate(DType.FP32, b, hQ, sQ);
            out.fill(BF16_POISON, st);
            lse.fill(0x7FC00000, st);
            MlaDecode.Schedule schedule = MlaDecode.schedule(seqlens, page, p.maxBlocks, sms, 0, sched, st);
            MlaDecode.forward(q, cache, table, seqlens, schedule, MlaChecks.SCALE, spec.causal(), ws, out, lse, st);
            st.synchronize();
            sink.params().put("deviceErrors", st.deviceErrors());
            sink.input("q", "bf16", p.q, b, sQ, hQ, dim);
            if (fp8) sink.input("kv_cache", "u8", p.cacheFp8, p.numBlocks, page, hKV, MlaFp8Row.ROW_BYTES);
            else sink.input("kv_cache", "bf16", p.cacheBf16, p.numBlocks, page, hKV, dim);
            sink.input("block_table", "i32", p.table, b, p.maxBlocks);
            sink.input("seqlens", "i32", p.seqlens, b);
            sink.output("out", "bf16", out.toShortArray(), b, sQ, hQ, vdim);
            sink.output("lse", "f32", lse.toFloatArray(), b, hQ, sQ);
        }
    }

    // ---- MoE layout, dispatch (BF16 and FP8), combine ----

    private static void moe(Device device, Stream st, long seed, Sink sink) throws IOException {
        int t = 64, k = 8, e = 16, h = 256, align = 128;
        int cap = Math.toIntExact(MoeLayout.maxPaddedRows(t, k, e, align));
        int[] topk = MoeRouting.topkIdx(RandomTensors.derive(seed, "route"), t, k, e, MoeRouting.Kind.SKEWED);
        float[] weights = MoeRouting.weights(RandomTensors.derive(seed, "w"), t, k);
        short[] x = RandomTensors.normalBf16(RandomTensors.derive(seed, "x"), t * h, 1.0);
        short[] y = RandomTensors.normalBf16(RandomTensors.derive(seed, "y"), cap * h, 1.0);
        int capA = Fp8Quantizer.alignUp(cap, 4);
        sink.params().put("numTokens", t).put("topK", k).put("numExperts", e).put("hidden", h).put("alignment", align)
                .put("capacity", cap).put("routing", "SKEWED").put("pow2Scales", false).put("poison", BF16_POISON);
        try (Scope scope = Scope.open(device)) {
            DeviceTensor topkT = up(scope, DType.INT32, topk, t, k);
            DeviceTensor counts = scope.allocate(DType.INT32, e);
            DeviceTensor offsets = scope.allocate(DType.INT32, e + 1);
            DeviceTensor total = scope.allocate(DType.INT32, 1);
            DeviceTensor rowOf = scope.allocate(DType.INT32, t, k);
            long wsBytes = MoeLayout.workspaceBytes(t, k, e);
            DeviceTensor ws = wsBytes == 0 ? null : scope.allocate(DType.INT32, (wsBytes + 3) / 4);
            MoeLayout.compute(topkT, e, align, counts, offsets, total, rowOf, ws, st);
            DeviceTensor xT = up(scope, DType.BF16, x, t, h);
            DeviceTensor xE = scope.allocate(DType.BF16, cap, h);
            xE.fill(BF16_POISON, st);
            MoeDispatch.contiguous(xT, rowOf, counts, offsets, xE, null, false, null, st);
            DeviceTensor xq = scope.allocate(DType.FP8_E4M3, cap, h);
            xq.fill(0, st);
            DeviceTensor xqs = scope.allocate(DType.FP32, h / 128, capA);
            xqs.fill(0, st);
            DeviceTensor mIdx = scope.allocate(DType.INT32, cap);
            MoeDispatch.contiguous(xT, rowOf, counts, offsets, xq, xqs, false, mIdx, st);
            DeviceTensor out = scope.allocate(DType.BF16, t, h);
            out.fill(BF16_POISON, st);
            MoeCombine.contiguous(up(scope, DType.BF16, y, cap, h), rowOf, up(scope, DType.FP32, weights, t, k), out, st);
            st.synchronize();
            sink.params().put("deviceErrors", st.deviceErrors());
            sink.input("topk_idx", "i32", topk, t, k);
            sink.input("topk_weights", "f32", weights, t, k);
            sink.input("x", "bf16", x, t, h);
            sink.input("y", "bf16", y, cap, h);
            sink.output("num_tokens_per_expert", "i32", counts.toIntArray(), e);
            sink.output("expert_offsets", "i32", offsets.toIntArray(), e + 1);
            sink.output("total_rows", "i32", total.toIntArray(), 1);
            sink.output("row_of", "i32", rowOf.toIntArray(), t, k);
            sink.output("x_dispatched", "bf16", xE.toShortArray(), cap, h);
            sink.output("x_dispatched_fp8", "e4m3", xq.toByteArray(), cap, h);
            sink.output("x_dispatched_scales", "f32", xqs.toFloatArray(), h / 128, capA);
            sink.output("m_indices", "i32", mIdx.toIntArray(), cap);
            sink.output("combined", "bf16", out.toShortArray(), t, h);
        }
    }
}
