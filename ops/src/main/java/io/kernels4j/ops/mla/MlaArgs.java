package io.kernels4j.ops.mla;

import io.kernels4j.ops.internal.OpSupport;

import static io.kernels4j.ops.mla.MlaShapes.*;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.Checks;
import io.kernels4j.ops.mla.MlaShapes.Spec;

/**
 * Every host check of the MLA ops, in the order the ops ran them, without allocating on the Java
 * heap when they pass (an op call must not allocate, CONTRIBUTING). Each check first runs an
 * allocation-free predicate on the tensors that accepts exactly what the full checks accept
 * ({@link MlaShapes} on {@link Spec} copies, plus the ops' open/alignment/device checks); only when
 * the predicate fails does it run the full checks, which throw the message. So {@link MlaShapes}
 * stays the one statement of the rules, and MlaAllocationTest holds these methods to zero bytes.
 */
final class MlaArgs {
    private MlaArgs() {}

    /** Checks of {@link MlaDecode#schedule}; {@code sms} is the resolved SM count. */
    static void checkSchedule(DeviceTensor cacheSeqlens, int pageSize, int maxBlocksPerSeq, int sms, int fixedSplits,
            DeviceTensor scheduleBuffer, Stream stream) {
        if (!scheduleOk(cacheSeqlens, pageSize, maxBlocksPerSeq, sms, fixedSplits, scheduleBuffer)) {
            MlaDecode.open(cacheSeqlens, "cacheSeqlens");
            MlaDecode.open(scheduleBuffer, "schedule");
            MlaShapes.checkSchedule(Spec.of(cacheSeqlens), pageSize, maxBlocksPerSeq, sms, fixedSplits, Spec.of(scheduleBuffer));
            Checks.requireAligned(cacheSeqlens, "cacheSeqlens", 4);
            Checks.requireAligned(scheduleBuffer, "schedule", 16);
            throw disagree("MlaDecode.schedule");
        }
        if (stream.isClosed() || !onDevice(cacheSeqlens, stream) || !onDevice(scheduleBuffer, stream)) {
            Checks.requireSameDevice(stream, cacheSeqlens, scheduleBuffer);
            throw disagree("MlaDecode.schedule");
        }
    }

    /** Checks of {@link MlaDecode#forward}; returns hKV. */
    static int checkForward(DeviceTensor q, DeviceTensor kvCache, DeviceTensor blockTable, DeviceTensor cacheSeqlens,
            MlaDecode.Schedule schedule, float softmaxScale, DeviceTensor workspace, DeviceTensor out, DeviceTensor lse,
            Stream stream) {
        int hKV = forwardOk(q, kvCache, blockTable, cacheSeqlens, schedule, softmaxScale, workspace, out, lse);
        if (hKV < 0) {
            MlaDecode.open(q, "q");
            MlaDecode.open(kvCache, "kvCache");
            MlaDecode.open(blockTable, "blockTable");
            MlaDecode.open(cacheSeqlens, "cacheSeqlens");
            MlaDecode.open(workspace, "workspace");
            MlaDecode.open(out, "out");
            MlaDecode.open(lse, "lse");
            MlaShapes.checkForward(Spec.of(q), Spec.of(kvCache), Spec.of(blockTable), Spec.of(cacheSeqlens), schedule,
                    softmaxScale, Spec.of(workspace), Spec.of(out), Spec.of(lse));
            DeviceTensor buffer = schedule.buffer();
            MlaDecode.open(buffer, "schedule.buffer");
            Checks.requireDType(buffer, "schedule.buffer", DType.INT32);
            Checks.requireBytes(buffer, "schedule.buffer",
                    4 * MlaShapes.scheduleInts(schedule.batch(), schedule.numSms(), schedule.fixedSplits()));
            Checks.requireAligned(q, "q", 16);
            Checks.requireAligned(kvCache, "kvCache", 16);
            Checks.requireAligned(out, "out", 16);
            Checks.requireAligned(blockTable, "blockTable", 4);
            Checks.requireAligned(cacheSeqlens, "cacheSeqlens", 4);
            Checks.requireAligned(lse, "lse", 4);
            Checks.requireAligned(workspace, "workspace", 16);
            Checks.requireAligned(buffer, "schedule", 16);
            throw disagree("MlaDecode.forward");
        }
        if (stream.isClosed() || !onDevice(q, stream) || !onDevice(kvCache, stream) || !onDevice(blockTable, stream)
                || !onDevice(cacheSeqlens, stream) || !onDevice(workspace, stream) || !onDevice(out, stream)
                || !onDevice(lse, stream) || !onDevice(schedule.buffer(), stream)) {
            Checks.requireSameDevice(stream, q, kvCache, blockTable, cacheSeqlens, workspace, out, lse, schedule.buffer());
            throw disagree("MlaDecode.forward");
        }
        return hKV;
    }

    /** Checks of {@link MlaKvCache#write}; returns hKV. */
    static int checkWrite(DeviceTensor kvNew, DeviceTensor slotMapping, DeviceTensor kvCache, Stream stream) {
        int hKV = writeOk(kvNew, slotMapping, kvCache);
        if (hKV < 0) {
            MlaDecode.open(kvNew, "kvNew");
            MlaDecode.open(slotMapping, "slotMapping");
            MlaDecode.open(kvCache, "kvCache");
            MlaShapes.checkKvCacheWrite(Spec.of(kvNew), Spec.of(slotMapping), Spec.of(kvCache));
            Checks.requireAligned(kvNew, "kvNew", 16);
            Checks.requireAligned(kvCache, "kvCache", 16);
            Checks.requireAligned(slotMapping, "slotMapping", 4);
            throw disagree("MlaKvCache.write");
        }
        if (stream.isClosed() || !onDevice(kvNew, stream) || !onDevice(slotMapping, stream) || !onDevice(kvCache, stream)) {
            Checks.requireSameDevice(stream, kvNew, slotMapping, kvCache);
            throw disagree("MlaKvCache.write");
        }
        return hKV;
    }

    // ---- the allocation-free predicates (each mirrors the full checks above, rule by rule) ----

    static boolean scheduleOk(DeviceTensor cacheSeqlens, int pageSize, int maxBlocksPerSeq, int sms, int fixedSplits,
            DeviceTensor scheduleBuffer) {
        if (!passes(cacheSeqlens, DType.INT32, 1, -1, -1, -1, -1, 4) || !open(scheduleBuffer)) return false;
        long batch = cacheSeqlens.dim(0);
        if (!intDimOk(batch) || !pageSizeOk(pageSize) || maxBlocksPerSeq <= 0
                || (long) maxBlocksPerSeq * pageSize > MAX_KEYS) return false;
        long mw = maxWork(batch, sms, fixedSplits);
        return mw >= 0 && passes(scheduleBuffer, DType.INT32, 1, -1, -1, -1, -1, 16)
                && scheduleBuffer.dim(0) >= 4 * mw + 2 * batch;
    }

    /** hKV, or -1 when a check fails. */
    static int forwardOk(DeviceTensor q, DeviceTensor kvCache, DeviceTensor blockTable, DeviceTensor cacheSeqlens,
            MlaDecode.Schedule s, float softmaxScale, DeviceTensor workspace, DeviceTensor out, DeviceTensor lse) {
        if (s == null || s.batch() > MAX_DECODE_BATCH) return -1;
        long batch = s.batch(), pageSize = s.pageSize();
        if (!passes(q, DType.BF16, 4, batch, -1, -1, HEAD_DIM, 16)) return -1;
        long sQ = q.dim(1), hQ = q.dim(2);
        if (!intDimOk(sQ) || !intDimOk(hQ) || sQ * hQ > MAX_QUERY_ROWS || kvCache == null) return -1;
        DType kvType = kvCache.dtype();
        if (kvType == DType.FP8_E4M3) {
            if (!passes(kvCache, DType.FP8_E4M3, 4, -1, pageSize, -1, FP8_ROW_BYTES, 16)) return -1;
        } else if (kvType == DType.BF16) {
            if (!passes(kvCache, DType.BF16, 4, -1, pageSize, -1, HEAD_DIM, 16)) return -1;
        } else {
            return -1;
        }
        long hKV = kvCache.dim(2);
        if (kvCache.dim(0) <= 0 || !intDimOk(hKV) || hQ % hKV != 0) return -1;
        long mTiles = (sQ * (hQ / hKV) + 31) / 32;
        if (hKV * mTiles > 65535) return -1;
        if (s.maxBlocksPerSeq() <= 0 || (long) s.maxBlocksPerSeq() * s.pageSize() > MAX_KEYS) return -1;
        if (!passes(blockTable, DType.INT32, 2, batch, s.maxBlocksPerSeq(), -1, -1, 4)
                || !passes(cacheSeqlens, DType.INT32, 1, batch, -1, -1, -1, 4)) return -1;
        if (!(softmaxScale > 0f) || Float.isInfinite(softmaxScale)) return -1;
        if (!passes(out, DType.BF16, 4, batch, sQ, hQ, V_DIM, 16) || !passes(lse, DType.FP32, 3, batch, hQ, sQ, -1, 4))
            return -1;
        long mw = maxWork(batch, s.numSms(), s.fixedSplits());
        if (mw < 0 || !open(workspace) || workspace.byteSize() < mw * sQ * hQ * (V_DIM + 1) * 4L
                || OpSupport.address(workspace) % 16 != 0) return -1;
        DeviceTensor buffer = s.buffer();
        if (!open(buffer) || buffer.dtype() != DType.INT32 || buffer.byteSize() < 4 * (4 * mw + 2 * batch)
                || OpSupport.address(buffer) % 16 != 0) return -1;
        return (int) hKV;
    }

    /** hKV, or -1 when a check fails. */
    static int writeOk(DeviceTensor kvNew, DeviceTensor slotMapping, DeviceTensor kvCache) {
        if (!passes(kvNew, DType.BF16, 3, -1, -1, HEAD_DIM, -1, 16)) return -1;
        long tokens = kvNew.dim(0), hKV = kvNew.dim(1);
        if (!intDimOk(hKV) || !passes(slotMapping, DType.INT32, 1, tokens, -1, -1, -1, 4) || kvCache == null) return -1;
        DType kvType = kvCache.dtype();
        if (kvType == DType.FP8_E4M3) {
            if (!passes(kvCache, DType.FP8_E4M3, 4, -1, -1, hKV, FP8_ROW_BYTES, 16)) return -1;
        } else if (kvType == DType.BF16) {
            if (!passes(kvCache, DType.BF16, 4, -1, -1, hKV, HEAD_DIM, 16)) return -1;
        } else {
            return -1;
        }
        return kvCache.dim(0) > 0 && pageSizeOk(kvCache.dim(1)) ? (int) hKV : -1;
    }

    /** {@link MlaShapes#maxWork} without the exception: the work-item count, or -1 when the plan is invalid. */
    private static long maxWork(long batch, long numSms, long fixedSplits) {
        if (batch <= 0 || numSms <= 0 || fixedSplits < 0 || fixedSplits > MAX_FIXED_SPLITS) return -1;
        long mw = fixedSplits > 0 ? batch * fixedSplits : batch + numSms;
        return mw > MAX_WORK ? -1 : mw;
    }

    private static boolean intDimOk(long v) {
        return v > 0 && v <= Integer.MAX_VALUE;
    }

    private static boolean pageSizeOk(long pageSize) {
        return pageSize > 0 && pageSize % 16 == 0 && pageSize <= Integer.MAX_VALUE;
    }

    private static boolean open(DeviceTensor t) {
        return t != null && !t.isClosed();
    }

    /**
     * {@code t} is non-null, open, of {@code dtype} and {@code rank} (at most 4; later dims ignored),
     * matches the shape ({@code -1}, or any negative size, matches any size, as in
     * {@link MlaShapes#tensor}) and its address is a multiple of {@code align}.
     */
    static boolean passes(DeviceTensor t, DType dtype, int rank, long d0, long d1, long d2, long d3, int align) {
        if (!open(t) || t.dtype() != dtype || t.rank() != rank) return false;
        if (rank > 0 && d0 >= 0 && t.dim(0) != d0) return false;
        if (rank > 1 && d1 >= 0 && t.dim(1) != d1) return false;
        if (rank > 2 && d2 >= 0 && t.dim(2) != d2) return false;
        if (rank > 3 && d3 >= 0 && t.dim(3) != d3) return false;
        return OpSupport.address(t) % align == 0;
    }

    private static boolean onDevice(DeviceTensor t, Stream stream) {
        return t == null || t.device() == stream.device();
    }

    private static IllegalStateException disagree(String op) {
        return new IllegalStateException(op + ": internal error: the fast argument check rejected arguments that the full check accepts");
    }
}
