package io.kernels4j.ops.mla;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.mla.MlaDecodeConfig.CacheFormat;
import java.util.Arrays;

/**
 * One MLA decode step over a paged latent cache, for every layer of a model: {@link #plan} once per
 * step (the split-KV schedule, computed on the GPU from {@code cacheSeqlens}, see
 * {@link MlaDecode#schedule}), then {@link #forward} for each layer with that plan.
 * <pre>{@code
 * try (MlaDecodeStep step = MlaDecodeStep.create(MlaDecodeConfig.of(64, 1, 128, 1, 64, 256, CacheFormat.FP8), device)) {
 *     step.plan(cacheSeqlens, stream);                       // once per decode step
 *     for (int layer = 0; layer < 61; layer++)
 *         step.forward(q[layer], kvCache[layer], blockTable, cacheSeqlens, out[layer], lse[layer], scale, true, stream);
 * }
 * }</pre>
 * The schedule buffer and the FP32 split workspace are sized from the {@link MlaDecodeConfig} and
 * allocated once, at construction. {@link #forward} allocates nothing and, like {@link #plan},
 * never synchronises or reads device data on the host, so a whole step can be captured in a CUDA
 * graph; {@link #plan} allocates one small Java record per call ({@link MlaDecode.Schedule}).
 * Pass {@link #forward} the same {@code cacheSeqlens} contents the step was planned with. Not
 * thread-safe: the workspace is reused by every call, so use an instance from one thread and on
 * one stream at a time.
 */
public final class MlaDecodeStep implements AutoCloseable {
    private final MlaDecodeConfig config;
    private final Device device;
    private final int numSms;
    private final DeviceTensor scheduleBuffer, workspace;
    private final boolean ownsBuffers;
    private MlaDecode.Schedule schedule;
    private boolean closed;

    /** Allocates a buffer of {@code n} elements. */
    interface Allocator {
        DeviceTensor allocate(DType dtype, long n);
    }

    private MlaDecodeStep(MlaDecodeConfig config, Device device, Scope scope) {
        this(config, device, scope == null ? null : scope::allocate, scope == null);
    }

    /** {@code alloc} null: allocate on {@code device}; {@code ownsBuffers}: close them in close(). */
    MlaDecodeStep(MlaDecodeConfig config, Device device, Allocator alloc, boolean ownsBuffers) {
        if (config == null) throw new IllegalArgumentException("config: must not be null");
        if (device == null) throw new IllegalArgumentException("device: must not be null");
        this.config = config;
        this.device = device;
        this.numSms = config.numSms() == 0 ? device.smCount() : config.numSms();
        long ints = config.scheduleInts(numSms), ws = config.workspaceBytes(numSms);
        this.ownsBuffers = ownsBuffers;
        Allocator a = alloc != null ? alloc : (dtype, n) -> DeviceTensor.allocate(device, dtype, n);
        scheduleBuffer = a.allocate(DType.INT32, ints);
        try {
            workspace = a.allocate(DType.FP32, ws / 4);
        } catch (RuntimeException e) {
            if (ownsBuffers) scheduleBuffer.close();
            throw e;
        }
    }

    /**
     * A step with its own buffers on {@code device}; {@link #close()} frees them.
     *
     * @param config the sizes
     * @param device where the buffers live and the step runs
     * @return the step
     */
    public static MlaDecodeStep create(MlaDecodeConfig config, Device device) {
        return new MlaDecodeStep(config, device, null);
    }

    /**
     * A step whose buffers come from {@code scope} (allocated on the scope's device, which must be
     * {@code device}); the scope frees them.
     *
     * @param config the sizes
     * @param device where the step runs
     * @param scope  allocates the buffers
     * @return the step
     */
    public static MlaDecodeStep create(MlaDecodeConfig config, Device device, Scope scope) {
        if (scope == null) throw new IllegalArgumentException("scope: must not be null");
        return new MlaDecodeStep(config, device, scope);
    }

    /**
     * Returns the sizes this step was made for.
     *
     * @return the sizes this step was made for
     */
    public MlaDecodeConfig config() {
        return config;
    }

    /**
     * Returns the device of the buffers.
     *
     * @return the device of the buffers
     */
    public Device device() {
        return device;
    }

    /**
     * Returns the SMs the schedule balances over (the config's, or the device's when it says 0).
     *
     * @return the SMs the schedule balances over (the config's, or the device's when it says 0)
     */
    public int numSms() {
        return numSms;
    }

    /**
     * Returns the device bytes of the schedule buffer and the workspace.
     *
     * @return the device bytes of the schedule buffer and the workspace
     */
    public long deviceBytes() {
        return scheduleBuffer.byteSize() + workspace.byteSize();
    }

    /**
     * Plans this decode step from {@code cacheSeqlens} INT32 {@code [batch]} (on the device, no
     * sync). Call once per step, before the first {@link #forward}, and again whenever the lengths change.
     *
     * @param cacheSeqlens the cached length of each request, on the device
     * @param stream       where the schedule kernel runs
     */
    public void plan(DeviceTensor cacheSeqlens, Stream stream) {
        requireOpen();
        if (cacheSeqlens == null || cacheSeqlens.dtype() != DType.INT32 || cacheSeqlens.rank() != 1
                || cacheSeqlens.dim(0) != config.batch())
            throw new IllegalArgumentException("cacheSeqlens: expected INT32[" + config.batch() + "], got " + describe(cacheSeqlens));
        schedule = MlaDecode.schedule(cacheSeqlens, config.pageSize(), config.maxBlocksPerSeq(), numSms, config.fixedSplits(),
                scheduleBuffer, stream);
    }

    /** Tests without a GPU: the plan {@link #plan} would keep, without launching the schedule kernel. */
    void forcePlanForTests(DeviceTensor cacheSeqlens) {
        schedule = new MlaDecode.Schedule(scheduleBuffer, (int) cacheSeqlens.dim(0), config.pageSize(), config.maxBlocksPerSeq(),
                numSms, config.fixedSplits());
    }

    /**
     * Returns true once {@link #plan} was called.
     *
     * @return true once {@link #plan} was called
     */
    public boolean isPlanned() {
        return schedule != null;
    }

    /**
     * One layer's decode attention with the current plan (see {@link MlaDecode#forward}):
     * {@code q} BF16 {@code [batch, sQ, hQ, 576]}, {@code kvCache} in the config's format,
     * {@code blockTable} INT32 {@code [batch, maxBlocksPerSeq]}, {@code cacheSeqlens} INT32
     * {@code [batch]} (the planned lengths), {@code out} BF16 {@code [batch, sQ, hQ, 512]},
     * {@code lse} FP32 {@code [batch, hQ, sQ]}. Asynchronous on {@code stream}.
     *
     * @param q            queries
     * @param kvCache      this layer's paged latent cache
     * @param blockTable   pages of each request
     * @param cacheSeqlens the planned lengths
     * @param out          attention output, written
     * @param lse          log-sum-exp of the scores, written
     * @param softmaxScale scale of {@code q . k} (DeepSeek-V3: {@code 1 / sqrt(192)})
     * @param causal       end-aligned causal mask for {@code sQ > 1}
     * @param stream       where the kernels run
     */
    public void forward(DeviceTensor q, DeviceTensor kvCache, DeviceTensor blockTable, DeviceTensor cacheSeqlens, DeviceTensor out,
            DeviceTensor lse, float softmaxScale, boolean causal, Stream stream) {
        requireOpen();
        if (schedule == null) throw new IllegalStateException("MlaDecodeStep: plan(cacheSeqlens, stream) must run before forward");
        if (q == null || q.dtype() != DType.BF16 || q.rank() != 4 || q.dim(0) != config.batch() || q.dim(1) != config.sQ()
                || q.dim(2) != config.hQ() || q.dim(3) != MlaShapes.HEAD_DIM)
            throw new IllegalArgumentException("q: expected BF16[" + config.batch() + ", " + config.sQ() + ", " + config.hQ() + ", "
                    + MlaShapes.HEAD_DIM + "], got " + describe(q));
        DType kvType = config.cacheFormat() == CacheFormat.FP8 ? DType.FP8_E4M3 : DType.BF16;
        long row = config.cacheFormat() == CacheFormat.FP8 ? MlaShapes.FP8_ROW_BYTES : MlaShapes.HEAD_DIM;
        if (kvCache == null || kvCache.dtype() != kvType || kvCache.rank() != 4 || kvCache.dim(1) != config.pageSize()
                || kvCache.dim(2) != config.hKV() || kvCache.dim(3) != row)
            throw new IllegalArgumentException("kvCache: expected " + kvType + "[*, " + config.pageSize() + ", " + config.hKV() + ", "
                    + row + "] (" + config.cacheFormat() + " cache), got " + describe(kvCache));
        MlaDecode.forward(q, kvCache, blockTable, cacheSeqlens, schedule, softmaxScale, causal, workspace, out, lse, stream);
    }

    private static String describe(DeviceTensor t) {
        return t == null ? "null" : t.dtype() + Arrays.toString(t.shape());
    }

    private void requireOpen() {
        if (closed) throw new IllegalStateException("MlaDecodeStep is closed");
    }

    /** Frees the buffers (unless a scope owns them). Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        schedule = null;
        if (ownsBuffers) {
            try {
                workspace.close();
            } finally {
                scheduleBuffer.close();
            }
        }
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
