package io.kernels4j.ops.robustness;

import static org.junit.jupiter.api.Assertions.*;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Simulated;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.Checks;
import io.kernels4j.ops.internal.OpSupport;
import io.kernels4j.ops.internal.Status;
import java.lang.foreign.Arena;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Misuse of handles, Java side, without a GPU (simulated devices: nothing reaches CUDA). Every
 * misuse is a clear exception or a documented no-op. The same misuse on real handles, where the
 * native side is involved, is in {@code GpuHandleMisuseTest}.
 */
class HandleMisuseTest {
    private final Device dev = Simulated.device(0);
    private final Stream stream = Simulated.stream(dev);

    @AfterEach
    void noOpLeftOpen() {
        assertFalse(Simulated.inOp(), "a test left this thread inside an op");
    }

    @Test
    void closedTensorThrowsOnUse() {
        DeviceTensor t = Simulated.tensor(dev, DType.BF16, 4, 8);
        long addr = OpSupport.address(t);
        t.close();
        assertTrue(t.isClosed());
        assertTrue(Simulated.memoryReleased(t));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> OpSupport.address(t));
        assertTrue(e.getMessage().contains("used after close"), e.getMessage());
        assertTrue(t.toString().contains("(closed)"), t.toString());
        IllegalArgumentException a = assertThrows(IllegalArgumentException.class,
                () -> Checks.requireTensor(t, "x", DType.BF16, 4, 8));
        assertTrue(a.getMessage().startsWith("x: "), a.getMessage());
        assertThrows(IllegalStateException.class, () -> t.view(DType.FP32, 16));
        assertThrows(IllegalStateException.class, () -> t.slice(0, 1));
        assertNotEquals(0, addr);
    }

    @Test
    void viewsOutlivingTheirOwnerThrow() {
        DeviceTensor owner = Simulated.tensor(dev, DType.FP32, 6, 4);
        DeviceTensor view = owner.view(DType.BF16, 6, 8);
        DeviceTensor slice = owner.slice(2, 5);
        DeviceTensor reshaped = slice.reshape(12);
        assertEquals(OpSupport.address(owner) + 2 * 4 * 4, OpSupport.address(slice));
        assertFalse(view.isOwner());
        owner.close();
        for (DeviceTensor v : new DeviceTensor[] {view, slice, reshaped}) {
            assertTrue(v.isClosed(), v.toString());
            assertThrows(IllegalStateException.class, () -> OpSupport.address(v));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Checks.requireTensor(v, "kv", v.dtype(), v.shape()));
            assertTrue(e.getMessage().startsWith("kv: ") && e.getMessage().contains("closed"), e.getMessage());
        }
        // A view that is closed does nothing, and never closes its owner.
        DeviceTensor owner2 = Simulated.tensor(dev, DType.INT32, 10);
        DeviceTensor v2 = owner2.slice(1, 3);
        v2.close();
        v2.close();
        assertFalse(owner2.isClosed());
        assertFalse(v2.isClosed());
        owner2.close();
    }

    @Test
    void doubleCloseIsANoOp() {
        DeviceTensor t = Simulated.tensor(dev, DType.FP8_E4M3, 128);
        t.close();
        assertDoesNotThrow(t::close);
        Stream s = Simulated.stream(dev);
        s.close();
        assertDoesNotThrow(s::close);
        assertTrue(s.isClosed());
        DeviceTensor wrapped = Simulated.wrap(Simulated.fakeAddress(64), dev, DType.FP32, 16);
        wrapped.close(); // wrapped memory is not ours: close is a no-op
        assertFalse(wrapped.isClosed());
    }

    @Test
    void closedStreamThrowsOnUse() {
        Stream s = Simulated.stream(dev);
        s.close();
        assertThrows(IllegalStateException.class, () -> OpSupport.activate(s));
        assertThrows(IllegalStateException.class, () -> OpSupport.handle(s));
        assertThrows(IllegalStateException.class, () -> OpSupport.errorFlagAddress(s));
        assertThrows(IllegalStateException.class, s::synchronize);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Checks.requireSameDevice(s));
        assertTrue(e.getMessage().startsWith("stream: "), e.getMessage());
        DeviceTensor t = Simulated.tensor(dev, DType.BF16, 8);
        int before = Simulated.activations(dev);
        assertThrows(IllegalArgumentException.class, () -> t.fill(0x7FC0, s));
        assertEquals(before, Simulated.activations(dev), "fill on a closed stream activated it");
        t.close();
    }

    @Test
    void nullArgumentsNameTheArgument() {
        DeviceTensor t = Simulated.tensor(dev, DType.FP32, 8);
        assertMessageStarts("stream: ", () -> t.fill(0, null));
        assertMessageStarts("src: ", () -> t.copyFrom((DeviceTensor) null, stream));
        assertMessageStarts("src: ", () -> t.copyFrom((float[]) null));
        assertMessageStarts("stream: ", () -> t.copyFrom(Simulated.tensor(dev, DType.FP32, 8), null));
        assertMessageStarts("dtype: ", () -> t.view(null, 8));
        assertMessageStarts("shape: ", () -> t.reshape((long[]) null));
        assertMessageStarts("device: ", () -> DeviceTensor.wrap(1 << 20, DType.FP32, null, 8));
        assertMessageStarts("dtype: ", () -> DeviceTensor.wrap(1 << 20, null, dev, 8));
        assertMessageStarts("device: ", () -> Stream.create(null));
        assertMessageStarts("stream: ", () -> Checks.requireSameDevice(null, t));
        t.close();
    }

    @Test
    void tensorOnAnotherDeviceThanTheStream() {
        Device dev1 = Simulated.device(1);
        DeviceTensor t1 = Simulated.tensor(dev1, DType.BF16, 16);
        DeviceTensor t0 = Simulated.tensor(dev, DType.BF16, 16);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Checks.requireSameDevice(stream, t0, null, t1));
        assertTrue(e.getMessage().contains("cuda:1") && e.getMessage().contains("cuda:0"), e.getMessage());
        int before = Simulated.activations(dev);
        assertThrows(IllegalArgumentException.class, () -> t1.fill(0, stream));
        assertThrows(IllegalArgumentException.class, () -> t0.copyFrom(t1, Simulated.stream(dev1)));
        assertEquals(before, Simulated.activations(dev));
        // A second simulated device with the same ordinal is still another device.
        Device other0 = Simulated.device(0);
        assertThrows(IllegalArgumentException.class, () -> Checks.requireSameDevice(Simulated.stream(other0), t0));
        t0.close();
        t1.close();
    }

    @Test
    void simulatedHandlesNeverReachCuda() {
        DeviceTensor t = Simulated.tensor(dev, DType.FP32, 4);
        assertThrows(IllegalStateException.class, dev::makeCurrent);
        assertThrows(IllegalStateException.class, dev::freeMemory);
        assertThrows(IllegalStateException.class, () -> t.copyFrom(new float[4]));
        assertThrows(IllegalStateException.class, t::toFloatArray);
        assertThrows(IllegalStateException.class, stream::deviceErrors);
        assertThrows(IllegalStateException.class, stream::clearDeviceErrors);
        assertInstanceOf(Simulated.Outcome.Accepted.class, Simulated.validate(stream, () -> t.fill(1, stream)));
        try (Arena a = Arena.ofConfined()) {
            assertInstanceOf(Simulated.Outcome.Accepted.class,
                    Simulated.validate(stream, () -> t.copyFromHost(a.allocate(16), stream)));
            assertInstanceOf(Simulated.Outcome.Rejected.class,
                    Simulated.validate(stream, () -> t.copyFromHost(a.allocate(15), stream)));
        }
        t.close();
    }

    @Test
    void closeFromAnotherThreadDuringAnOpIsDeferredToItsEnd() throws Exception {
        DeviceTensor t = Simulated.tensor(dev, DType.BF16, 64);
        Stream s = Simulated.stream(dev);
        OpSupport.activate(s); // an op starts on this thread...
        long addr = OpSupport.address(t); // ...and reads the address it will pass to its kernel
        CompletableFuture.runAsync(() -> {
            t.close();
            s.close();
        }).get(10, TimeUnit.SECONDS);
        assertTrue(t.isClosed());
        assertTrue(s.isClosed());
        assertFalse(Simulated.memoryReleased(t), "memory released under a running op");
        assertFalse(Simulated.streamReleased(s), "stream destroyed under a running op");
        assertEquals(1, Simulated.users(s));
        OpSupport.afterOp(s, "test op"); // the op ends: now both go
        assertTrue(Simulated.memoryReleased(t));
        assertTrue(Simulated.streamReleased(s));
        assertThrows(IllegalStateException.class, () -> OpSupport.activate(s));
        assertNotEquals(0, addr);
    }

    @Test
    void failedStatusCheckEndsTheOp() throws Exception {
        DeviceTensor t = Simulated.tensor(dev, DType.FP32, 8);
        OpSupport.activate(stream);
        OpSupport.address(t);
        CompletableFuture.runAsync(t::close).get(10, TimeUnit.SECONDS);
        assertFalse(Simulated.memoryReleased(t));
        assertThrows(IllegalArgumentException.class,
                () -> Status.check(Kernels4jNative.K4J_ERR_INVALID_ARGUMENT, "someOp"));
        assertFalse(Simulated.inOp());
        assertTrue(Simulated.memoryReleased(t));
    }

    @Test
    void addressOfAClosedTensorInsideAnOpAbortsTheOp() {
        DeviceTensor a = Simulated.tensor(dev, DType.FP32, 8);
        DeviceTensor b = Simulated.tensor(dev, DType.FP32, 8);
        b.close();
        OpSupport.activate(stream);
        OpSupport.address(a);
        assertThrows(IllegalStateException.class, () -> OpSupport.address(b));
        assertFalse(Simulated.inOp(), "the aborted op still holds its resources");
        a.close();
        assertTrue(Simulated.memoryReleased(a));
    }

    @Test
    void handleOfAStreamClosedDuringTheOpAbortsTheOpAndReleases() throws Exception {
        Device real0 = Simulated.device(0);
        Stream s = Simulated.stream(real0);
        DeviceTensor t = Simulated.tensor(real0, DType.FP32, 8);
        OpSupport.activate(s);
        OpSupport.address(t);
        CompletableFuture.runAsync(() -> {
            s.close();
            t.close();
        }).get(10, TimeUnit.SECONDS);
        assertFalse(Simulated.streamReleased(s));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> OpSupport.errorFlagAddress(s));
        assertTrue(e.getMessage().contains("after close"), e.getMessage());
        assertFalse(Simulated.inOp(), "the aborted op still holds its resources");
        assertTrue(Simulated.streamReleased(s));
        assertTrue(Simulated.memoryReleased(t));
    }

    @Test
    void nestedActivateOfTheSameStreamKeepsWhatTheOuterOpHolds() throws Exception {
        DeviceTensor t = Simulated.tensor(dev, DType.FP32, 8);
        OpSupport.activate(stream);
        OpSupport.address(t);
        OpSupport.activate(stream); // an inner op of a composite op
        CompletableFuture.runAsync(t::close).get(10, TimeUnit.SECONDS);
        assertFalse(Simulated.memoryReleased(t));
        OpSupport.afterOp(stream, "outer");
        assertTrue(Simulated.memoryReleased(t));
    }

    @Test
    void opStartedAfterCloseFailsBeforeLaunch() throws Exception {
        Stream s = Simulated.stream(dev);
        DeviceTensor t = Simulated.tensor(dev, DType.FP32, 8);
        CountDownLatch closed = new CountDownLatch(1);
        Thread closer = new Thread(() -> {
            s.close();
            closed.countDown();
        });
        closer.start();
        assertTrue(closed.await(10, TimeUnit.SECONDS));
        assertThrows(IllegalStateException.class, () -> OpSupport.activate(s));
        assertFalse(Simulated.inOp());
        assertTrue(Simulated.streamReleased(s));
        t.close();
    }

    @Test
    void aClosedScopeAllocatesNothingAndClosesWhatItIsGiven() {
        io.kernels4j.ops.Scope scope = io.kernels4j.ops.Scope.open(dev);
        scope.close();
        scope.close(); // idempotent
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> scope.allocate(DType.FP32, 16));
        assertEquals("scope is closed", e.getMessage(), "must refuse before allocating (the simulated device would throw otherwise)");
        DeviceTensor t = Simulated.tensor(dev, DType.FP32, 4);
        assertThrows(IllegalStateException.class, () -> scope.track(t));
        assertTrue(t.isClosed(), "a resource handed to a closed scope must not leak");
    }

    private static void assertMessageStarts(String prefix, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith(prefix), "expected a message starting with '" + prefix + "', got: " + e.getMessage());
    }
}
