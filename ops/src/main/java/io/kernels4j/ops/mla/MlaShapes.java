package io.kernels4j.ops.mla;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import java.util.Arrays;

/**
 * The host-side argument checks and size arithmetic of the MLA ops as pure functions on shapes and
 * dtypes, so they can be tested without a GPU. Every failure is an {@link IllegalArgumentException}
 * whose message starts with the argument's name and gives the expected and the actual value.
 */
public final class MlaShapes {
    /** Width of a query/key row: 512 latent + 64 RoPE values. */
    public static final int HEAD_DIM = 576;
    /** Width of a value (output) row. */
    public static final int V_DIM = 512;
    /** Bytes of one FP8 cache row. */
    public static final int FP8_ROW_BYTES = 656;
    /** Largest {@code fixedSplits} of a schedule. */
    public static final int MAX_FIXED_SPLITS = 64;
    /** Native limits of k4j_mla_decode (k4j_mla.h): batch (combine grid), sQ * hQ, grid.y, work items. */
    public static final int MAX_DECODE_BATCH = 65535;
    /** Largest {@code sQ * hQ}. */
    public static final long MAX_QUERY_ROWS = 1L << 20;
    /** Largest number of work items of a schedule. */
    public static final long MAX_WORK = Integer.MAX_VALUE / 4;
    /** maxBlocksPerSeq * pageSize: keeps every key index (plus a 64-key tile) inside int32 in the kernels. */
    public static final long MAX_KEYS = 1L << 30;

    private MlaShapes() {}

    /** A tensor's dtype and shape (what the checks look at). */
    record Spec(DType dtype, long... shape) {
        public Spec {
            shape = shape.clone();
        }

        static Spec of(DeviceTensor t) {
            return t == null ? null : new Spec(t.dtype(), t.shape());
        }

        long bytes() {
            long n = dtype.byteSize();
            for (long d : shape) n *= d;
            return n;
        }

        @Override
        public String toString() {
            return dtype + Arrays.toString(shape);
        }
    }

    /** Work-item capacity of a schedule: {@code b + numSms} (auto) or {@code b * fixedSplits} (fixed). */
    static long maxWork(int batch, int numSms, int fixedSplits) {
        checkPlan(batch, numSms, fixedSplits);
        long mw = fixedSplits > 0 ? (long) batch * fixedSplits : (long) batch + numSms;
        if (mw > MAX_WORK)
            throw new IllegalArgumentException("batch: " + mw + " work items (batch " + batch + ", numSms " + numSms
                    + ", fixedSplits " + fixedSplits + ") exceed the int32 schedule's " + MAX_WORK);
        return mw;
    }

    /** INT32 entries of a schedule buffer: {@code 4 * maxWork + 2 * batch}. */
    static long scheduleInts(int batch, int numSms, int fixedSplits) {
        return 4 * maxWork(batch, numSms, fixedSplits) + 2L * batch;
    }

    /** Workspace bytes: {@code maxWork * sQ * hQ * (512 + 1) * 4} (FP32 partial out and lse per split). */
    static long workspaceBytes(int batch, int sQ, int hQ, int numSms, int fixedSplits) {
        positive(sQ, "sQ");
        positive(hQ, "hQ");
        if ((long) sQ * hQ > MAX_QUERY_ROWS)
            throw new IllegalArgumentException("sQ: sQ * hQ must be <= 2^20, got " + sQ + " * " + hQ);
        return maxWork(batch, numSms, fixedSplits) * sQ * hQ * (V_DIM + 1) * 4L;
    }

    static void checkPlan(int batch, int numSms, int fixedSplits) {
        positive(batch, "batch");
        positive(numSms, "numSms");
        if (fixedSplits < 0 || fixedSplits > MAX_FIXED_SPLITS)
            throw new IllegalArgumentException("fixedSplits: must be in [0, " + MAX_FIXED_SPLITS + "] (0 = auto), got "
                    + fixedSplits);
    }

    /** Checks the schedule op's arguments. */
    static void checkSchedule(Spec cacheSeqlens, int pageSize, int maxBlocksPerSeq, int numSms, int fixedSplits,
            Spec scheduleBuffer) {
        tensor(cacheSeqlens, "cacheSeqlens", DType.INT32, -1);
        int batch = intDim(cacheSeqlens.shape()[0], "cacheSeqlens.shape[0] (batch)");
        checkPlan(batch, numSms, fixedSplits);
        pageSize(pageSize);
        positive(maxBlocksPerSeq, "maxBlocksPerSeq");
        if ((long) maxBlocksPerSeq * pageSize > MAX_KEYS)
            throw new IllegalArgumentException("maxBlocksPerSeq: maxBlocksPerSeq * pageSize must be <= 2^30, got "
                    + maxBlocksPerSeq + " * " + pageSize);
        long ints = scheduleInts(batch, numSms, fixedSplits);
        tensor(scheduleBuffer, "schedule", DType.INT32, -1);
        if (scheduleBuffer.shape()[0] < ints)
            throw new IllegalArgumentException("schedule: needs at least " + ints + " INT32 entries (batch " + batch
                    + ", numSms " + numSms + ", fixedSplits " + fixedSplits + "), got " + scheduleBuffer);
    }

    /**
     * Checks the decode's arguments. {@code kvCache} is BF16 {@code [numBlocks, pageSize, hKV, 576]} or FP8_E4M3
     * {@code [numBlocks, pageSize, hKV, 656]} (raw 656-byte rows). Returns the number of KV heads.
     */
    static int checkForward(Spec q, Spec kvCache, Spec blockTable, Spec cacheSeqlens, MlaDecode.Schedule s,
            float softmaxScale, Spec workspace, Spec out, Spec lse) {
        if (s == null) throw new IllegalArgumentException("schedule: must not be null");
        if (s.batch() > MAX_DECODE_BATCH)
            throw new IllegalArgumentException("schedule.batch: must be <= " + MAX_DECODE_BATCH + ", got " + s.batch());
        tensor(q, "q", DType.BF16, s.batch(), -1, -1, HEAD_DIM);
        int sQ = intDim(q.shape()[1], "q.shape[1] (sQ)"), hQ = intDim(q.shape()[2], "q.shape[2] (hQ)");
        if ((long) sQ * hQ > MAX_QUERY_ROWS)
            throw new IllegalArgumentException("q: sQ * hQ must be <= 2^20, got " + sQ + " * " + hQ + " (" + q + ")");
        if (kvCache == null) throw new IllegalArgumentException("kvCache: must not be null");
        if (kvCache.dtype() == DType.FP8_E4M3) tensor(kvCache, "kvCache", DType.FP8_E4M3, -1, s.pageSize(), -1, FP8_ROW_BYTES);
        else if (kvCache.dtype() == DType.BF16) tensor(kvCache, "kvCache", DType.BF16, -1, s.pageSize(), -1, HEAD_DIM);
        else throw new IllegalArgumentException("kvCache: expected BF16[*, " + s.pageSize() + ", *, 576] or FP8_E4M3[*, "
                + s.pageSize() + ", *, 656], got " + kvCache);
        positive(kvCache.shape()[0], "kvCache.shape[0] (numBlocks)");
        int hKV = intDim(kvCache.shape()[2], "kvCache.shape[2] (hKV)");
        if (hQ % hKV != 0)
            throw new IllegalArgumentException("q: hQ = " + hQ + " must be a multiple of hKV = " + hKV + " (kvCache "
                    + kvCache + ")");
        long mTiles = ((long) sQ * (hQ / hKV) + 31) / 32;
        if (hKV * mTiles > 65535)
            throw new IllegalArgumentException("q: hKV * ceil(sQ * hQ / hKV / 32) must be <= 65535, got " + hKV * mTiles
                    + " (q " + q + ", kvCache " + kvCache + ")");
        if (s.maxBlocksPerSeq() <= 0 || (long) s.maxBlocksPerSeq() * s.pageSize() > MAX_KEYS)
            throw new IllegalArgumentException("schedule.maxBlocksPerSeq: must be >= 1 with maxBlocksPerSeq * pageSize <= 2^30, got "
                    + s.maxBlocksPerSeq() + " * " + s.pageSize());
        tensor(blockTable, "blockTable", DType.INT32, s.batch(), s.maxBlocksPerSeq());
        tensor(cacheSeqlens, "cacheSeqlens", DType.INT32, s.batch());
        if (!(softmaxScale > 0f) || Float.isInfinite(softmaxScale))
            throw new IllegalArgumentException("softmaxScale: must be finite and > 0, got " + softmaxScale);
        tensor(out, "out", DType.BF16, s.batch(), sQ, hQ, V_DIM);
        tensor(lse, "lse", DType.FP32, s.batch(), hQ, sQ);
        long need = workspaceBytes(s.batch(), sQ, hQ, s.numSms(), s.fixedSplits());
        if (workspace == null) throw new IllegalArgumentException("workspace: must not be null (needs " + need + " bytes)");
        if (workspace.bytes() < need)
            throw new IllegalArgumentException("workspace: needs at least " + need + " bytes, got " + workspace.bytes()
                    + " (" + workspace + ")");
        return hKV;
    }

    /** Checks {@link MlaDecode#plan}'s arguments (as {@link #checkForward} checks q and the cache); returns hKV. */
    static int checkPlan(Spec q, Spec kvCache) {
        tensor(q, "q", DType.BF16, -1, -1, -1, HEAD_DIM);
        int sQ = intDim(q.shape()[1], "q.shape[1] (sQ)"), hQ = intDim(q.shape()[2], "q.shape[2] (hQ)");
        if ((long) sQ * hQ > MAX_QUERY_ROWS)
            throw new IllegalArgumentException("q: sQ * hQ must be <= 2^20, got " + sQ + " * " + hQ + " (" + q + ")");
        if (kvCache == null) throw new IllegalArgumentException("kvCache: must not be null");
        if (kvCache.dtype() == DType.FP8_E4M3) tensor(kvCache, "kvCache", DType.FP8_E4M3, -1, -1, -1, FP8_ROW_BYTES);
        else if (kvCache.dtype() == DType.BF16) tensor(kvCache, "kvCache", DType.BF16, -1, -1, -1, HEAD_DIM);
        else throw new IllegalArgumentException("kvCache: expected BF16[*, *, *, 576] or FP8_E4M3[*, *, *, 656], got " + kvCache);
        positive(kvCache.shape()[0], "kvCache.shape[0] (numBlocks)");
        pageSize(kvCache.shape()[1]);
        int hKV = intDim(kvCache.shape()[2], "kvCache.shape[2] (hKV)");
        if (hQ % hKV != 0)
            throw new IllegalArgumentException("q: hQ = " + hQ + " must be a multiple of hKV = " + hKV + " (kvCache "
                    + kvCache + ")");
        return hKV;
    }

    /** Checks the cache write's arguments; returns hKV. */
    static int checkKvCacheWrite(Spec kvNew, Spec slotMapping, Spec kvCache) {
        tensor(kvNew, "kvNew", DType.BF16, -1, -1, HEAD_DIM);
        long tokens = kvNew.shape()[0];
        int hKV = intDim(kvNew.shape()[1], "kvNew.shape[1] (hKV)");
        tensor(slotMapping, "slotMapping", DType.INT32, tokens);
        if (kvCache == null) throw new IllegalArgumentException("kvCache: must not be null");
        if (kvCache.dtype() == DType.FP8_E4M3) tensor(kvCache, "kvCache", DType.FP8_E4M3, -1, -1, hKV, FP8_ROW_BYTES);
        else if (kvCache.dtype() == DType.BF16) tensor(kvCache, "kvCache", DType.BF16, -1, -1, hKV, HEAD_DIM);
        else throw new IllegalArgumentException("kvCache: expected BF16[*, *, " + hKV + ", 576] or FP8_E4M3[*, *, "
                + hKV + ", 656], got " + kvCache);
        positive(kvCache.shape()[0], "kvCache.shape[0] (numBlocks)");
        pageSize(kvCache.shape()[1]);
        return hKV;
    }

    static void pageSize(long pageSize) {
        if (pageSize <= 0 || pageSize % 16 != 0 || pageSize > Integer.MAX_VALUE)
            throw new IllegalArgumentException("pageSize: must be a positive multiple of 16 below 2^31, got " + pageSize);
    }

    /** A dimension the native call takes as int: in [1, 2^31 - 1] (no silent truncation of 2^32 + k to k). */
    static int intDim(long v, String name) {
        if (v <= 0 || v > Integer.MAX_VALUE)
            throw new IllegalArgumentException(name + ": must be in [1, 2^31 - 1], got " + v);
        return (int) v;
    }

    static void positive(long v, String name) {
        if (v <= 0) throw new IllegalArgumentException(name + ": must be > 0, got " + v);
    }

    /** dtype and shape check; -1 matches any size. */
    static void tensor(Spec t, String name, DType dtype, long... shape) {
        if (t == null) throw new IllegalArgumentException(name + ": must not be null");
        boolean ok = t.dtype() == dtype && t.shape().length == shape.length;
        for (int i = 0; ok && i < shape.length; i++) ok = shape[i] < 0 || shape[i] == t.shape()[i];
        if (!ok) {
            StringBuilder sb = new StringBuilder(dtype.toString()).append('[');
            for (int i = 0; i < shape.length; i++) sb.append(i > 0 ? ", " : "").append(shape[i] < 0 ? "*" : Long.toString(shape[i]));
            throw new IllegalArgumentException(name + ": expected " + sb.append(']') + ", got " + t);
        }
    }
}
