package io.kernels4j.ops.mla;

import io.kernels4j.bindings.MlaNative;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.Checks;
import io.kernels4j.ops.internal.OpSupport;
import io.kernels4j.ops.internal.Status;

/**
 * Writes new latent rows into the paged MLA cache used by {@link MlaDecode}.
 *
 * <p>{@code kvNew} BF16 {@code [numTokens, hKV, 576]}; {@code slotMapping} INT32 {@code [numTokens]}
 * (slot = page * pageSize + offset within the page; -1 skips the token); {@code kvCache} BF16
 * {@code [numBlocks, pageSize, hKV, 576]} (rows copied) or FP8_E4M3 {@code [numBlocks, pageSize, hKV, 656]}
 * (656-byte rows: bytes [0, 512) the e4m3 values 0..511, [512, 528) four FP32 scales, scale g for values
 * [128g, 128g + 128), [528, 656) the 64 BF16 RoPE values 512..575 copied unchanged). FP8 quantisation per
 * 128-value group: amax clamped below at 1e-4, scale = 2^ceil(log2(amax / 448)), q = e4m3 (round to nearest
 * even, saturating) of x / scale. Slots outside {@code [0, numBlocks * pageSize)} other than -1 are skipped and
 * raise INDEX_OUT_OF_RANGE on the device.
 *
 * <p>Thread-safety: the methods are stateless and may be called from any number of threads at once.
 * Calls on one {@link io.kernels4j.ops.Stream} run on the GPU in the order they were made; calls on
 * different streams run concurrently, so a tensor one of them writes must not be read or written by
 * another until an {@link io.kernels4j.ops.Event} (or a synchronisation) orders them. Closing a tensor
 * or stream while another thread's call uses it is safe: that call either fails with
 * {@link IllegalStateException} before launching, or launches and the memory is released when it
 * ends. A call allocates nothing on the Java heap unless its argument checks throw.
 */
public final class MlaKvCache {
    private MlaKvCache() {}

    /**
     * Writes {@code kvNew} into the cache slots named by {@code slotMapping} (see the class doc).
     *
     * @param kvNew BF16 {@code [numTokens, hKV, 576]}
     * @param slotMapping INT32 {@code [numTokens]}: page * pageSize + offset, or -1 to skip
     * @param kvCache BF16 {@code [numBlocks, pageSize, hKV, 576]} or FP8_E4M3 {@code [numBlocks, pageSize, hKV, 656]}, written
     * @param stream the stream the op is queued on (asynchronous; the tensors must be on its device)
     */
    public static void write(DeviceTensor kvNew, DeviceTensor slotMapping, DeviceTensor kvCache, Stream stream) {
        Checks.requireNonNull(stream, "stream");
        int hKV = MlaArgs.checkWrite(kvNew, slotMapping, kvCache, stream);
        int kvType = kvCache.dtype() == DType.FP8_E4M3 ? DType.FP8_E4M3.code() : DType.BF16.code();
        OpSupport.activate(stream);
        int rc;
        try {
            rc = (int) MlaNative.k4j_mla_kv_cache_write.invokeExact(OpSupport.address(kvNew), kvNew.dim(0), (long) hKV,
                    OpSupport.address(slotMapping), 4, OpSupport.address(kvCache), kvType, kvCache.dim(0), (int) kvCache.dim(1),
                    OpSupport.errorFlagAddress(stream), OpSupport.handle(stream));
        } catch (Throwable t) {
            throw MlaDecode.rethrow(t);
        }
        Status.check(rc, "MlaKvCache.write");
        OpSupport.afterOp(stream, "MlaKvCache.write");
    }
}
