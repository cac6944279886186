package io.kernels4j.ops;

import static org.junit.jupiter.api.Assertions.*;

import io.kernels4j.ops.testing.GpuTestSupport;
import io.kernels4j.ops.testing.RequiresGpu;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The ops core on a real GPU: allocation, copies both ways, fill, events, graphs, scopes. */
@RequiresGpu
class CoreGpuTest {
    private final Device device = GpuTestSupport.device();

    private static float[] randomFloats(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble(-4, 4) + 0.25);
        return a;
    }

    @Test
    void deviceProperties() {
        assertFalse(device.name().isBlank());
        assertTrue(device.smCount() > 0);
        assertTrue(device.computeCapability() >= 50, "cc " + device.computeCapability());
        assertTrue(device.l2CacheBytes() > 0);
        assertTrue(device.totalMemory() > 0);
        long free = device.freeMemory();
        assertTrue(free > 0 && free <= device.totalMemory());
    }

    @Test
    void copiesRoundTripBothWays() {
        float[] host = randomFloats(GpuTestSupport.seed("copies"), 100_003);
        try (DeviceTensor t = DeviceTensor.allocate(device, DType.FP32, host.length)) {
            t.copyFrom(host);
            assertArrayEquals(host, t.toFloatArray());
        }
    }

    @Test
    void asyncCopiesWithPinnedMemoryAndEvents() {
        int n = 1 << 20;
        float[] host = randomFloats(GpuTestSupport.seed("pinned"), n);
        try (Scope scope = Scope.open(device); Stream s = Stream.create(device)) {
            DeviceTensor a = scope.allocate(DType.FP32, n);
            DeviceTensor b = scope.allocate(DType.FP32, n);
            PinnedBuffer in = scope.pinned(4L * n), out = scope.pinned(4L * n);
            MemorySegment.copy(MemorySegment.ofArray(host), 0, in.segment(), 0, 4L * n);
            try (Event start = Event.create(); Event end = Event.create()) {
                start.record(s);
                a.copyFromHost(in.segment(), s);
                b.copyFrom(a, s);
                b.copyToHost(out.segment(), s);
                end.record(s);
                float ms = start.elapsedMillis(end);
                assertTrue(ms >= 0, "elapsed " + ms);
                assertTrue(end.isDone());
            }
            for (int i = 0; i < n; i++) assertEquals(host[i], out.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i), "element " + i);
        }
    }

    @Test
    void fillWritesEveryElement() {
        try (Stream s = Stream.create(device); DeviceTensor t = DeviceTensor.allocate(device, DType.BF16, 3, 1001)) {
            t.fill(0x7FC0, s);
            s.synchronize();
            for (short v : t.toShortArray()) assertEquals((short) 0x7FC0, v);
        }
    }

    @Test
    void slicesAndViewsShareMemory() {
        int[] data = new int[64];
        for (int i = 0; i < data.length; i++) data[i] = i * 7 + 1;
        try (DeviceTensor t = DeviceTensor.allocate(device, DType.INT32, 8, 8)) {
            t.copyFrom(data);
            DeviceTensor rows = t.slice(2, 4);
            assertArrayEquals(new long[] {2, 8}, rows.shape());
            int[] got = rows.toIntArray();
            for (int i = 0; i < 16; i++) assertEquals(data[16 + i], got[i]);
            DeviceTensor bytes = t.view(DType.FP8_E4M3, 256);
            assertEquals(256, bytes.toByteArray().length);
        }
    }

    @Test
    void graphCaptureAndReplayOfAFill() {
        try (Stream s = Stream.create(device); DeviceTensor t = DeviceTensor.allocate(device, DType.INT32, 4096)) {
            t.fill(1, s);
            s.synchronize();
            try (CudaGraph g = CudaGraph.capture(s, () -> t.fill(0x12345678, s))) {
                s.synchronize();
                for (int v : t.toIntArray()) assertEquals(1, v, "capture must not execute the work");
                g.launch(s);
                s.synchronize();
                for (int v : t.toIntArray()) assertEquals(0x12345678, v);
                t.fill(2, s);
                g.launch(s); // replay again
                s.synchronize();
                for (int v : t.toIntArray()) assertEquals(0x12345678, v);
            }
        }
    }

    @Test
    void deviceErrorWordStartsClean() {
        try (Stream s = Stream.create(device)) {
            assertEquals(0, s.deviceErrors());
            s.checkDeviceErrors();
        }
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseThrows() {
        DeviceTensor t = DeviceTensor.allocate(device, DType.FP32, 16);
        DeviceTensor view = t.slice(0, 8);
        t.close();
        t.close();
        assertThrows(IllegalStateException.class, t::address);
        assertThrows(IllegalStateException.class, view::address);
        Stream s = Stream.create(device);
        s.close();
        s.close();
        assertThrows(IllegalStateException.class, s::handle);
        Event e = Event.create();
        e.close();
        e.close();
        assertThrows(IllegalStateException.class, e::handle);
    }

    @Test
    void allocationFailureIsACudaException() {
        CudaException e = assertThrows(CudaException.class,
                () -> DeviceTensor.allocate(device, DType.FP32, 1L << 50).close());
        assertEquals("cudaErrorMemoryAllocation", e.errorName());
        assertEquals(2, e.code());
    }
}
