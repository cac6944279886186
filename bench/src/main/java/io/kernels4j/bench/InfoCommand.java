package io.kernels4j.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kernels4j.bench.report.ReportWriter;
import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.bindings.NativeLibrary;
import io.kernels4j.ops.Cuda;
import io.kernels4j.ops.Device;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Prints the library build, the CUDA versions and every device. Exits 0 without a driver too. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Library version, compiled GPU architectures, CUDA runtime/driver versions and every device.")
final class InfoCommand implements Callable<Integer> {
    @Option(names = "--json", description = "Print one JSON object instead of text (for scripts).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        NativeLibrary.load();
        if (json) {
            System.out.println(ReportWriter.text(toJson()));
            return 0;
        }
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

    /** The same facts as the text, as one object; versions are "13.0"-style strings ("none": no driver). */
    static ObjectNode toJson() {
        ObjectNode o = ReportWriter.object();
        o.put("schemaVersion", ReportWriter.SCHEMA_VERSION);
        o.put("version", Kernels4jNative.versionString());
        o.put("abi", Kernels4jNative.EXPECTED_ABI_VERSION);
        o.put("cudaBuild", Cuda.version(Kernels4jNative.cudaBuildVersion()));
        ArrayNode archs = o.putArray("archs");
        for (String a : Kernels4jNative.cudaArchs()) archs.add(a);
        o.put("library", String.valueOf(NativeLibrary.loadedFrom()));
        o.put("runtime", Cuda.version(Cuda.runtimeVersion()));
        o.put("driver", Cuda.version(Cuda.driverVersion()));
        var a = Cuda.availability();
        o.put("available", a.available());
        if (!a.available()) o.put("reason", a.reason());
        ArrayNode devices = o.putArray("devices");
        for (int i = 0; i < a.deviceCount(); i++) {
            Device d = Device.get(i);
            ObjectNode dev = devices.addObject();
            dev.put("ordinal", i);
            dev.put("name", d.name());
            dev.put("computeCapability", d.ccMajor() + "." + d.ccMinor());
            dev.put("smCount", d.smCount());
            dev.put("memoryBytes", d.totalMemory());
            dev.put("freeMemoryBytes", d.freeMemory());
            dev.put("l2CacheBytes", d.l2CacheBytes());
            dev.put("sharedMemoryPerBlockOptinBytes", d.maxSharedMemoryPerBlockOptin());
        }
        return o;
    }
}
