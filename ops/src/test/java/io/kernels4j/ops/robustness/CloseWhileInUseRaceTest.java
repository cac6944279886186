package io.kernels4j.ops.robustness;

import static org.junit.jupiter.api.Assertions.*;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Simulated;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.OpSupport;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Races close() against ops on other threads (simulated handles, no GPU): whenever an op holds an
 * address it read after activate(), neither that memory nor the stream may have been released,
 * however the close interleaves. And everything is released once the ops are over.
 */
class CloseWhileInUseRaceTest {
    @Test
    void closeNeverReleasesUnderARunningOp() throws Exception {
        Device dev = Simulated.device(0);
        int threads = 6;
        AtomicInteger violations = new AtomicInteger();
        AtomicInteger opsInside = new AtomicInteger();
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        for (int round = 0; round < 40; round++) {
            Stream s = Simulated.stream(dev);
            DeviceTensor t = Simulated.tensor(dev, DType.BF16, 1024);
            DeviceTensor view = t.slice(100, 200);
            CyclicBarrier go = new CyclicBarrier(threads + 1);
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                Thread w = new Thread(() -> {
                    try {
                        go.await();
                        for (int it = 0; it < 20_000; it++) {
                            try {
                                OpSupport.activate(s);
                            } catch (IllegalStateException closed) {
                                return; // the stream is closed: the op fails before launching
                            }
                            try {
                                long a = OpSupport.address(view);
                                // The "launch": memory and stream must still be there.
                                if (Simulated.memoryReleased(t) || Simulated.streamReleased(s)) {
                                    violations.incrementAndGet();
                                    System.out.println("VIOLATION mem=" + Simulated.memoryReleased(t) + " stream="
                                            + Simulated.streamReleased(s) + " inOp=" + Simulated.inOp() + " users=" + Simulated.users(s));
                                }
                                opsInside.incrementAndGet();
                                if (a == 0) violations.incrementAndGet();
                                OpSupport.afterOp(s, "race");
                            } catch (IllegalStateException closed) {
                                if (Simulated.inOp()) violations.incrementAndGet(); // must have ended the op
                            }
                        }
                    } catch (Throwable e) {
                        unexpected.compareAndSet(null, e);
                    } finally {
                        Simulated.endOp();
                    }
                });
                workers.add(w);
                w.start();
            }
            go.await();
            Thread.sleep(ThreadLocalRandom.current().nextInt(0, 3));
            t.close();
            Thread.onSpinWait();
            s.close();
            for (Thread w : workers) w.join(30_000);
            for (Thread w : workers) assertFalse(w.isAlive(), "worker hung");
            assertTrue(t.isClosed() && s.isClosed());
            assertTrue(Simulated.memoryReleased(t), "memory never released after all ops ended");
            assertTrue(Simulated.streamReleased(s), "stream never released after all ops ended");
        }
        if (unexpected.get() != null) fail(unexpected.get());
        assertEquals(0, violations.get(), "ops saw released resources");
        assertTrue(opsInside.get() > 0);
    }
}
