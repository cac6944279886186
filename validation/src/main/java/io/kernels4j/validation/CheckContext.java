package io.kernels4j.validation;

import io.kernels4j.ops.Device;
import io.kernels4j.ops.Stream;

/**
 * What a check runs with: the device, a stream on it, and the seed for its random inputs.
 *
 * @param device the device
 * @param stream a stream on it
 * @param seed the seed of the case's random inputs
 */

public record CheckContext(Device device, Stream stream, long seed) {}
