package io.kernels4j.bench.report;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.Cuda;
import io.kernels4j.ops.Device;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Properties;

/**
 * What every report names: GPU, driver, CUDA runtime, library build, commit and date.
 *
 * @param device  GPU name (or "none")
 * @param driver  highest CUDA version the driver supports, e.g. "13.0"
 * @param cuda    CUDA runtime linked into libkernels4j, e.g. "13.0"
 * @param commit  git commit of the build ("+dirty" when built from a modified tree)
 * @param date    UTC timestamp of the run
 */
public record RunInfo(String device, String driver, String cuda, String commit, String date, String library,
                      List<String> archs, String computeCapability, int smCount, long memoryBytes) {

    public static RunInfo collect(Device device) {
        return new RunInfo(
                device == null ? "none" : device.name(),
                Cuda.version(Cuda.driverVersion()),
                Cuda.version(Cuda.runtimeVersion()),
                buildCommit(),
                Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(),
                Kernels4jNative.versionString(),
                List.of(Kernels4jNative.cudaArchs()),
                device == null ? "" : device.ccMajor() + "." + device.ccMinor(),
                device == null ? 0 : device.smCount(),
                device == null ? 0 : device.totalMemory());
    }

    /** The build's commit: $KERNELS4J_COMMIT if set, else the git.properties baked into the jar, else "unknown". */
    public static String buildCommit() {
        String env = System.getenv("KERNELS4J_COMMIT");
        if (env != null && !env.isBlank()) return env.trim();
        try (InputStream in = RunInfo.class.getResourceAsStream("/kernels4j-git.properties")) {
            if (in == null) return "unknown";
            Properties p = new Properties();
            p.load(in);
            String id = p.getProperty("git.commit.id.full", "");
            if (id.isEmpty() || id.startsWith("$")) return "unknown";
            return id + ("true".equals(p.getProperty("git.dirty")) ? "+dirty" : "");
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** A file-name-safe slug of the GPU name, e.g. "nvidia-h100-80gb-hbm3". */
    public String deviceSlug() {
        String s = device.toLowerCase().replaceAll("[^a-z0-9]+", "-").replaceAll("(^-|-$)", "");
        return s.isEmpty() ? "gpu" : s;
    }

    /** Markdown lines naming the run. */
    public String markdownHeader() {
        return "- GPU: " + device + (computeCapability.isEmpty() ? "" : " (sm " + computeCapability + ", " + smCount + " SMs, "
                + (memoryBytes >> 30) + " GiB)") + "\n"
                + "- Driver (CUDA version supported): " + driver + "\n"
                + "- CUDA runtime: " + cuda + "\n"
                + "- kernels4j: " + library + " (" + String.join(", ", archs) + ")\n"
                + "- Commit: " + commit + "\n"
                + "- Date: " + date + "\n"
                + "- Report schema version: " + ReportWriter.SCHEMA_VERSION + "\n";
    }
}
