package io.kernels4j.ops;

import static io.kernels4j.bindings.cuda.CudaRuntime.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.kernels4j.bindings.cuda.cudaDeviceProp;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One CUDA device and its fixed properties (read once). The CUDA "current device" is per host
 * thread; ops make their stream's device current themselves, so callers rarely need
 * {@link #makeCurrent()}.
 */
public final class Device {
    private static volatile Device[] devices;

    private final int ordinal;
    private final String name;
    private final int smCount;
    private final int ccMajor;
    private final int ccMinor;
    private final long l2CacheBytes;
    private final int maxSharedMemoryPerBlockOptin;
    private final long totalMemory;
    private final int memoryClockKhz;
    private final int memoryBusWidthBits;
    private final boolean emulated;
    /** Non-null only for {@link #simulated}: counts activate() calls (ops that passed validation). */
    private final java.util.concurrent.atomic.AtomicInteger simulatedActivations;

    private Device(int ordinal) {
        this.ordinal = ordinal;
        this.simulatedActivations = null;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment prop = cudaDeviceProp.allocate(a);
            Cuda.check(cudaGetDeviceProperties(prop, ordinal), "cudaGetDeviceProperties(" + ordinal + ")");
            String cudaName = cudaDeviceProp.name(prop).getString(0);
            // On the CPU emulator the name says so, so no report or log passes it off as a GPU.
            this.name = Cuda.emulationLabel().isEmpty() || cudaName.contains("emulated") ? cudaName : cudaName + " (emulated)";
            this.emulated = !Cuda.emulationLabel().isEmpty();
            this.totalMemory = cudaDeviceProp.totalGlobalMem(prop);
            this.ccMajor = attribute(a, cudaDevAttrComputeCapabilityMajor());
            this.ccMinor = attribute(a, cudaDevAttrComputeCapabilityMinor());
            this.smCount = attribute(a, cudaDevAttrMultiProcessorCount());
            this.l2CacheBytes = attribute(a, cudaDevAttrL2CacheSize());
            this.maxSharedMemoryPerBlockOptin = attribute(a, cudaDevAttrMaxSharedMemoryPerBlockOptin());
            this.memoryClockKhz = attribute(a, cudaDevAttrMemoryClockRate());
            this.memoryBusWidthBits = attribute(a, cudaDevAttrGlobalMemoryBusWidth());
        }
    }

    /** Test-only device: fixed H100-like properties, no CUDA behind it. */
    private Device(int ordinal, String name) {
        this.ordinal = ordinal;
        this.name = name;
        this.smCount = 132;
        this.ccMajor = 9;
        this.ccMinor = 0;
        this.l2CacheBytes = 50L << 20;
        this.maxSharedMemoryPerBlockOptin = 227 << 10;
        this.totalMemory = 80L << 30;
        this.memoryClockKhz = 0;
        this.memoryBusWidthBits = 0;
        this.emulated = false;
        this.simulatedActivations = new java.util.concurrent.atomic.AtomicInteger();
    }

    /**
     * For unit tests without a GPU (package-private; reached through the ops test-jar's
     * {@code io.kernels4j.ops.Simulated}): a device made without any CUDA call, never equal to a real
     * one. Tensors on it ({@link DeviceTensor#wrap}) carry addresses that are never dereferenced:
     * {@link #makeCurrent()} and everything that would reach CUDA through it throws
     * IllegalStateException, and {@link #activate()} only counts, so a test can see whether an op got
     * past its argument checks (the simulated stream's handle() then throws before any downcall).
     */
    static Device simulated(int ordinal) {
        return new Device(ordinal, "simulated");
    }

    /** True for a {@link #simulated} test device. */
    boolean isSimulated() {
        return simulatedActivations != null;
    }

    /** activate() calls on a simulated device (ops that passed their argument checks). */
    int simulatedActivations() {
        return simulatedActivations == null ? 0 : simulatedActivations.get();
    }

    private IllegalStateException simulatedNoCuda() {
        return new IllegalStateException("cuda:" + ordinal + " is a simulated test device: nothing may reach CUDA through it");
    }

    private int attribute(Arena a, int attr) {
        MemorySegment v = a.allocate(JAVA_INT);
        int err = cudaDeviceGetAttribute(v, attr, ordinal);
        if (err != 0) {
            cudaGetLastError();
            return 0; // attributes a driver does not report (e.g. memory clock on new drivers) read as 0
        }
        return v.get(JAVA_INT, 0);
    }

    /**
     * Number of devices (0 without driver or GPU).
     *
     * @return the number of devices, 0 without a driver, a GPU or the library (never throws)
     */
    public static int count() {
        return Cuda.deviceCount();
    }

    /**
     * Device {@code ordinal}.
     *
     * @param ordinal 0 to {@link #count()} - 1
     * @return the device (one instance per ordinal)
     * @throws GpuUnavailableException when there is no usable device at all
     * @throws IllegalArgumentException naming the range when {@code ordinal} is out of it
     */
    public static Device get(int ordinal) {
        Cuda.requireAvailable();
        Device[] all = all();
        if (ordinal < 0 || ordinal >= all.length)
            throw new IllegalArgumentException("ordinal: expected 0.." + (all.length - 1) + ", got " + ordinal);
        return all[ordinal];
    }

    /**
     * The calling thread's current device.
     *
     * @return the device
     */
    public static Device current() {
        Cuda.requireAvailable();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment d = a.allocate(JAVA_INT);
            Cuda.check(cudaGetDevice(d), "cudaGetDevice");
            return get(d.get(JAVA_INT, 0));
        }
    }

    private static Device[] all() {
        Device[] d = devices;
        if (d != null) return d;
        synchronized (Device.class) {
            if (devices == null) {
                int n = Cuda.deviceCount();
                Device[] list = new Device[n];
                for (int i = 0; i < n; i++) list[i] = new Device(i);
                devices = list;
            }
            return devices;
        }
    }

    /** Makes this the calling thread's current device. */
    public void makeCurrent() {
        if (isSimulated()) throw simulatedNoCuda();
        Cuda.check(cudaSetDevice(ordinal), "cudaSetDevice(" + ordinal + ")");
    }

    /** Current for ops on this thread: a no-op on single-GPU machines, else cudaSetDevice (cheap). */
    void activate() {
        if (simulatedActivations != null) {
            simulatedActivations.incrementAndGet();
            return;
        }
        if (devices.length > 1) {
            int err = cudaSetDevice(ordinal); // not makeCurrent(): its message would be built on every op call
            if (err != 0) Cuda.check(err, "cudaSetDevice(" + ordinal + ")");
        }
    }

    /**
     * Whether this device is the kernels4j CPU emulator rather than a GPU ({@code -Dkernels4j.device=emulator}).
     *
     * @return true on the emulator
     */
    public boolean emulated() { return emulated; }

    /** {@return the CUDA device ordinal} */
    public int ordinal() { return ordinal; }
    /**
     * The CUDA device name; ends with " (emulated)" on the CPU emulator.
     *
     * @return the name
     */
    public String name() { return name; }
    /** {@return the number of streaming multiprocessors} */
    public int smCount() { return smCount; }
    /** {@return the compute capability major version, e.g. 9} */
    public int ccMajor() { return ccMajor; }
    /** {@return the compute capability minor version, e.g. 0} */
    public int ccMinor() { return ccMinor; }
    /**
     * major * 10 + minor, e.g. 90 for an H100.
     *
     * @return the compute capability as one number
     */
    public int computeCapability() { return ccMajor * 10 + ccMinor; }
    /** {@return the L2 cache size in bytes} */
    public long l2CacheBytes() { return l2CacheBytes; }
    /** {@return the shared memory a block may opt in to, in bytes} */
    public int maxSharedMemoryPerBlockOptin() { return maxSharedMemoryPerBlockOptin; }
    /** {@return the device memory in bytes} */
    public long totalMemory() { return totalMemory; }

    /**
     * Theoretical DRAM bandwidth in bytes/s from clock and bus width (0 when the driver does not report them).
     *
     * @return bytes per second, 0 when unknown
     */
    public double theoreticalBandwidth() {
        return 2.0 * memoryClockKhz * 1e3 * (memoryBusWidthBits / 8.0);
    }

    /**
     * Free device memory in bytes, now.
     *
     * @return the free bytes
     */
    public long freeMemory() {
        return memInfo()[0];
    }

    private long[] memInfo() {
        makeCurrent();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(JAVA_LONG), t = a.allocate(JAVA_LONG);
            Cuda.check(cudaMemGetInfo(f, t), "cudaMemGetInfo");
            return new long[] {f.get(JAVA_LONG, 0), t.get(JAVA_LONG, 0)};
        }
    }

    @Override
    public String toString() {
        if (isSimulated()) return "cuda:" + ordinal + " (simulated)";
        return "cuda:" + ordinal + " " + name + " (sm_" + computeCapability() + ", " + smCount + " SMs, "
                + (totalMemory >> 20) + " MiB)"; // on the emulator the name already says "(emulated)"
    }
}
