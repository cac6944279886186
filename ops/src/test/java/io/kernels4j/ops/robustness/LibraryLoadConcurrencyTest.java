package io.kernels4j.ops.robustness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.bindings.NativeLibrary;
import io.kernels4j.ops.Cuda;
import io.kernels4j.ops.DeviceDataException;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Loading the library is thread-safe: the first touches of {@link NativeLibrary}, the downcall
 * holders and the ops core from many threads at once, in a fresh JVM (class initialisation happens
 * once per JVM, so only a child process sees the real first-load race). No GPU needed.
 */
class LibraryLoadConcurrencyTest {
    private static final int ROUNDS = 3;

    @Test
    void firstLoadFromManyThreadsInFreshJvms() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            ChildJvm.Result r = ChildJvm.run(Child.class, 60);
            assertFalse(r.timedOut(), "round " + round + ": child JVM hung (deadlock in library loading?):\n" + r.output());
            assertEquals(0, r.exitCode(), "round " + round + ": child JVM failed:\n" + r.output());
            assertTrue(r.output().contains("OK"), r.output());
        }
    }

    /** Many threads, released together, each making a different first touch of the library. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            int n = 24;
            CyclicBarrier start = new CyclicBarrier(n);
            Set<String> versions = ConcurrentHashMap.newKeySet();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int kind = i % 4;
                Thread t = new Thread(() -> {
                    try {
                        start.await();
                        switch (kind) {
                            case 0 -> NativeLibrary.load();
                            case 1 -> versions.add(Kernels4jNative.versionString());
                            case 2 -> Cuda.availability();
                            default -> DeviceDataException.describe(Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE);
                        }
                        versions.add(Kernels4jNative.versionString());
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }, "loader-" + i);
                threads.add(t);
                t.start();
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            for (Thread t : threads) t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            for (Thread t : threads) {
                if (t.isAlive()) {
                    System.out.println("HUNG " + t.getName());
                    for (StackTraceElement e : t.getStackTrace()) System.out.println("    at " + e);
                }
            }
            if (threads.stream().anyMatch(Thread::isAlive)) Runtime.getRuntime().halt(3);
            for (Throwable f : failures) f.printStackTrace(System.out);
            if (!failures.isEmpty()) System.exit(2);
            if (versions.size() != 1) {
                System.out.println("versions differ: " + versions);
                System.exit(4);
            }
            System.out.println("OK " + versions + " loaded from " + NativeLibrary.loadedFrom());
        }
    }
}
