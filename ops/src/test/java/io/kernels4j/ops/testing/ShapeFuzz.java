package io.kernels4j.ops.testing;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Simulated;
import java.util.SplittableRandom;

/**
 * Near-valid random tensors for differential tests of argument checks (no GPU): each dimension,
 * dtype and address is usually the valid one and sometimes a nearby wrong one, often several at
 * once, so two implementations of the same rules can be compared on the boundary cases.
 */
public final class ShapeFuzz {
    private static final DType[] DTYPES = DType.values();
    private final SplittableRandom r;
    private final Device device;
    private final double p;

    /** {@code p}: probability that a dimension, dtype or address is perturbed. */
    public ShapeFuzz(long seed, Device simulatedDevice, double p) {
        this.r = new SplittableRandom(seed);
        this.device = simulatedDevice;
        this.p = p;
    }

    public boolean flip() {
        return r.nextDouble() < p;
    }

    public int nextInt(int bound) {
        return r.nextInt(bound);
    }

    /** {@code v}, or sometimes v +- 1, 0, 2v, v + 8, or past the int range. */
    public long dim(long v) {
        if (!flip()) return v;
        return switch (r.nextInt(6)) {
            case 0 -> v + 1;
            case 1 -> Math.max(0, v - 1);
            case 2 -> 0;
            case 3 -> 2 * v;
            case 4 -> v + 8;
            default -> (1L << 31) + v;
        };
    }

    public DType dtype(DType v) {
        return flip() ? DTYPES[r.nextInt(DTYPES.length)] : v;
    }

    /**
     * A simulated tensor of (perturbed) dtype and shape, sometimes of another rank, sometimes at a
     * misaligned address, sometimes null. Dimensions are used as given (perturb them with {@link #dim}).
     */
    public DeviceTensor tensor(DType dtype, long... shape) {
        if (flip() && r.nextInt(4) == 0) return null;
        long[] s = shape;
        if (flip() && r.nextInt(3) == 0) { // another rank
            s = r.nextBoolean() && shape.length > 1 ? java.util.Arrays.copyOf(shape, shape.length - 1)
                    : java.util.Arrays.copyOf(shape, shape.length + 1);
            if (s.length > shape.length) s[s.length - 1] = 1;
        }
        long offset = flip() ? new long[] {2, 4, 8}[r.nextInt(3)] : 0;
        DType dt = dtype(dtype);
        try {
            return Simulated.wrap(Simulated.fakeAddress(1 << 20) + offset, device, dt, s);
        } catch (IllegalArgumentException e) { // byte size past a long: not a tensor anyone can make
            return Simulated.wrap(Simulated.fakeAddress(1 << 20) + offset, device, dt, shape.length == 0 ? shape : new long[] {1});
        }
    }
}
