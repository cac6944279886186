package io.kernels4j.bench;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.host.E4m3;
import io.kernels4j.validation.RandomTensors;

/**
 * Fills large device tensors with random, non-zero, finite values without building them on the host
 * whole: one random tile (at most {@value #TILE_BYTES} bytes) is drawn, uploaded and copied device to
 * device across the tensor. Benchmarks time on such data, never on zeros or constants (docs/CONTRACT.md section 0,
 * METHOD: constant operands can run faster than real ones).
 */
public final class RandomFill {
    static final int TILE_BYTES = 16 << 20;

    private RandomFill() {}

    /** FP8 e4m3 codes of N(0, 1) values (never NaN); BF16 N(0, 1); FP32 uniform in [lo, hi). */
    public static void fill(DeviceTensor t, long seed, double fp32Lo, double fp32Hi, Stream stream) {
        long bytes = t.byteSize();
        if (bytes == 0) return;
        int tileBytes = (int) Math.min(bytes, TILE_BYTES);
        int elems = tileBytes / t.dtype().byteSize();
        try (DeviceTensor tile = DeviceTensor.allocate(t.device(), t.dtype(), elems)) {
            switch (t.dtype()) {
                case FP8_E4M3 -> tile.copyFrom(E4m3.encode(RandomTensors.normal(seed, elems, 1.0)));
                case BF16 -> tile.copyFrom(RandomTensors.normalBf16(seed, elems, 1.0));
                case FP32 -> tile.copyFrom(RandomTensors.uniform(seed, elems, fp32Lo, fp32Hi));
                case INT32 -> tile.copyFrom(RandomTensors.uniformInts(seed, elems, 1, 1 << 20));
                case INT64 -> tile.copyFrom(java.util.Arrays.stream(RandomTensors.uniformInts(seed, elems, 1, 1 << 20)).asLongStream().toArray());
            }
            DeviceTensor flat = t.view(DType.FP8_E4M3, bytes);
            DeviceTensor src = tile.view(DType.FP8_E4M3, (long) elems * t.dtype().byteSize());
            long step = src.byteSize();
            for (long off = 0; off < bytes; off += step) {
                long len = Math.min(step, bytes - off);
                flat.slice(off, off + len).copyFrom(len == step ? src : src.slice(0, len), stream);
            }
            stream.synchronize(); // the tile is freed on return
        }
    }
}
