package io.kernels4j.ops.moe;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.gemm.Fp8Gemm;
import io.kernels4j.ops.moe.MoeLayerConfig.Layout;
import java.util.Arrays;

/**
 * One DeepSeek-V3 style MoE layer (routed experts, FP8 weights) in one call:
 * {@link MoeLayout#compute layout} -> {@link MoeDispatch dispatch} with the FP8 cast fused ->
 * grouped FP8 GEMM (gate/up) -> {@link SiluAndMul SiLU-and-multiply} with the FP8 re-quantisation
 * fused -> grouped FP8 GEMM (down) -> {@link MoeCombine combine}, in the grouped-contiguous
 * (prefill) or the masked (decode) layout of its {@link MoeLayerConfig}. The numerics are those of
 * the six ops it chains (the moe checks gate the layer against an FP64 reference).
 * <pre>{@code
 * MoeLayerConfig cfg = MoeLayerConfig.masked(7168, 256, 8, 2048, 128, 64);
 * try (MoeLayer layer = MoeLayer.create(cfg, new MoeLayer.Weights(w1, w1Scales, w2, w2Scales))) {
 *     layer.forward(x, topkIdx, topkWeights, out, stream); // every decode step, every layer sharing the sizes
 * }
 * }</pre>
 *
 * <p>Workspaces (about {@link MoeLayerConfig#workspaceBytes()} bytes of device memory) are sized
 * for {@code maxTokens} and allocated once, at construction, on the weights' device. A
 * {@link #forward} call never allocates device memory, never synchronises and never reads device
 * data on the host, so it can be captured in a CUDA graph; the first call at a given token count
 * builds that count's workspace views (small Java objects), later calls allocate nothing. Routing
 * problems the host cannot see (expert ids out of range, masked capacity exceeded) are skipped on
 * the device and reported in the stream's error word ({@link Stream#checkDeviceErrors()}); in the
 * masked layout {@link #droppedPairs()} also counts the pairs past the capacity.
 *
 * <p>Weights are borrowed by {@link #create(MoeLayerConfig, Weights)}: the caller keeps them open
 * while the layer is used and closes them; {@link #createOwning} hands them to the layer, which
 * closes them in {@link #close()}. Thread safety: an instance reuses its workspaces in every call,
 * so use it from one thread and on one stream at a time (calls on one stream are ordered, so
 * back-to-back calls are safe); instances share nothing.
 */
public final class MoeLayer implements AutoCloseable {

    /**
     * The FP8 expert weights in DeepSeek-V3's layout (e4m3 codes, FP32 128x128 block scales, as
     * the checkpoint's {@code weight_scale_inv}).
     *
     * @param gateUp       FP8_E4M3 {@code [E, 2I, H]}: gate rows {@code [0, I)}, up rows {@code [I, 2I)}
     * @param gateUpScales FP32 {@code [E, 2I/128, H/128]}
     * @param down         FP8_E4M3 {@code [E, H, I]}
     * @param downScales   FP32 {@code [E, H/128, I/128]}
     */
    public record Weights(DeviceTensor gateUp, DeviceTensor gateUpScales, DeviceTensor down, DeviceTensor downScales) {
        /**
         * Checks the four tensors against {@code config}; messages name the tensor.
         *
         * @param config the layer's sizes
         */
        public void check(MoeLayerConfig config) {
            long e = config.numExperts(), h = config.hiddenSize(), i = config.intermediateSize();
            tensor(gateUp, "gateUp", DType.FP8_E4M3, e, 2 * i, h);
            tensor(gateUpScales, "gateUpScales", DType.FP32, e, 2 * i / 128, h / 128);
            tensor(down, "down", DType.FP8_E4M3, e, h, i);
            tensor(downScales, "downScales", DType.FP32, e, h / 128, i / 128);
            Device d = gateUp.device();
            for (DeviceTensor t : new DeviceTensor[] {gateUpScales, down, downScales})
                if (t.device() != d)
                    throw new IllegalArgumentException("weights: all on one device, got " + gateUp + " and " + t);
        }

        private static void tensor(DeviceTensor t, String name, DType dtype, long... shape) {
            if (t == null) throw new IllegalArgumentException(name + ": must not be null");
            if (t.isClosed()) throw new IllegalArgumentException(name + ": tensor " + t + " is closed");
            if (t.dtype() != dtype || !Arrays.equals(t.shape(), shape))
                throw new IllegalArgumentException(name + ": expected " + dtype + Arrays.toString(shape) + ", got " + t.dtype()
                        + Arrays.toString(t.shape()));
        }

        private void close() {
            for (DeviceTensor t : new DeviceTensor[] {gateUp, gateUpScales, down, downScales}) t.close();
        }
    }

    /** The workspace views of one token count T (built once per T, then reused). */
    private record Views(DeviceTensor topkIdx32, DeviceTensor rowOf, DeviceTensor slotOf, DeviceTensor xq, DeviceTensor xqScales,
            DeviceTensor mIndices, DeviceTensor gateUp, DeviceTensor h, DeviceTensor hScales, DeviceTensor y, int expectedM) {}

    private final MoeLayerConfig config;
    private final Weights weights;
    private final boolean ownsWeights;
    private final Device device;
    private final DeviceTensor[] owned; // flat buffers, null when a scope owns them
    private final DeviceTensor topkIdx32, counts, offsets, rowOf, layoutWorkspace, slotOf, dropped, xq, xqScales, groupRows,
            gateUp, h, hScales, y;
    private final Views[] views; // by token count, built on first use
    private boolean closed;

    /** Allocates a flat workspace buffer of {@code n} elements. */
    interface Allocator {
        DeviceTensor allocate(DType dtype, long n);
    }

    private MoeLayer(MoeLayerConfig config, Weights weights, boolean ownsWeights, Scope scope) {
        this(config, weights, ownsWeights, scope == null ? null : scope::allocate, scope == null);
    }

    /** {@code alloc} null: allocate on the weights' device; {@code ownsBuffers}: close them in close(). */
    MoeLayer(MoeLayerConfig config, Weights weights, boolean ownsWeights, Allocator alloc, boolean ownsBuffers) {
        if (config == null) throw new IllegalArgumentException("config: must not be null");
        if (weights == null) throw new IllegalArgumentException("weights: must not be null");
        weights.check(config);
        this.config = config;
        this.weights = weights;
        this.ownsWeights = ownsWeights;
        this.device = weights.gateUp().device();
        long[] bytes = config.bufferBytes();
        DType[] types = {DType.INT32, DType.INT32, DType.INT32, DType.INT32, DType.INT32, DType.INT32, DType.INT32,
            DType.FP8_E4M3, DType.FP32, DType.INT32, DType.BF16, DType.FP8_E4M3, DType.FP32, DType.BF16};
        DeviceTensor[] b = new DeviceTensor[bytes.length];
        try {
            for (int i = 0; i < b.length; i++) {
                long n = bytes[i] / types[i].byteSize();
                b[i] = alloc != null ? alloc.allocate(types[i], n) : DeviceTensor.allocate(device, types[i], n);
            }
        } catch (RuntimeException e) {
            if (ownsBuffers) for (DeviceTensor t : b) if (t != null) t.close();
            throw e;
        }
        owned = ownsBuffers ? b : null;
        topkIdx32 = b[0];
        counts = b[1];
        offsets = b[2];
        rowOf = b[3];
        layoutWorkspace = b[4];
        slotOf = b[5];
        dropped = b[6];
        xq = b[7];
        xqScales = b[8];
        groupRows = b[9];
        gateUp = b[10];
        h = b[11];
        hScales = b[12];
        y = b[13];
        views = new Views[config.maxTokens() + 1];
    }

    /**
     * A layer that borrows {@code weights} (the caller closes them after the layer) and allocates its
     * workspaces on the weights' device; {@link #close()} frees the workspaces.
     *
     * @param config  the sizes
     * @param weights the expert weights, borrowed
     * @return the layer
     */
    public static MoeLayer create(MoeLayerConfig config, Weights weights) {
        return new MoeLayer(config, weights, false, null);
    }

    /**
     * A layer that borrows {@code weights} and allocates its workspaces from {@code scope} (on the
     * scope's device, which must be the weights'): the scope frees them when it closes.
     *
     * @param config  the sizes
     * @param weights the expert weights, borrowed
     * @param scope   allocates the workspaces
     * @return the layer
     */
    public static MoeLayer create(MoeLayerConfig config, Weights weights, Scope scope) {
        if (scope == null) throw new IllegalArgumentException("scope: must not be null");
        return new MoeLayer(config, weights, false, scope);
    }

    /**
     * A layer that takes ownership of {@code weights}: {@link #close()} closes them with the workspaces.
     *
     * @param config  the sizes
     * @param weights the expert weights, owned by the layer from now on
     * @return the layer
     */
    public static MoeLayer createOwning(MoeLayerConfig config, Weights weights) {
        return new MoeLayer(config, weights, true, null);
    }

    /**
     * Returns the sizes this layer was made for.
     *
     * @return the sizes this layer was made for
     */
    public MoeLayerConfig config() {
        return config;
    }

    /**
     * Returns the expert weights.
     *
     * @return the expert weights
     */
    public Weights weights() {
        return weights;
    }

    /**
     * Returns the device of the weights and workspaces.
     *
     * @return the device of the weights and workspaces
     */
    public Device device() {
        return device;
    }

    /**
     * MASKED layout: INT32 {@code [1]}, the number of (token, k) pairs the last {@link #forward}
     * dropped because their expert already had {@code maxTokensPerExpert} rows (0 when none); read it
     * after synchronising the stream. Null for the CONTIGUOUS layout, which never drops.
     *
     * @return the dropped-pair counter, or null
     */
    public DeviceTensor droppedPairs() {
        return config.layout() == Layout.MASKED ? dropped : null;
    }

    /**
     * {@code out[t] = sum_k topkWeights[t, k] * expert(topkIdx[t, k])(x[t])} with
     * {@code expert(x) = down(silu(gate(x)) * up(x))}, FP8 GEMMs with FP32 accumulation, asynchronous
     * on {@code stream}. A pair whose id is -1 adds nothing. With T = 0 nothing is launched.
     *
     * @param x           BF16 {@code [T, H]}, {@code T <= maxTokens}, 16-byte aligned
     * @param topkIdx     INT32 or INT64 {@code [T, K]}: expert ids in {@code [0, E)}, -1 = not routed
     * @param topkWeights FP32 {@code [T, K]}
     * @param out         BF16 {@code [T, H]}, written
     * @param stream      where the kernels run, on the layer's device
     */
    public void forward(DeviceTensor x, DeviceTensor topkIdx, DeviceTensor topkWeights, DeviceTensor out, Stream stream) {
        if (closed) throw new IllegalStateException("MoeLayer is closed");
        int t = checkForward(x, topkIdx, topkWeights, out);
        if (t == 0) return;
        Views v = views(t);
        DeviceTensor ids = topkIdx;
        if (topkIdx.dtype() == DType.INT64) {
            MoeLayout.topkIdsToInt32(topkIdx, v.topkIdx32(), stream);
            ids = v.topkIdx32();
        }
        int e = config.numExperts();
        MoeLayout.compute(ids, e, config.alignment(), counts, offsets, null, v.rowOf(), layoutWorkspace, stream);
        if (config.layout() == Layout.MASKED) {
            MoeDispatch.masked(x, ids, v.rowOf(), counts, offsets, v.xq(), v.xqScales(), false, v.mIndices(), v.slotOf(), dropped,
                    stream);
            Fp8Gemm.groupedMasked(v.xq(), v.xqScales(), weights.gateUp(), weights.gateUpScales(), null, v.gateUp(), v.mIndices(),
                    v.expectedM(), stream);
            SiluAndMul.masked(v.gateUp(), v.mIndices(), v.h(), v.hScales(), false, stream);
            Fp8Gemm.groupedMasked(v.h(), v.hScales(), weights.down(), weights.downScales(), null, v.y(), v.mIndices(),
                    v.expectedM(), stream);
            MoeCombine.masked(v.y(), v.slotOf(), topkWeights, out, stream);
        } else {
            MoeDispatch.contiguous(x, v.rowOf(), counts, offsets, v.xq(), v.xqScales(), false, v.mIndices(), stream);
            Fp8Gemm.groupedContiguous(v.xq(), v.xqScales(), weights.gateUp(), weights.gateUpScales(), null, v.gateUp(),
                    v.mIndices(), stream);
            SiluAndMul.contiguous(v.gateUp(), v.mIndices(), v.h(), v.hScales(), false, stream);
            Fp8Gemm.groupedContiguous(v.h(), v.hScales(), weights.down(), weights.downScales(), null, v.y(), v.mIndices(),
                    stream);
            MoeCombine.contiguous(v.y(), v.rowOf(), topkWeights, out, stream);
        }
    }

    /** The layer-level checks (the ops check the rest); returns T. Allocates nothing when they pass. */
    private int checkForward(DeviceTensor x, DeviceTensor topkIdx, DeviceTensor topkWeights, DeviceTensor out) {
        long hid = config.hiddenSize(), k = config.topK();
        if (x == null || x.dtype() != DType.BF16 || x.rank() != 2 || x.dim(1) != hid || x.dim(0) > config.maxTokens())
            throw new IllegalArgumentException("x: expected BF16[T, " + hid + "] with T <= maxTokens = " + config.maxTokens()
                    + ", got " + describe(x));
        long t = x.dim(0);
        if (topkIdx == null || (topkIdx.dtype() != DType.INT32 && topkIdx.dtype() != DType.INT64) || topkIdx.rank() != 2
                || topkIdx.dim(0) != t || topkIdx.dim(1) != k)
            throw new IllegalArgumentException("topkIdx: expected INT32 or INT64[" + t + ", " + k + "], got " + describe(topkIdx));
        if (topkWeights == null || topkWeights.dtype() != DType.FP32 || topkWeights.rank() != 2 || topkWeights.dim(0) != t
                || topkWeights.dim(1) != k)
            throw new IllegalArgumentException("topkWeights: expected FP32[" + t + ", " + k + "], got " + describe(topkWeights));
        if (out == null || out.dtype() != DType.BF16 || out.rank() != 2 || out.dim(0) != t || out.dim(1) != hid)
            throw new IllegalArgumentException("out: expected BF16[" + t + ", " + hid + "], got " + describe(out));
        return (int) t;
    }

    private static String describe(DeviceTensor t) {
        return t == null ? "null" : t.dtype() + Arrays.toString(t.shape());
    }

    private Views views(int t) {
        Views v = views[t];
        if (v == null) views[t] = v = buildViews(t);
        return v;
    }

    private Views buildViews(int t) {
        long k = config.topK(), hid = config.hiddenSize(), inter = config.intermediateSize(), e = config.numExperts();
        long pairs = t * k;
        DeviceTensor ids = topkIdx32.slice(0, pairs).reshape(t, k);
        DeviceTensor rows = rowOf.slice(0, pairs).reshape(t, k);
        if (config.layout() == Layout.MASKED) {
            long m = config.maxTokensPerExpert(), ld = MoeShapes.scaleRows(m);
            // expectedM: the GEMM's tile hint, the mean rows per expert.
            int expectedM = (int) Math.min(m, (pairs + e - 1) / e);
            return new Views(ids, rows, slotOf.slice(0, pairs).reshape(t, k), xq.reshape(e, m, hid),
                    xqScales.reshape(e, hid / 128, ld), groupRows, gateUp.reshape(e, m, 2 * inter), h.reshape(e, m, inter),
                    hScales.reshape(e, inter / 128, ld), y.reshape(e, m, hid), expectedM);
        }
        long cap = config.rows(t), ld = MoeShapes.scaleRows(cap);
        return new Views(ids, rows, null, prefix(xq, cap, hid), prefix(xqScales, hid / 128, ld), groupRows.slice(0, cap),
                prefix(gateUp, cap, 2 * inter), prefix(h, cap, inter), prefix(hScales, inter / 128, ld), prefix(y, cap, hid), 0);
    }

    /** The first {@code rows * cols} elements of a flat buffer as {@code [rows, cols]}. */
    private static DeviceTensor prefix(DeviceTensor flat, long rows, long cols) {
        return flat.slice(0, rows * cols).reshape(rows, cols);
    }

    /**
     * Frees the workspaces (unless a scope owns them) and, for {@link #createOwning}, the weights.
     * Idempotent.
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Arrays.fill(views, null);
        RuntimeException first = null;
        if (owned != null) {
            for (int i = owned.length - 1; i >= 0; i--) {
                try {
                    owned[i].close();
                } catch (RuntimeException ex) {
                    if (first == null) first = ex;
                    else first.addSuppressed(ex);
                }
            }
        }
        if (ownsWeights) {
            try {
                weights.close();
            } catch (RuntimeException ex) {
                if (first == null) first = ex;
                else first.addSuppressed(ex);
            }
        }
        if (first != null) throw first;
    }

    /**
     * Returns true once {@link #close()} ran.
     *
     * @return true once {@link #close()} ran
     */
    public boolean isClosed() {
        return closed;
    }
}
