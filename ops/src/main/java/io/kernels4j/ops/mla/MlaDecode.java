package io.kernels4j.ops.mla;

import io.kernels4j.bindings.MlaNative;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.Checks;
import io.kernels4j.ops.internal.OpSupport;
import io.kernels4j.ops.internal.PlanLine;
import io.kernels4j.ops.internal.Status;

/**
 * MLA decoding over a paged latent KV cache (FlashMLA semantics, docs/CONTRACT.md section 3).
 *
 * <p>Shapes (row-major): {@code q} BF16 {@code [b, sQ, hQ, 576]}; {@code kvCache} BF16
 * {@code [numBlocks, pageSize, hKV, 576]} or FP8_E4M3 {@code [numBlocks, pageSize, hKV, 656]} (656-byte rows:
 * 512 e4m3, 4 FP32 power-of-two scales one per 128 values, 64 BF16 RoPE values, see {@link MlaKvCache});
 * {@code blockTable} INT32 {@code [b, maxBlocksPerSeq]}; {@code cacheSeqlens} INT32 {@code [b]}; outputs
 * {@code out} BF16 {@code [b, sQ, hQ, 512]} and {@code lse} FP32 {@code [b, hQ, sQ]} (natural log).
 * Scores use all 576 values of a cache row, V is its first 512. Causal with {@code sQ > 1} is end-aligned:
 * query token {@code i} sees keys {@code [0, seqlen - (sQ - 1 - i))}; a row with no visible key gets
 * {@code out = 0}, {@code lse = +inf}.
 *
 * <p>Use: once per decode step {@link #schedule} (the split-KV plan, computed on the GPU from
 * {@code cacheSeqlens}), then {@link #forward} for every layer with that schedule. Buffers come from the caller:
 * the schedule's INT32 buffer ({@link #scheduleInts}) and the FP32 workspace ({@link #workspaceBytes}).
 *
 * <p>Checked on the host before launch: dtypes, shapes, {@code hQ % hKV == 0}, {@code pageSize % 16 == 0},
 * workspace and schedule sizes, the native limits ({@code batch <= 65535}, {@code sQ * hQ <= 2^20},
 * {@code maxBlocksPerSeq * pageSize <= 2^30}, every dimension in int range), alignment of every tensor,
 * devices. Not checkable on the host (the kernels clamp/skip and raise
 * device error bits, see {@link Stream#checkDeviceErrors()}): seqlens outside {@code [0, maxBlocksPerSeq * pageSize]}
 * (clamped, LENGTH_OUT_OF_RANGE), page ids outside {@code [0, numBlocks)} (key skipped, INDEX_OUT_OF_RANGE).
 * Block-table entries past a request's last page are never read.
 *
 * <p>{@link #forward} (and {@link MlaKvCache#write}) allocate nothing on the Java heap unless their checks
 * throw; {@link #schedule}, once per decode step, allocates only the {@link Schedule} it returns.
 *
 * <p>Thread-safety: the methods are stateless and may be called from any number of threads at once.
 * Calls on one {@link io.kernels4j.ops.Stream} run on the GPU in the order they were made; calls on
 * different streams run concurrently, so a tensor one of them writes must not be read or written by
 * another until an {@link io.kernels4j.ops.Event} (or a synchronisation) orders them. Closing a tensor
 * or stream while another thread's call uses it is safe: that call either fails with
 * {@link IllegalStateException} before launching, or launches and the memory is released when it
 * ends. A {@link Schedule} is immutable and may be shared by every thread and layer of its step.
 */
public final class MlaDecode {
    private MlaDecode() {}

    /**
     * A split-KV plan computed by {@link #schedule}: its INT32 buffer plus the parameters it was made with. Pass
     * the same {@code cacheSeqlens} to {@link #forward}. {@code fixedSplits > 0} gives every request
     * {@code min(fixedSplits, ceil(seqlen / 64))} splits whatever the rest of the batch (batch-invariant results);
     * 0 balances the batch over {@code numSms}.
     *
     * @param buffer the INT32 plan, at least {@link #scheduleInts} entries
     * @param batch number of requests
     * @param pageSize tokens per cache page
     * @param maxBlocksPerSeq columns of the block table
     * @param numSms SMs the plan balances over
     * @param fixedSplits 0 (auto) or the fixed number of splits per request
     */
    public record Schedule(DeviceTensor buffer, int batch, int pageSize, int maxBlocksPerSeq, int numSms, int fixedSplits) {}

    /**
     * INT32 entries the schedule buffer needs.
     *
     * @param batch number of requests
     * @param numSms SMs to balance over
     * @param fixedSplits 0 (auto) or splits per request in [1, 64]
     * @return the number of INT32 entries
     */
    public static long scheduleInts(int batch, int numSms, int fixedSplits) {
        return MlaShapes.scheduleInts(batch, numSms, fixedSplits);
    }

    /**
     * Workspace bytes {@link #forward} needs for this batch and plan.
     *
     * @param batch number of requests
     * @param sQ query tokens per request
     * @param hQ query heads
     * @param numSms SMs to balance over
     * @param fixedSplits 0 (auto) or splits per request in [1, 64]
     * @return the bytes
     */
    public static long workspaceBytes(int batch, int sQ, int hQ, int numSms, int fixedSplits) {
        return MlaShapes.workspaceBytes(batch, sQ, hQ, numSms, fixedSplits);
    }

    /**
     * Computes the split-KV plan on the GPU (one small kernel, no host sync) into {@code scheduleBuffer}
     * (INT32, at least {@link #scheduleInts} entries).
     *
     * @param numSms SMs to balance over; 0 takes the stream's device SM count
     * @param fixedSplits 0 for auto, or a fixed number of splits per request in [1, 64]
     * @param cacheSeqlens INT32 {@code [batch]} on the device: keys per request
     * @param pageSize tokens per cache page, a multiple of 16
     * @param maxBlocksPerSeq columns of the block table
     * @param scheduleBuffer INT32, at least {@link #scheduleInts} entries, written
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     * @return the plan, for {@link #forward}
     */
    public static Schedule schedule(DeviceTensor cacheSeqlens, int pageSize, int maxBlocksPerSeq, int numSms,
            int fixedSplits, DeviceTensor scheduleBuffer, Stream stream) {
        Checks.requireNonNull(stream, "stream");
        int sms = numSms == 0 ? stream.device().smCount() : numSms;
        MlaArgs.checkSchedule(cacheSeqlens, pageSize, maxBlocksPerSeq, sms, fixedSplits, scheduleBuffer, stream);
        int batch = (int) cacheSeqlens.dim(0);
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) MlaNative.k4j_mla_schedule.invokeExact(OpSupport.address(cacheSeqlens), (long) batch, pageSize,
                    (long) maxBlocksPerSeq, sms, fixedSplits, OpSupport.address(scheduleBuffer), scheduleBuffer.numel(),
                    OpSupport.errorFlagAddress(stream), OpSupport.handle(stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
        Status.check(rc, "MlaDecode.schedule");
        OpSupport.afterOp(stream, "MlaDecode.schedule");
        return new Schedule(scheduleBuffer, batch, pageSize, maxBlocksPerSeq, sms, fixedSplits);
    }

    /**
     * {@code out = softmax(softmaxScale * q . K^T) . V} and {@code lse} over the paged cache (see the class doc).
     * Asynchronous on {@code stream}; writes every element of {@code out} and {@code lse}.
     *
     * @param q BF16 {@code [batch, sQ, hQ, 576]}
     * @param kvCache BF16 {@code [numBlocks, pageSize, hKV, 576]} or FP8_E4M3 {@code [numBlocks, pageSize, hKV, 656]}
     * @param blockTable INT32 {@code [batch, maxBlocksPerSeq]}: page ids
     * @param cacheSeqlens INT32 {@code [batch]}, the one the schedule was made with
     * @param schedule from {@link #schedule} for this step
     * @param softmaxScale the scale applied to {@code q . K^T}
     * @param causal whether query token i of a request sees only the keys up to its own position
     * @param workspace at least {@link #workspaceBytes} bytes
     * @param out BF16 {@code [batch, sQ, hQ, 512]}, written
     * @param lse FP32 {@code [batch, hQ, sQ]}, written: log-sum-exp of each row
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     */
    public static void forward(DeviceTensor q, DeviceTensor kvCache, DeviceTensor blockTable, DeviceTensor cacheSeqlens,
            Schedule schedule, float softmaxScale, boolean causal, DeviceTensor workspace, DeviceTensor out,
            DeviceTensor lse, Stream stream) {
        Checks.requireNonNull(stream, "stream");
        int hKV = MlaArgs.checkForward(q, kvCache, blockTable, cacheSeqlens, schedule, softmaxScale, workspace, out, lse,
                stream);
        int kvType = kvCache.dtype() == DType.FP8_E4M3 ? DType.FP8_E4M3.code() : DType.BF16.code();
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) MlaNative.k4j_mla_decode.invokeExact(OpSupport.address(q), OpSupport.address(kvCache), kvType,
                    OpSupport.address(blockTable), OpSupport.address(cacheSeqlens), OpSupport.address(schedule.buffer()), OpSupport.address(workspace),
                    workspace.byteSize(), OpSupport.address(out), OpSupport.address(lse), (long) schedule.batch(), q.dim(1), q.dim(2),
                    (long) hKV, kvCache.dim(0), schedule.pageSize(), (long) schedule.maxBlocksPerSeq(),
                    schedule.numSms(), schedule.fixedSplits(), softmaxScale, causal ? 1 : 0,
                    OpSupport.errorFlagAddress(stream), OpSupport.handle(stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
        Status.check(rc, "MlaDecode.forward");
        OpSupport.afterOp(stream, "MlaDecode.forward");
    }

    /**
     * The kernel configuration {@link #forward} runs for this query and cache on the stream's device, as
     * one line, e.g. {@code family=wgmma kv=bf16 rows_per_cta=64 keys_per_tile=64 ctas_per_work_item=2
     * threads=384 smem=... (sm_90 TMA + wgmma)}: the Hopper family on sm_90, the portable {@code mma.sync}
     * family on sm_80/sm_89 (the phrase in parentheses says why). The environment variable
     * {@code KERNELS4J_MLA_FAMILY=auto|wgmma|mma} applies as for {@link #forward}. Launches nothing; the
     * tensors' contents are not read.
     *
     * @param q BF16 {@code [batch, sQ, hQ, 576]}
     * @param kvCache BF16 {@code [numBlocks, pageSize, hKV, 576]} or FP8_E4M3 {@code [numBlocks, pageSize, hKV, 656]}
     * @param stream a stream of the device to plan for
     * @return the plan line
     * @throws IllegalArgumentException for shapes the op itself would reject, or a bad KERNELS4J_MLA_FAMILY
     * @throws UnsupportedOperationException for KERNELS4J_MLA_FAMILY=wgmma where the Hopper family cannot run
     */
    public static String plan(DeviceTensor q, DeviceTensor kvCache, Stream stream) {
        Checks.requireNonNull(stream, "stream");
        open(q, "q");
        open(kvCache, "kvCache");
        int hKV = MlaShapes.checkPlan(MlaShapes.Spec.of(q), MlaShapes.Spec.of(kvCache));
        return PlanLine.query(stream, "MlaDecode.plan", (buf, size) -> (int) MlaNative.k4j_mla_decode_plan.invokeExact(
                kvCache.dtype().code(), q.dim(1), q.dim(2), (long) hKV, kvCache.dim(0), (int) kvCache.dim(1), buf, size));
    }

    static void open(DeviceTensor t, String name) {
        Checks.requireNonNull(t, name);
        if (t.isClosed()) throw new IllegalArgumentException(name + ": tensor " + t + " is closed");
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
