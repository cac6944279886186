package io.kernels4j.ops;

import static io.kernels4j.bindings.cuda.CudaRuntime.*;
import static java.lang.foreign.ValueLayout.ADDRESS;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.internal.Checks;
import io.kernels4j.ops.internal.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.util.Arrays;

/**
 * A dense row-major tensor in device memory: address, dtype, shape and device.
 *
 * <p>An owning tensor ({@link #allocate}) frees its memory on {@link #close()} (idempotent). Views
 * ({@link #view}, {@link #slice}, {@link #reshape}) and wrapped foreign memory ({@link #wrap}) own
 * nothing; a view used after its owner was closed throws {@link IllegalStateException} instead of
 * handing a dangling address to a kernel. An owning tensor garbage-collected without close() is
 * logged (with the allocation site when {@code -Dkernels4j.leakTrace=true}) and its memory stays
 * allocated: freeing it from the cleaner thread could race kernels still using it.
 */
public final class DeviceTensor implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final System.Logger LOG = System.getLogger("io.kernels4j.leaks");
    private static final boolean LEAK_TRACE = Boolean.getBoolean("kernels4j.leakTrace");

    /** The memory block shared by a tensor and its views. */
    private static final class Block implements Runnable {
        final long base;
        final long bytes;
        final Device device;
        final boolean owned;
        final Throwable site;
        final Lifetime life;

        Block(long base, long bytes, Device device, boolean owned) {
            this.base = base;
            this.bytes = bytes;
            this.device = device;
            this.owned = owned;
            this.site = owned && LEAK_TRACE ? new Throwable("allocated here") : null;
            this.life = new Lifetime("device memory", this::free);
        }

        /** Frees the memory: on close(), or when the last op using it ends (see {@link InFlight}). */
        void free() {
            if (!owned || base == 0 || device.isSimulated()) return;
            device.makeCurrent();
            Cuda.check(cudaFree(MemorySegment.ofAddress(base)), "cudaFree");
        }

        @Override
        public void run() { // cleaner action: only reached when the owner was never closed
            if (!life.isClosed() && owned && !device.isSimulated()) {
                LOG.log(System.Logger.Level.WARNING, "DeviceTensor of " + bytes + " bytes on cuda:" + device.ordinal()
                        + " was garbage-collected without close(); its device memory stays allocated"
                        + (site == null ? " (run with -Dkernels4j.leakTrace=true to see where it was allocated)" : ""), site);
            }
        }
    }

    private final Block block;
    private final long address;
    private final DType dtype;
    private final long[] shape;
    private final long numel;
    private final Cleaner.Cleanable cleanable; // owners only

    private DeviceTensor(Block block, long address, DType dtype, long[] shape, boolean owner) {
        this.block = block;
        this.address = address;
        this.dtype = dtype;
        this.shape = shape;
        this.numel = numel(shape);
        this.cleanable = owner ? CLEANER.register(this, block) : null;
    }

    /**
     * Allocates on the calling thread's current device. Contents are undefined.
     *
     * @param dtype the element type
     * @param shape the dimensions, each >= 0
     * @return the new tensor (owner of its memory)
     */
    public static DeviceTensor allocate(DType dtype, long... shape) {
        return allocate(Device.current(), dtype, shape);
    }

    /**
     * Allocates on {@code device}. Contents are undefined.
     *
     * @param device where to allocate
     * @param dtype the element type
     * @param shape the dimensions, each >= 0
     * @return the new tensor (owner of its memory)
     */
    public static DeviceTensor allocate(Device device, DType dtype, long... shape) {
        Checks.requireNonNull(device, "device");
        Checks.requireNonNull(dtype, "dtype");
        long[] s = checkShape(shape);
        long bytes = byteSize(dtype, numel(s));
        long addr = 0;
        if (bytes > 0) {
            device.makeCurrent();
            try (Arena a = Arena.ofConfined()) {
                MemorySegment p = a.allocate(ADDRESS);
                Cuda.check(cudaMalloc(p, bytes), "cudaMalloc(" + bytes + " bytes for " + dtype + Arrays.toString(s) + ")");
                addr = p.get(ADDRESS, 0).address();
            }
        }
        return new DeviceTensor(new Block(addr, bytes, device, true), addr, dtype, s, true);
    }

    /**
     * Wraps device memory allocated elsewhere (JCuda, another library) without copying or taking
     * ownership: close() is a no-op and the caller keeps the memory alive while the tensor is used.
     *
     * @param address the device address of the first element
     * @param dtype the element type
     * @param device the device the memory is on
     * @param shape the dimensions, each >= 0
     * @return a non-owning view of the memory
     */
    public static DeviceTensor wrap(long address, DType dtype, Device device, long... shape) {
        Checks.requireNonNull(device, "device");
        Checks.requireNonNull(dtype, "dtype");
        long[] s = checkShape(shape);
        long bytes = byteSize(dtype, numel(s));
        if (address == 0 && bytes > 0) throw new IllegalArgumentException("address: null device pointer for " + bytes + " bytes");
        return new DeviceTensor(new Block(address, bytes, device, false), address, dtype, s, false);
    }

    /**
     * For unit tests without a GPU (package-private; see {@link Device#simulated}): an owning tensor
     * at a fake address on a simulated device. close() frees nothing; the address never reaches
     * CUDA, because the simulated device and stream refuse every path there.
     */
    static DeviceTensor simulatedOwner(long fakeAddress, DType dtype, Device simulatedDevice, long... shape) {
        if (!simulatedDevice.isSimulated()) throw new IllegalArgumentException("device: not a simulated device");
        long[] s = checkShape(shape);
        return new DeviceTensor(new Block(fakeAddress, byteSize(dtype, numel(s)), simulatedDevice, true), fakeAddress,
                dtype, s, true);
    }

    private static long[] checkShape(long[] shape) {
        Checks.requireNonNull(shape, "shape");
        for (int i = 0; i < shape.length; i++)
            if (shape[i] < 0) throw new IllegalArgumentException("shape: dimension " + i + " is negative in " + Arrays.toString(shape));
        numel(shape);
        return shape.clone();
    }

    private static long numel(long[] shape) {
        for (long d : shape) if (d == 0) return 0; // [2^62, 4, 0] is empty, though its partial products overflow
        long n = 1;
        try {
            for (long d : shape) n = Math.multiplyExact(n, d);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape: element count of " + Arrays.toString(shape) + " overflows a long");
        }
        return n;
    }

    private static long byteSize(DType dtype, long numel) {
        try {
            return Math.multiplyExact(numel, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape: byte size of " + numel + " x " + dtype + " overflows a long");
        }
    }

    /**
     * The device address. Throws IllegalStateException if this tensor or its owner was closed. Read
     * inside an op (after {@link Stream#activate()}), it keeps the memory allocated until the op ends,
     * even if another thread closes the owner meanwhile.
     */
    long address() {
        if (!InFlight.pin(block.life)) {
            InFlight.end(); // the op is aborted: release what it held
            throw new IllegalStateException("DeviceTensor " + this + " used after close");
        }
        return address;
    }

    /** {@return the element type} */
    public DType dtype() { return dtype; }
    /** {@return a copy of the dimensions} */
    public long[] shape() { return shape.clone(); }
    /** {@return the number of dimensions} */
    public int rank() { return shape.length; }
    /**
     * Dimension {@code i}.
     *
     * @param i 0 to {@link #rank()} - 1
     * @return its size
     */
    public long dim(int i) { return shape[i]; }
    /** {@return the number of elements} */
    public long numel() { return numel; }
    /** {@return the size in bytes} */
    public long byteSize() { return numel * dtype.byteSize(); }
    /** {@return the device the memory is on} */
    public Device device() { return block.device; }
    /** {@return whether this tensor, or the owner it is a view of, was closed} */
    public boolean isClosed() { return block.life.isClosed(); }
    /** True once the memory was actually released (close() may defer it to the end of a running op; tests). */
    boolean memoryReleased() { return block.life.isReleased(); }
    /**
     * True for the tensor that owns (and frees) its memory.
     *
     * @return true for an owner, false for a view or a wrapped pointer
     */
    public boolean isOwner() { return cleanable != null; }

    /**
     * The same bytes seen with another dtype and shape (byte sizes must match). Owns nothing.
     *
     * @param newType the element type of the view
     * @param newShape its dimensions
     * @return the view (it does not own the memory)
     */
    public DeviceTensor view(DType newType, long... newShape) {
        Checks.requireNonNull(newType, "dtype");
        long[] s = checkShape(newShape);
        long bytes = byteSize(newType, numel(s));
        if (bytes != byteSize())
            throw new IllegalArgumentException("shape: view " + newType + Arrays.toString(s) + " has " + bytes
                    + " bytes but " + this + " has " + byteSize());
        return new DeviceTensor(block, address(), newType, s, false);
    }

    /**
     * Same dtype and element count, other shape. Owns nothing.
     *
     * @param newShape the dimensions, with the same number of elements
     * @return the view
     */
    public DeviceTensor reshape(long... newShape) {
        return view(dtype, newShape);
    }

    /**
     * Rows {@code [from, to)} along dimension 0. Owns nothing.
     *
     * @param from first index along dimension 0, inclusive
     * @param to last index, exclusive
     * @return the view
     */
    public DeviceTensor slice(long from, long to) {
        if (shape.length == 0) throw new IllegalArgumentException("slice: tensor has rank 0");
        if (from < 0 || to < from || to > shape[0])
            throw new IllegalArgumentException("slice: [" + from + ", " + to + ") is outside [0, " + shape[0] + ")");
        long[] s = shape.clone();
        s[0] = to - from;
        long rowBytes = s.length == 1 ? dtype.byteSize() : byteSize() / Math.max(1, shape[0]);
        if (shape[0] == 0) rowBytes = 0;
        return new DeviceTensor(block, address() + from * rowBytes, dtype, s, false);
    }

    // ---- copies ----

    /**
     * Stream-ordered copy from host memory of exactly {@link #byteSize()} bytes. Pinned memory makes it truly async.
     *
     * @param src host memory holding {@link #byteSize()} bytes
     * @param stream the stream the copy is ordered on
     */
    public void copyFromHost(MemorySegment src, Stream stream) {
        requireBytes(src, "src");
        requireStream(stream);
        stream.activate();
        try {
            Cuda.check(cudaMemcpyAsync(MemorySegment.ofAddress(address()), src, byteSize(), cudaMemcpyHostToDevice(),
                    stream.handle()), "cudaMemcpyAsync(H2D)");
        } finally {
            Stream.endOp();
        }
    }

    /**
     * Stream-ordered copy to host memory of exactly {@link #byteSize()} bytes.
     *
     * @param dst host memory with room for {@link #byteSize()} bytes
     * @param stream the stream the copy is ordered on
     */
    public void copyToHost(MemorySegment dst, Stream stream) {
        requireBytes(dst, "dst");
        requireStream(stream);
        stream.activate();
        try {
            Cuda.check(cudaMemcpyAsync(dst, MemorySegment.ofAddress(address()), byteSize(), cudaMemcpyDeviceToHost(),
                    stream.handle()), "cudaMemcpyAsync(D2H)");
        } finally {
            Stream.endOp();
        }
    }

    /**
     * Stream-ordered device-to-device copy from a tensor of the same byte size.
     *
     * @param src a tensor with the same byte size, on the same device
     * @param stream the stream the copy is ordered on
     */
    public void copyFrom(DeviceTensor src, Stream stream) {
        Checks.requireNonNull(src, "src");
        if (src.byteSize() != byteSize())
            throw new IllegalArgumentException("src: " + src + " has " + src.byteSize() + " bytes, expected " + byteSize());
        if (src.device().isSimulated() != device().isSimulated())
            throw new IllegalArgumentException("src: " + src + " and " + this + " are not both simulated or both real");
        requireStream(stream);
        stream.activate();
        try {
            Cuda.check(cudaMemcpyAsync(MemorySegment.ofAddress(address()), MemorySegment.ofAddress(src.address()), byteSize(),
                    cudaMemcpyDeviceToDevice(), stream.handle()), "cudaMemcpyAsync(D2D)");
        } finally {
            Stream.endOp();
        }
    }

    /** The stream is non-null and on this tensor's device (a simulated tensor never meets a real stream). */
    private void requireStream(Stream stream) {
        Checks.requireNonNull(stream, "stream");
        Checks.requireSameDevice(stream, this);
    }

    private void requireBytes(MemorySegment seg, String name) {
        Checks.requireNonNull(seg, name);
        if (!seg.isNative()) throw new IllegalArgumentException(name + ": must be a native (off-heap) segment");
        if (seg.byteSize() != byteSize())
            throw new IllegalArgumentException(name + ": has " + seg.byteSize() + " bytes, expected " + byteSize() + " for " + this);
    }

    /**
     * Synchronous copy from a Java array (FP32 tensors).
     *
     * @param src the values, {@link #numel()} of them (elements of the matching width)
     */
    public void copyFrom(float[] src) { Checks.requireNonNull(src, "src"); fromArray(MemorySegment.ofArray(src), ValueLayout.JAVA_FLOAT, src.length, "src", DType.FP32); }
    /**
     * Synchronous copy from a Java array of raw 16-bit values (BF16 tensors).
     *
     * @param src the values, {@link #numel()} of them (elements of the matching width)
     */
    public void copyFrom(short[] src) { Checks.requireNonNull(src, "src"); fromArray(MemorySegment.ofArray(src), ValueLayout.JAVA_SHORT, src.length, "src", DType.BF16); }
    /**
     * Synchronous copy from a Java array of raw bytes (FP8 tensors).
     *
     * @param src the values, {@link #numel()} of them (elements of the matching width)
     */
    public void copyFrom(byte[] src) { Checks.requireNonNull(src, "src"); fromArray(MemorySegment.ofArray(src), ValueLayout.JAVA_BYTE, src.length, "src", DType.FP8_E4M3); }
    /**
     * Synchronous copy from a Java array (INT32 tensors).
     *
     * @param src the values, {@link #numel()} of them (elements of the matching width)
     */
    public void copyFrom(int[] src) { Checks.requireNonNull(src, "src"); fromArray(MemorySegment.ofArray(src), ValueLayout.JAVA_INT, src.length, "src", DType.INT32); }
    /**
     * Synchronous copy from a Java array (INT64 tensors, e.g. PyTorch-style top-k ids).
     *
     * @param src the values, {@link #numel()} of them (elements of the matching width)
     */
    public void copyFrom(long[] src) { Checks.requireNonNull(src, "src"); fromArray(MemorySegment.ofArray(src), ValueLayout.JAVA_LONG, src.length, "src", DType.INT64); }

    /**
     * Copies the tensor to a new Java array (synchronous: waits for the copy).
     *
     * @return the elements, read as {@code float} values of the element width
     */
    public float[] toFloatArray() { float[] a = new float[checkedLength(4)]; toArray(MemorySegment.ofArray(a)); return a; }
    /**
     * Copies the tensor to a new Java array (synchronous: waits for the copy).
     *
     * @return the elements, read as {@code short} values of the element width
     */
    public short[] toShortArray() { short[] a = new short[checkedLength(2)]; toArray(MemorySegment.ofArray(a)); return a; }
    /**
     * Copies the tensor to a new Java array (synchronous: waits for the copy).
     *
     * @return the elements, read as {@code byte} values of the element width
     */
    public byte[] toByteArray() { byte[] a = new byte[checkedLength(1)]; toArray(MemorySegment.ofArray(a)); return a; }
    /**
     * Copies the tensor to a new Java array (synchronous: waits for the copy).
     *
     * @return the elements, read as {@code int} values of the element width
     */
    public int[] toIntArray() { int[] a = new int[checkedLength(4)]; toArray(MemorySegment.ofArray(a)); return a; }
    /**
     * Copies the tensor to a new Java array (synchronous: waits for the copy).
     *
     * @return the elements, read as {@code long} values of the element width
     */
    public long[] toLongArray() {
 long[] a = new long[checkedLength(8)]; toArray(MemorySegment.ofArray(a)); return a; }

    private int checkedLength(int elemBytes) {
        if (byteSize() % elemBytes != 0 || byteSize() / elemBytes > Integer.MAX_VALUE - 8)
            throw new IllegalStateException(this + " does not fit a Java array of " + elemBytes + "-byte elements");
        return (int) (byteSize() / elemBytes);
    }

    private void fromArray(MemorySegment heap, ValueLayout layout, int length, String name, DType natural) {
        if ((long) length * layout.byteSize() != byteSize())
            throw new IllegalArgumentException(name + ": " + length + " elements of " + layout.byteSize() + " bytes, expected "
                    + byteSize() + " bytes for " + this);
        block.device.makeCurrent();
        if (!block.life.tryRetain()) throw new IllegalStateException("DeviceTensor " + this + " used after close");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment tmp = a.allocate(Math.max(1, byteSize()), 16);
            MemorySegment.copy(heap, 0, tmp, 0, byteSize());
            if (byteSize() > 0)
                Cuda.check(cudaMemcpy(MemorySegment.ofAddress(address), tmp, byteSize(), cudaMemcpyHostToDevice()),
                        "cudaMemcpy(H2D)");
        } finally {
            block.life.release();
        }
    }

    private void toArray(MemorySegment heap) {
        block.device.makeCurrent();
        if (!block.life.tryRetain()) throw new IllegalStateException("DeviceTensor " + this + " used after close");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment tmp = a.allocate(Math.max(1, byteSize()), 16);
            if (byteSize() > 0)
                Cuda.check(cudaMemcpy(tmp, MemorySegment.ofAddress(address), byteSize(), cudaMemcpyDeviceToHost()),
                        "cudaMemcpy(D2H)");
            MemorySegment.copy(tmp, 0, heap, 0, byteSize());
        } finally {
            block.life.release();
        }
    }

    /**
     * Fills every element with a bit pattern (the low {@code dtype.byteSize()} bytes of
     * {@code bitPattern}), stream-ordered: e.g. {@code 0x7FC0} poisons BF16 with NaN, {@code 0x7F}
     * FP8 with NaN.
     *
     * @param bitPattern the value, as the bits of one element (low bytes used for narrower types)
     * @param stream the stream the fill is ordered on
     */
    public void fill(int bitPattern, Stream stream) {
        requireStream(stream);
        stream.activate();
        int rc;
        try {
            rc = (int) Kernels4jNative.k4j_fill.invokeExact(address(), numel, dtype.byteSize(), bitPattern, stream.handle());
        } catch (Throwable t) {
            throw Kernels4jNative.rethrow(t);
        }
        Status.check(rc, "fill");
        stream.afterOp("DeviceTensor.fill");
    }

    /**
     * Frees the memory if this tensor owns it; idempotent; a no-op for views and wrapped memory. Views
     * see the tensor closed at once. If another thread is inside an op that read this memory's
     * address, the free happens when that op ends.
     */
    @Override
    public void close() {
        if (cleanable == null) return;
        if (!block.life.close()) return;
        cleanable.clean(); // runs the leak action, which sees the block closed and logs nothing
        block.free();
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape) + "@cuda:" + block.device.ordinal() + (block.life.isClosed() ? "(closed)" : "");
    }
}
