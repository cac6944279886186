package io.kernels4j.ops.robustness;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kernels4j.ops.CudaException;
import io.kernels4j.ops.CudaGraph;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Event;
import io.kernels4j.ops.PinnedBuffer;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.OpSupport;
import io.kernels4j.ops.testing.GpuTestSupport;
import io.kernels4j.ops.testing.RequiresGpu;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Misuse of real handles on a GPU: every misuse is a clear exception, the device stays healthy and
 * no memory outside the misused object changes (checked with a canary tensor).
 */
@RequiresGpu
class GpuHandleMisuseTest {
    private static final int CANARY = 0x5A5A5A5A;

    /** Elements each worker fills per launch (fewer on the emulator: the races, not the bandwidth, matter). */
    private static int fill() {
        return GpuTestSupport.scaled(1 << 18, 1 << 12);
    }

    private static Device dev() {
        return GpuTestSupport.device();
    }

    /** A tensor filled with {@link #CANARY}, to prove that misuse wrote nothing outside its object. */
    private static DeviceTensor canary(Stream s) {
        DeviceTensor c = DeviceTensor.allocate(dev(), DType.INT32, 1 << 16);
        c.fill(CANARY, s);
        return c;
    }

    private static void assertCanary(DeviceTensor c, Stream s) {
        s.synchronize();
        int[] v = c.toIntArray();
        for (int i = 0; i < v.length; i++) if (v[i] != CANARY) fail("canary overwritten at " + i + ": 0x" + Integer.toHexString(v[i]));
    }

    /** The device still works: allocate, fill, read back. */
    private static void assertHealthy() {
        try (Stream s = Stream.create(dev()); DeviceTensor t = DeviceTensor.allocate(dev(), DType.INT32, 4096)) {
            t.fill(0x01020304, s);
            s.synchronize();
            int[] v = t.toIntArray();
            assertTrue(Arrays.stream(v).allMatch(x -> x == 0x01020304), "device unhealthy after misuse");
            assertEquals(0, s.deviceErrors());
        }
    }

    @Test
    void tensorAndViewsAfterClose() {
        Stream s = GpuTestSupport.stream();
        try (DeviceTensor c = canary(s)) {
            DeviceTensor t = DeviceTensor.allocate(dev(), DType.BF16, 64, 128);
            DeviceTensor slice = t.slice(8, 16);
            DeviceTensor view = t.view(DType.FP32, 64, 64);
            t.fill(0x3F80, s);
            t.close();
            t.close(); // documented no-op
            assertThrows(IllegalStateException.class, () -> t.fill(0, s));
            assertThrows(IllegalStateException.class, () -> slice.fill(0, s));
            assertThrows(IllegalStateException.class, () -> view.fill(0, s));
            assertThrows(IllegalStateException.class, t::toShortArray);
            assertThrows(IllegalStateException.class, () -> slice.copyFrom(new short[8 * 128]));
            assertThrows(IllegalStateException.class, () -> view.copyFrom(c.slice(0, 64 * 64), s));
            assertCanary(c, s);
        }
        assertHealthy();
    }

    @Test
    void streamEventPinnedAndGraphAfterClose() {
        Stream s = Stream.create(dev());
        DeviceTensor t = DeviceTensor.allocate(dev(), DType.INT32, 1024);
        Event e = Event.create();
        PinnedBuffer p = PinnedBuffer.allocate(4096);
        MemorySegment seg = p.segment();
        CudaGraph g = CudaGraph.capture(s, () -> t.fill(7, s));
        g.launch(s);
        s.synchronize();

        g.close();
        g.close();
        assertThrows(IllegalStateException.class, () -> g.launch(s));
        p.close();
        p.close();
        assertThrows(IllegalStateException.class, p::segment);
        assertThrows(IllegalStateException.class, () -> seg.get(JAVA_BYTE, 0), "segment usable after its buffer was freed");
        assertThrows(IllegalStateException.class, () -> t.copyFromHost(seg, s));
        e.close();
        e.close();
        assertThrows(IllegalStateException.class, () -> e.record(GpuTestSupport.stream()));
        assertThrows(IllegalStateException.class, e::synchronize);
        assertThrows(IllegalStateException.class, () -> GpuTestSupport.stream().waitEvent(e));
        s.close();
        s.close();
        assertThrows(IllegalArgumentException.class, () -> t.fill(0, s));
        assertThrows(IllegalStateException.class, s::synchronize);
        assertThrows(IllegalStateException.class, s::deviceErrors);
        assertThrows(IllegalStateException.class, () -> OpSupport.handle(s));
        try (Event e2 = Event.create()) {
            assertThrows(IllegalStateException.class, () -> e2.record(s));
        }
        t.close();
        assertHealthy();
    }

    @Test
    void failedAllocationDoesNotPoisonTheNextLaunch() {
        CudaException e = assertThrows(CudaException.class, () -> DeviceTensor.allocate(dev(), DType.FP32, 1L << 46));
        assertEquals("cudaErrorMemoryAllocation", e.errorName());
        assertHealthy(); // the fill's launch check must not report the stale allocation error
    }

    @Test
    void closingAStreamWhileOtherThreadsLaunchOnIt() throws Exception {
        for (int round = 0; round < 20; round++) {
            Stream s = Stream.create(dev());
            List<DeviceTensor> ts = new ArrayList<>();
            for (int i = 0; i < 4; i++) ts.add(DeviceTensor.allocate(dev(), DType.INT32, fill()));
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            List<Thread> workers = new ArrayList<>();
            for (DeviceTensor t : ts) {
                Thread w = new Thread(() -> {
                    try {
                        for (int it = 0; ; it++) t.fill(it, s);
                    } catch (IllegalStateException | IllegalArgumentException closed) {
                        // the stream was closed: refused before launching
                    } catch (Throwable x) {
                        unexpected.compareAndSet(null, x);
                    }
                });
                workers.add(w);
                w.start();
            }
            Thread.sleep(2 + round % 5);
            s.close();
            for (Thread w : workers) w.join(30_000);
            for (Thread w : workers) assertFalse(w.isAlive());
            if (unexpected.get() != null) fail(unexpected.get());
            for (DeviceTensor t : ts) t.close();
        }
        assertHealthy();
    }

    @Test
    void closingATensorWhileOtherThreadsWriteIt() throws Exception {
        Stream shared = GpuTestSupport.stream();
        try (DeviceTensor c = canary(shared)) {
            for (int round = 0; round < 20; round++) {
                DeviceTensor t = DeviceTensor.allocate(dev(), DType.INT32, 4L * fill());
                AtomicReference<Throwable> unexpected = new AtomicReference<>();
                List<Thread> workers = new ArrayList<>();
                List<Stream> streams = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    Stream s = Stream.create(dev());
                    streams.add(s);
                    DeviceTensor part = t.slice(i * (long) fill(), (i + 1) * (long) fill());
                    Thread w = new Thread(() -> {
                        try {
                            for (int it = 0; ; it++) part.fill(it, s);
                        } catch (IllegalStateException closed) {
                            // the tensor was closed: refused before launching
                        } catch (Throwable x) {
                            unexpected.compareAndSet(null, x);
                        }
                    });
                    workers.add(w);
                    w.start();
                }
                Thread.sleep(2 + round % 5);
                t.close();
                // Freed memory may be handed out again at once: fill the new tensor now, and check
                // after every worker stream drained that no late kernel of theirs wrote into it.
                DeviceTensor reuse = DeviceTensor.allocate(dev(), DType.INT32, 4L * fill());
                reuse.fill(0x11111111, shared);
                shared.synchronize();
                for (Thread w : workers) w.join(30_000);
                for (Thread w : workers) assertFalse(w.isAlive());
                if (unexpected.get() != null) fail(unexpected.get());
                for (Stream s : streams) s.close();
                int[] v = reuse.toIntArray();
                for (int i = 0; i < v.length; i++)
                    if (v[i] != 0x11111111) fail("round " + round + ": a kernel on the closed tensor wrote into reused memory at " + i);
                reuse.close();
            }
            assertCanary(c, shared);
        }
        assertHealthy();
    }

    @Test
    void tensorOnAnotherDeviceThanTheStream() {
        assumeTrue(Device.count() >= 2, "needs two GPUs");
        try (Stream s0 = Stream.create(Device.get(0)); DeviceTensor t1 = DeviceTensor.allocate(Device.get(1), DType.INT32, 16)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t1.fill(0, s0));
            assertTrue(e.getMessage().contains("cuda:1") && e.getMessage().contains("cuda:0"), e.getMessage());
        }
    }
}
