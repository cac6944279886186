package io.kernels4j.bench;

import io.kernels4j.ops.Device;
import io.kernels4j.ops.Stream;

/** What a benchmark runs with: device, stream, the shared timer and the options. */
public record BenchContext(Device device, Stream stream, KernelTimer timer, BenchOptions options, long seed) {}
