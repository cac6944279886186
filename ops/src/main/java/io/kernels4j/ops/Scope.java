package io.kernels4j.ops;

import io.kernels4j.ops.internal.Checks;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Frees everything allocated (or tracked) in it on {@link #close()}, in reverse order:
 * <pre>{@code
 * try (Scope scope = Scope.open()) {
 *     DeviceTensor a = scope.allocate(DType.BF16, 64, 7168);
 *     ...
 * }
 * }</pre>
 * Not thread-safe: one scope belongs to one thread.
 */
public final class Scope implements AutoCloseable {
    private final Deque<AutoCloseable> resources = new ArrayDeque<>();
    private final Device device;
    private boolean closed;

    private Scope(Device device) {
        this.device = device;
    }

    /**
     * A scope allocating on the calling thread's current device.
     *
     * @return the scope
     * @throws GpuUnavailableException when there is no usable GPU
     */
    public static Scope open() {
        Cuda.requireAvailable();
        return new Scope(null);
    }

    /**
     * A scope allocating on {@code device}.
     *
     * @param device the device every allocation of the scope is made on
     * @return the scope
     */
    public static Scope open(Device device) {
        Checks.requireNonNull(device, "device");
        return new Scope(device);
    }

    /**
     * Allocates a tensor the scope closes.
     *
     * @param dtype the element type
     * @param shape the dimensions
     * @return the tensor
     */
    public DeviceTensor allocate(DType dtype, long... shape) {
        requireOpen(); // before allocating: a closed scope would not free it
        return track(device == null ? DeviceTensor.allocate(dtype, shape) : DeviceTensor.allocate(device, dtype, shape));
    }

    /**
     * Allocates pinned host memory the scope closes.
     *
     * @param bytes the size, > 0
     * @return the buffer
     */
    public PinnedBuffer pinned(long bytes) {
        requireOpen();
        return track(PinnedBuffer.allocate(bytes));
    }

    /**
     * Closes {@code resource} with the scope (at once, before throwing, if the scope is already closed).
     *
     * @param <T> the resource type
     * @param resource closed with the scope
     * @return {@code resource}
     */
    public <T extends AutoCloseable> T track(T resource) {
        if (closed) {
            try {
                if (resource != null) resource.close();
            } catch (Exception e) {
                IllegalStateException ise = new IllegalStateException("scope is closed");
                ise.addSuppressed(e);
                throw ise;
            }
            throw new IllegalStateException("scope is closed");
        }
        resources.push(resource);
        return resource;
    }

    private void requireOpen() {
        if (closed) throw new IllegalStateException("scope is closed");
    }

    /** Closes everything, newest first; the first failure is rethrown after all were tried. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        RuntimeException first = null;
        while (!resources.isEmpty()) {
            try {
                resources.pop().close();
            } catch (Exception e) {
                if (first == null) first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }
}
