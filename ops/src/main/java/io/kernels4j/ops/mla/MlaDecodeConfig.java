package io.kernels4j.ops.mla;

/**
 * The sizes of an MLA decode step ({@link MlaDecodeStep}): everything its schedule buffer and
 * workspace depend on.
 *
 * @param batch           requests per step, in [1, 65535]
 * @param sQ              query tokens per request (1 for plain decode, more with speculative tokens)
 * @param hQ              query heads (DeepSeek-V3: 128, or 128 / tensor-parallel degree)
 * @param hKV             latent KV heads of the cache (DeepSeek-V3: 1); {@code hQ % hKV == 0}
 * @param pageSize        tokens per cache page, a multiple of 16 (FlashMLA: 64)
 * @param maxBlocksPerSeq block-table columns; {@code maxBlocksPerSeq * pageSize <= 2^30}
 * @param cacheFormat     {@link CacheFormat#BF16} (576 values a row) or {@link CacheFormat#FP8} (656-byte rows,
 *                        see {@link MlaKvCache})
 * @param fixedSplits     0: split-KV balanced over the SMs (auto); in [1, 64]: that many splits per request
 *                        (batch-invariant results)
 * @param numSms          SMs the auto schedule balances over; 0 takes the device's count
 */
public record MlaDecodeConfig(int batch, int sQ, int hQ, int hKV, int pageSize, int maxBlocksPerSeq, CacheFormat cacheFormat,
        int fixedSplits, int numSms) {

    /** Layout of the paged latent cache. */
    public enum CacheFormat {
        /** BF16 {@code [numBlocks, pageSize, hKV, 576]}. */
        BF16,
        /** FP8 rows of 656 bytes {@code [numBlocks, pageSize, hKV, 656]} (FlashMLA's FP8 cache). */
        FP8
    }

    /** Checks every size; messages name the component. */
    public MlaDecodeConfig {
        if (batch < 1 || batch > MlaShapes.MAX_DECODE_BATCH)
            throw new IllegalArgumentException("batch: must be in [1, " + MlaShapes.MAX_DECODE_BATCH + "], got " + batch);
        MlaShapes.positive(sQ, "sQ");
        MlaShapes.positive(hQ, "hQ");
        MlaShapes.positive(hKV, "hKV");
        if (hQ % hKV != 0) throw new IllegalArgumentException("hQ: must be a multiple of hKV = " + hKV + ", got " + hQ);
        if ((long) sQ * hQ > MlaShapes.MAX_QUERY_ROWS)
            throw new IllegalArgumentException("sQ: sQ * hQ must be <= 2^20, got " + sQ + " * " + hQ);
        MlaShapes.pageSize(pageSize);
        MlaShapes.positive(maxBlocksPerSeq, "maxBlocksPerSeq");
        if ((long) maxBlocksPerSeq * pageSize > MlaShapes.MAX_KEYS)
            throw new IllegalArgumentException("maxBlocksPerSeq: maxBlocksPerSeq * pageSize must be <= 2^30, got "
                    + maxBlocksPerSeq + " * " + pageSize);
        if (cacheFormat == null) throw new IllegalArgumentException("cacheFormat: must not be null");
        if (fixedSplits < 0 || fixedSplits > MlaShapes.MAX_FIXED_SPLITS)
            throw new IllegalArgumentException("fixedSplits: must be in [0, " + MlaShapes.MAX_FIXED_SPLITS + "] (0 = auto), got "
                    + fixedSplits);
        if (numSms < 0) throw new IllegalArgumentException("numSms: must be >= 0 (0 = the device's), got " + numSms);
    }

    /**
     * A config with auto splits balanced over the device's SMs.
     *
     * @param batch           requests per step
     * @param sQ              query tokens per request
     * @param hQ              query heads
     * @param hKV             latent KV heads
     * @param pageSize        tokens per cache page
     * @param maxBlocksPerSeq block-table columns
     * @param cacheFormat     cache layout
     * @return the config
     */
    public static MlaDecodeConfig of(int batch, int sQ, int hQ, int hKV, int pageSize, int maxBlocksPerSeq, CacheFormat cacheFormat) {
        return new MlaDecodeConfig(batch, sQ, hQ, hKV, pageSize, maxBlocksPerSeq, cacheFormat, 0, 0);
    }

    /**
     * INT32 entries of the schedule buffer.
     *
     * @param sms SMs the schedule balances over
     * @return the entry count
     */
    public long scheduleInts(int sms) {
        return MlaShapes.scheduleInts(batch, sms, fixedSplits);
    }

    /**
     * Workspace bytes of the decode.
     *
     * @param sms SMs the schedule balances over
     * @return the byte count
     */
    public long workspaceBytes(int sms) {
        return MlaShapes.workspaceBytes(batch, sQ, hQ, sms, fixedSplits);
    }
}
