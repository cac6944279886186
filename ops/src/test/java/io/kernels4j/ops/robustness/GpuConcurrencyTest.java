package io.kernels4j.ops.robustness;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.testing.GpuTestSupport;
import io.kernels4j.ops.testing.RequiresGpu;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Core work (fill, slices, device-to-device copies) from several Java threads on several streams at
 * once gives the same bytes as serial use; threads never told which device is current still launch
 * correctly. Family ops are covered by their own concurrency tests in validation.
 */
@RequiresGpu
class GpuConcurrencyTest {
    private static final int N = 1 << 18;

    /** One job: a fixed sequence of fills and copies on its own stream; returns the final contents. */
    private static int[] job(long seed, Stream s) {
        SplittableRandom r = new SplittableRandom(seed);
        Device d = GpuTestSupport.device();
        try (DeviceTensor a = DeviceTensor.allocate(d, DType.INT32, N); DeviceTensor b = DeviceTensor.allocate(d, DType.INT32, N)) {
            a.fill(r.nextInt(), s);
            for (int step = 0; step < 32; step++) {
                long from = r.nextInt(N), to = from + r.nextInt(N - (int) from + 1);
                a.slice(from, to).fill(r.nextInt(), s);
                if (r.nextBoolean()) b.copyFrom(a, s);
                else a.slice(0, N / 2).copyFrom(b.slice(N / 2, N), s);
            }
            s.synchronize();
            return a.toIntArray();
        }
    }

    /** The same job computed on the host. */
    private static int[] expected(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] a = new int[N], b = new int[N];
        java.util.Arrays.fill(a, r.nextInt());
        boolean bWritten = false;
        for (int step = 0; step < 32; step++) {
            int from = r.nextInt(N), to = from + r.nextInt(N - from + 1);
            java.util.Arrays.fill(a, from, to, r.nextInt());
            if (r.nextBoolean()) {
                System.arraycopy(a, 0, b, 0, N);
                bWritten = true;
            } else {
                if (!bWritten) return null; // b uninitialised: the result is undefined, skip this seed
                System.arraycopy(b, N / 2, a, 0, N / 2);
            }
        }
        return a;
    }

    @Test
    void parallelStreamsMatchSerialAndTheHost() throws Exception {
        long base = GpuTestSupport.seed("GpuConcurrencyTest");
        List<Long> seeds = new ArrayList<>();
        for (long k = 0; seeds.size() < 16; k++) if (expected(base + k) != null) seeds.add(base + k);
        List<int[]> serial = new ArrayList<>();
        try (Stream s = Stream.create(GpuTestSupport.device())) {
            for (long seed : seeds) serial.add(job(seed, s));
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<int[]>> par = new ArrayList<>();
            for (long seed : seeds) {
                Callable<int[]> c = () -> {
                    try (Stream s = Stream.create(GpuTestSupport.device())) {
                        return job(seed, s);
                    }
                };
                par.add(pool.submit(c));
            }
            for (int i = 0; i < seeds.size(); i++) {
                int[] want = expected(seeds.get(i));
                assertArrayEquals(want, serial.get(i), "serial run differs from the host model, seed " + seeds.get(i));
                assertArrayEquals(serial.get(i), par.get(i).get(), "parallel run differs from serial, seed " + seeds.get(i));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void manyThreadsShareOneStream() throws Exception {
        Stream s = GpuTestSupport.stream();
        int parts = 16;
        try (DeviceTensor t = DeviceTensor.allocate(GpuTestSupport.device(), DType.INT32, (long) parts * 4096)) {
            List<Thread> threads = new ArrayList<>();
            for (int p = 0; p < parts; p++) {
                int part = p;
                threads.add(Thread.ofPlatform().start(() -> {
                    for (int rep = 0; rep < 50; rep++) t.slice(part * 4096L, (part + 1) * 4096L).fill(part * 1000 + rep, s);
                }));
            }
            for (Thread th : threads) th.join();
            s.synchronize();
            int[] v = t.toIntArray();
            for (int p = 0; p < parts; p++)
                for (int i = 0; i < 4096; i++) assertEquals(p * 1000 + 49, v[p * 4096 + i], "part " + p);
        }
    }

    @Test
    void freshThreadsLaunchWithoutMakeCurrent() throws Exception {
        Device last = Device.get(Device.count() - 1); // on multi-GPU machines: not the default device 0
        try (Stream s = Stream.create(last); DeviceTensor t = DeviceTensor.allocate(last, DType.INT32, 1024)) {
            Thread plain = Thread.ofPlatform().start(() -> t.fill(42, s));
            plain.join();
            Thread virtual = Thread.ofVirtual().start(() -> t.slice(0, 512).fill(43, s));
            virtual.join();
            s.synchronize();
            int[] v = t.toIntArray();
            assertEquals(43, v[0]);
            assertEquals(42, v[1023]);
        }
        // A fresh thread's current device is the CUDA default (0), whatever other threads made current.
        int[] seen = new int[1];
        Thread th = Thread.ofPlatform().start(() -> seen[0] = Device.current().ordinal());
        th.join();
        assertEquals(0, seen[0]);
    }

    @Test
    void devicesOnMultiGpuMachinesAreActivatedPerOp() throws Exception {
        assumeTrue(Device.count() >= 2, "needs two GPUs");
        Device d0 = Device.get(0), d1 = Device.get(1);
        try (Stream s0 = Stream.create(d0); Stream s1 = Stream.create(d1);
                DeviceTensor t0 = DeviceTensor.allocate(d0, DType.INT32, 64); DeviceTensor t1 = DeviceTensor.allocate(d1, DType.INT32, 64)) {
            d1.makeCurrent();
            t0.fill(1, s0); // activates device 0 itself
            d0.makeCurrent();
            t1.fill(2, s1);
            s0.synchronize();
            s1.synchronize();
            assertEquals(1, t0.toIntArray()[63]);
            assertEquals(2, t1.toIntArray()[63]);
        }
    }
}
