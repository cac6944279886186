package io.kernels4j.ops;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.internal.Status;
import io.kernels4j.ops.testing.AllocationMeter;
import org.junit.jupiter.api.Test;

/**
 * The core steps every op takes around its downcall (activate the stream, read the tensors'
 * addresses, which pins them, check the status, end the op) allocate nothing on the Java heap.
 * The per-family *AllocationTest classes cover each op's checks before these steps.
 */
class OpPathAllocationTest {
    @Test
    void activateAddressesStatusAndAfterOpDoNotAllocate() {
        Device dev = Simulated.device(0);
        Stream stream = Simulated.stream(dev);
        DeviceTensor[] ts = new DeviceTensor[9];
        for (int i = 0; i < ts.length; i++) ts[i] = Simulated.tensor(dev, DType.FP32, 4, 128);
        DeviceTensor view = ts[0].slice(1, 3);
        AllocationMeter.assertNoAllocation("activate/address/Status.check/afterOp", () -> {
            stream.activate();
            long sum = view.address();
            for (DeviceTensor t : ts) sum += t.address();
            Status.check(sum == 0 ? -1 : Kernels4jNative.K4J_OK, "Op.method");
            stream.afterOp("Op.method");
        });
        assertFalse(Simulated.inOp());
        for (DeviceTensor t : ts) t.close();
    }
}
