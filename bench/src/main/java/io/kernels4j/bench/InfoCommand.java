package io.kernels4j.bench;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.bindings.NativeLibrary;
import io.kernels4j.ops.Cuda;
import io.kernels4j.ops.Device;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Prints the library build, the CUDA versions and every device. Exits 0 without a driver too. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Library version, compiled GPU architectures, CUDA runtime/driver versions and every device.")
final class InfoCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        NativeLibrary.load();
        System.out.println("kernels4j " + Kernels4jNative.versionString() + " (ABI " + Kernels4jNative.EXPECTED_ABI_VERSION
                + "), built with CUDA " + Cuda.version(Kernels4jNative.cudaBuildVersion()) + " for "
                + String.join(", ", Kernels4jNative.cudaArchs()));
        System.out.println("library: " + NativeLibrary.loadedFrom());
        if (NativeLibrary.emulated()) System.out.println("EMULATED DEVICE: " + NativeLibrary.emulatorDescription());
        System.out.println("CUDA runtime: " + Cuda.version(Cuda.runtimeVersion()) + " (static), driver: "
                + Cuda.version(Cuda.driverVersion()));
        var a = Cuda.availability();
        if (!a.available()) {
            System.out.println("devices: none (" + a.reason() + ")");
            return 0;
        }
        for (int i = 0; i < a.deviceCount(); i++) {
            Device d = Device.get(i);
            System.out.printf(Locale.ROOT,
                    "device %d: %s, sm_%d%d, %d SMs, %.1f GiB (%.1f GiB free), L2 %d MiB, shared memory opt-in %d KiB%n",
                    i, d.name(), d.ccMajor(), d.ccMinor(), d.smCount(), d.totalMemory() / (double) (1L << 30),
                    d.freeMemory() / (double) (1L << 30), d.l2CacheBytes() >> 20, d.maxSharedMemoryPerBlockOptin() >> 10);
        }
        return 0;
    }
}
