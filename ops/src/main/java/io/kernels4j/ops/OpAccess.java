package io.kernels4j.ops;

import io.kernels4j.ops.internal.OpSupport;
import java.lang.foreign.MemorySegment;

/** The package-private side of {@link OpSupport}: installed by {@link Stream}'s static initialiser. */
final class OpAccess implements OpSupport.Access {
    @Override
    public void activate(Stream stream) {
        stream.activate();
    }

    @Override
    public void afterOp(Stream stream, String op) {
        stream.afterOp(op);
    }

    @Override
    public MemorySegment handle(Stream stream) {
        return stream.handle();
    }

    @Override
    public long errorFlagAddress(Stream stream) {
        return stream.errorFlagAddress();
    }

    @Override
    public long address(DeviceTensor tensor) {
        return tensor.address();
    }

    @Override
    public void endOp() {
        InFlight.end();
    }

    @Override
    public boolean isSimulated(Device device) {
        return device.isSimulated();
    }
}
