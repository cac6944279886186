package io.kernels4j.ops.internal;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import java.util.Arrays;

/**
 * Argument checks for ops (internal: not exported; the op packages and kernels4j's own validation and
 * bench modules use it). Every failure is an {@link IllegalArgumentException} whose message starts
 * with the argument's name and says what was expected and what was given, e.g.
 * {@code "b: expected FP8_E4M3[2112, 7168], got BF16[2112, 7168]"}.
 */
public final class Checks {
    /** Wildcard for one dimension in {@link #requireTensor}. */
    public static final long ANY = -1;

    private Checks() {}

    public static <T> T requireNonNull(T value, String name) {
        if (value == null) throw new IllegalArgumentException(name + ": must not be null");
        return value;
    }

    /** Checks dtype and shape ({@link #ANY} matches any size) and that the tensor is open. */
    public static DeviceTensor requireTensor(DeviceTensor t, String name, DType dtype, long... shape) {
        requireNonNull(t, name);
        if (t.isClosed()) throw new IllegalArgumentException(name + ": tensor " + t + " is closed");
        boolean ok = t.dtype() == dtype && t.rank() == shape.length;
        for (int i = 0; ok && i < shape.length; i++) ok = shape[i] == ANY || shape[i] == t.dim(i);
        if (!ok) throw new IllegalArgumentException(name + ": expected " + describe(dtype, shape) + ", got " + t.dtype()
                + Arrays.toString(t.shape()));
        return t;
    }

    /** Like {@link #requireTensor} but a null tensor is allowed (optional inputs). */
    public static DeviceTensor optionalTensor(DeviceTensor t, String name, DType dtype, long... shape) {
        return t == null ? null : requireTensor(t, name, dtype, shape);
    }

    public static void requireDType(DeviceTensor t, String name, DType... allowed) {
        requireNonNull(t, name);
        for (DType d : allowed) if (t.dtype() == d) return;
        throw new IllegalArgumentException(name + ": expected dtype " + (allowed.length == 1 ? allowed[0] : "one of "
                + Arrays.toString(allowed)) + ", got " + t.dtype() + Arrays.toString(t.shape()));
    }

    /** The tensor's address is a multiple of {@code bytes} (16 for vectorised loads). */
    public static void requireAligned(DeviceTensor t, String name, int bytes) {
        if (t != null && OpSupport.address(t) % bytes != 0)
            throw new IllegalArgumentException(name + ": device address 0x" + Long.toHexString(OpSupport.address(t))
                    + " is not " + bytes + "-byte aligned");
    }

    /** The tensor holds at least {@code bytes} bytes (workspaces). */
    public static void requireBytes(DeviceTensor t, String name, long bytes) {
        requireNonNull(t, name);
        if (t.byteSize() < bytes)
            throw new IllegalArgumentException(name + ": needs at least " + bytes + " bytes, got " + t.byteSize() + " (" + t + ")");
    }

    /**
     * The stream is open, and all (non-null) tensors live on its device (a null stream is rejected
     * when there is a tensor to check). Devices are
     * compared by identity (one {@link Device} per ordinal), so a simulated test device never passes
     * for a real one.
     */
    public static void requireSameDevice(Stream stream, DeviceTensor... tensors) {
        if (stream == null) { // nothing to compare against: an error as soon as there is a tensor to check
            for (DeviceTensor t : tensors) if (t != null) throw new IllegalArgumentException("stream: must not be null");
            return;
        }
        if (stream.isClosed()) throw new IllegalArgumentException("stream: " + stream + " is closed");
        for (DeviceTensor t : tensors)
            if (t != null && t.device() != stream.device())
                throw new IllegalArgumentException("tensor " + t + " is on " + where(t.device())
                        + " but the stream is on " + where(stream.device()));
    }

    private static String where(Device d) {
        return "cuda:" + d.ordinal() + (OpSupport.isSimulated(d) ? " (simulated)" : "");
    }

    public static long requirePositive(long v, String name) {
        if (v <= 0) throw new IllegalArgumentException(name + ": must be > 0, got " + v);
        return v;
    }

    public static long requireNonNegative(long v, String name) {
        if (v < 0) throw new IllegalArgumentException(name + ": must be >= 0, got " + v);
        return v;
    }

    public static void requireMultiple(long v, long of, String name) {
        if (of <= 0) throw new IllegalArgumentException("of: must be > 0, got " + of);
        if (v % of != 0) throw new IllegalArgumentException(name + ": must be a multiple of " + of + ", got " + v);
    }

    public static void require(boolean condition, String message) {
        if (!condition) throw new IllegalArgumentException(message);
    }

    public static String describe(DType dtype, long[] shape) {
        StringBuilder sb = new StringBuilder(dtype.toString()).append('[');
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(shape[i] == ANY ? "*" : Long.toString(shape[i]));
        }
        return sb.append(']').toString();
    }
}
