package io.kernels4j.ops.moe;

import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.Checks;
import io.kernels4j.ops.internal.OpSupport;

/** Checks shared by the MoE ops: open tensors, one device, vector alignment. */
final class MoeOps {
    private MoeOps() {}

    static void open(Stream stream, Object... nameTensorPairs) {
        Checks.requireNonNull(stream, "stream");
        for (int i = 0; i < nameTensorPairs.length; i += 2) {
            DeviceTensor t = (DeviceTensor) nameTensorPairs[i + 1];
            if (t != null && t.isClosed())
                throw new IllegalArgumentException(nameTensorPairs[i] + ": tensor " + t + " is closed");
            if (t != null) Checks.requireSameDevice(stream, t);
        }
    }

    /**
     * The 4-byte alignment the kernels need for INT32 index and FP32 weight/scale tensors (null
     * entries are optional tensors), checked here so that a misaligned view is rejected before the
     * downcall, like every other argument error.
     */
    static void aligned4(Object... nameTensorPairs) {
        for (int i = 0; i < nameTensorPairs.length; i += 2)
            Checks.requireAligned((DeviceTensor) nameTensorPairs[i + 1], (String) nameTensorPairs[i], 4);
    }

    static long addr(DeviceTensor t) {
        return t == null ? 0L : OpSupport.address(t);
    }
}
