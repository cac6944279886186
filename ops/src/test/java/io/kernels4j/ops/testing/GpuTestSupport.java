package io.kernels4j.ops.testing;

import io.kernels4j.ops.Device;
import io.kernels4j.ops.Kernels4j;
import io.kernels4j.ops.Stream;

/** Shared state for GPU tests: device 0 and one stream per test class (JVM-wide, closed at exit). */
public final class GpuTestSupport {
    private static Stream stream;

    private GpuTestSupport() {}

    public static Device device() {
        return Device.get(0);
    }

    public static synchronized Stream stream() {
        if (stream == null) {
            stream = Stream.create(device());
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try { stream.close(); } catch (RuntimeException ignored) { /* process is exiting */ }
            }));
        }
        return stream;
    }

    /**
     * Whether the tests run on the CPU emulated device. Repetition counts and fill sizes that only add
     * load (not new paths) are cut there, so that every test runs on every emulated architecture in CI.
     */
    public static boolean emulated() {
        return Kernels4j.emulatorDescription() != null;
    }

    /** {@code onGpu} on a GPU, {@code onEmulator} on the CPU emulated device. */
    public static int scaled(int onGpu, int onEmulator) {
        return emulated() ? onEmulator : onGpu;
    }

    /** Fresh seed per run, printed so a failure can be replayed with -Dkernels4j.seed. */
    public static long seed(String what) {
        String fixed = System.getProperty("kernels4j.seed");
        long seed = fixed != null ? Long.parseLong(fixed) : System.nanoTime() ^ what.hashCode();
        System.out.println("[seed] " + what + ": " + seed);
        return seed;
    }
}
