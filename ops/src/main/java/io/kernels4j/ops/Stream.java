package io.kernels4j.ops;

import static io.kernels4j.bindings.cuda.CudaRuntime.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.kernels4j.ops.internal.Checks;
import io.kernels4j.ops.internal.OpSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A CUDA stream (non-blocking with respect to the legacy default stream) plus its device error word:
 * one device {@code uint32} into which kernels OR {@code K4J_DEVERR_*} bits when they meet device
 * data they must skip (see {@link DeviceDataException}). Ops only write it; reading it is a host sync
 * you ask for with {@link #deviceErrors()} or {@link #checkDeviceErrors()}. With the system property
 * {@code kernels4j.debug=true}, every op checks it (and synchronises) after its launch.
 *
 * <p>Thread-safety: a stream may be used from several threads (CUDA orders the work in submission
 * order). Closing it while another thread is inside an op on it is safe: the op either fails with
 * IllegalStateException ("stream used after close") before launching, or launches and the CUDA
 * stream and error word are destroyed when that op ends.
 */
public final class Stream implements AutoCloseable {
    /** Debug mode: every op synchronises and checks the device error word after launching. */
    public static final boolean DEBUG = Boolean.getBoolean("kernels4j.debug");

    static {
        OpSupport.install(new OpAccess()); // the op packages reach handle(), activate(), ... through OpSupport
    }

    private final Device device;
    private final MemorySegment handle;
    private final long errorFlag;
    private final boolean owned;
    private final Lifetime life;

    private Stream(Device device, MemorySegment handle, boolean owned) {
        this.device = device;
        this.handle = handle;
        this.owned = owned;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            int err = cudaMalloc(p, 4);
            if (err != 0) {
                if (owned) cudaStreamDestroy(handle);
                Cuda.check(err, "cudaMalloc(error word)");
            }
            this.errorFlag = p.get(ADDRESS, 0).address();
        }
        int err = cudaMemset(MemorySegment.ofAddress(errorFlag), 0, 4);
        if (err != 0) {
            cudaFree(MemorySegment.ofAddress(errorFlag));
            if (owned) cudaStreamDestroy(handle);
            Cuda.check(err, "cudaMemset(error word)");
        }
        this.life = new Lifetime("stream", this::destroy);
    }

    /** Test-only: a stream on a simulated device, with no CUDA stream and no error word behind it. */
    private Stream(Device simulatedDevice) {
        this.device = simulatedDevice;
        this.handle = MemorySegment.NULL;
        this.owned = false;
        this.errorFlag = 0;
        this.life = new Lifetime("simulated stream", () -> {});
    }

    /**
     * For unit tests without a GPU (package-private, see {@link Device#simulated}): activate() works
     * (and counts on the device), while {@link #handle()}, {@link #errorFlagAddress()} and
     * everything that would reach CUDA throw IllegalStateException, so an op that passed its checks
     * stops before its downcall.
     */
    static Stream simulated(Device simulatedDevice) {
        if (!simulatedDevice.isSimulated()) throw new IllegalArgumentException("device: not a simulated device");
        return new Stream(simulatedDevice);
    }

    private boolean isSimulated() {
        return device.isSimulated();
    }

    /**
     * A new stream on the calling thread's current device.
     *
     * @return the stream
     */
    public static Stream create() {
        return create(Device.current());
    }

    /**
     * A new stream on {@code device}.
     *
     * @param device the device
     * @return the stream
     */
    public static Stream create(Device device) {
        Checks.requireNonNull(device, "device");
        device.makeCurrent();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            Cuda.check(cudaStreamCreateWithFlags(p, cudaStreamNonBlocking()), "cudaStreamCreateWithFlags");
            return new Stream(device, p.get(ADDRESS, 0), true);
        }
    }

    /**
     * Wraps a cudaStream_t made elsewhere (JCuda, another library) without taking ownership: close()
     * frees only the error word. {@code device} must be the stream's device.
     *
     * @param cudaStream the cudaStream_t value (0: the legacy default stream)
     * @param device the stream's device
     * @return a stream that does not own the CUDA stream
     */
    public static Stream wrap(long cudaStream, Device device) {
        Checks.requireNonNull(device, "device");
        device.makeCurrent();
        return new Stream(device, MemorySegment.ofAddress(cudaStream), false);
    }

    private IllegalStateException closedError() {
        return new IllegalStateException("stream used after close: " + this);
    }

    private void requireUsable() {
        if (life.isClosed()) {
            InFlight.end(); // an op reading the handle of a closed stream is aborted: release what it holds
            throw closedError();
        }
        if (isSimulated()) throw new IllegalStateException(this + " is simulated: nothing may reach CUDA through it");
    }

    /**
     * The cudaStream_t, for downcalls. Throws IllegalStateException once closed (and ends the calling
     * thread's op). A handle read before another thread's close stays valid until the op ends.
     */
    MemorySegment handle() {
        requireUsable();
        return handle;
    }

    /** Device address of the error word (a uint32), for downcalls. Throws IllegalStateException once closed. */
    long errorFlagAddress() {
        requireUsable();
        return errorFlag;
    }

    /** {@return the device the stream runs on} */
    public Device device() {
        return device;
    }

    /**
     * Starts an op on this thread: makes the stream's device current and keeps the stream (and the
     * device memory whose {@link DeviceTensor#address()} the op reads next) alive until the op ends
     * with {@link #afterOp} or a failed {@link Status#check}. Ops call this before their downcall;
     * throws IllegalStateException when the stream is closed.
     */
    void activate() {
        InFlight.begin(this, life);
        try {
            device.activate();
        } catch (RuntimeException e) {
            InFlight.end();
            throw e;
        }
    }

    /** Ends the calling thread's op without the debug check (copies and other non-kernel work). */
    static void endOp() {
        InFlight.end();
    }

    /** Runs a native call on the handle with the stream held open for its duration. */
    int withHandle(java.util.function.ToIntFunction<MemorySegment> call) {
        if (isSimulated()) requireUsable();
        if (!life.tryRetain()) throw closedError();
        try {
            return call.applyAsInt(handle);
        } finally {
            life.release();
        }
    }

    /** The handle, held open until {@link #releaseHandle()} (no allocation: for hot paths such as event records). */
    MemorySegment retainHandle() {
        if (isSimulated()) requireUsable();
        if (!life.tryRetain()) throw closedError();
        return handle;
    }

    void releaseHandle() {
        life.release();
    }

    /** Blocks until all work queued on the stream is done. */
    public void synchronize() {
        MemorySegment h = retainHandle();
        try {
            Cuda.check(cudaStreamSynchronize(h), "cudaStreamSynchronize");
        } finally {
            releaseHandle();
        }
    }

    /**
     * Makes later work on this stream wait for {@code event}.
     *
     * @param event a recorded event
     */
    public void waitEvent(Event event) {
        Checks.requireNonNull(event, "event");
        MemorySegment h = retainHandle();
        try {
            MemorySegment e = event.retainHandle();
            try {
                Cuda.check(cudaStreamWaitEvent(h, e, 0), "cudaStreamWaitEvent");
            } finally {
                event.releaseHandle();
            }
        } finally {
            releaseHandle();
        }
    }

    /**
     * Synchronises the stream and returns the device error bits raised so far (0 when clean).
     *
     * @return the {@code K4J_DEVERR_*} bits, 0 when clean
     */
    public int deviceErrors() {
        return withHandle(h -> {
            Cuda.check(cudaStreamSynchronize(h), "cudaStreamSynchronize");
            try (Arena a = Arena.ofConfined()) {
                MemorySegment v = a.allocate(JAVA_INT);
                Cuda.check(cudaMemcpy(v, MemorySegment.ofAddress(errorFlag), 4, cudaMemcpyDeviceToHost()),
                        "cudaMemcpy(error word)");
                return v.get(JAVA_INT, 0);
            }
        });
    }

    /** Clears the error word (stream-ordered). */
    public void clearDeviceErrors() {
        Cuda.check(withHandle(h -> cudaMemsetAsync(MemorySegment.ofAddress(errorFlag), 0, 4, h)),
                "cudaMemsetAsync(error word)");
    }

    /** Synchronises; throws {@link DeviceDataException} (and clears the word) if any bit is set. */
    public void checkDeviceErrors() {
        int bits = deviceErrors();
        if (bits != 0) {
            clearDeviceErrors();
            throw new DeviceDataException(bits);
        }
    }

    /**
     * Called by ops after a successful launch: ends the op (see {@link #activate()}) and, in
     * {@link #DEBUG} mode, synchronises and throws {@link DeviceDataException} naming {@code op} if
     * the error word is set (skipped while the stream is being captured into a CUDA graph, where a
     * synchronisation is not allowed).
     */
    void afterOp(String op) {
        InFlight.end();
        if (DEBUG) checkAfter(op);
    }

    /** The debug-mode check of {@link #afterOp}, callable without the system property (tests). */
    void checkAfter(String op) {
        if (isCapturing()) return;
        int bits = deviceErrors();
        if (bits != 0) {
            clearDeviceErrors();
            throw new DeviceDataException(bits, op);
        }
    }

    private boolean isCapturing() {
        int status = withHandle(h -> {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment st = a.allocate(JAVA_INT);
                Cuda.check(cudaStreamIsCapturing(h, st), "cudaStreamIsCapturing");
                return st.get(JAVA_INT, 0);
            }
        });
        return status != 0; // cudaStreamCaptureStatusNone (not in the generated bindings)
    }

    /** {@return whether {@link #close()} was called} */
    public boolean isClosed() {
        return life.isClosed();
    }

    /**
     * Waits for queued work, then destroys the stream and frees the error word. Idempotent. If
     * another thread is inside an op on this stream, returns at once and the release happens when
     * that op ends.
     */
    @Override
    public void close() {
        InFlight.end(); // this thread is not inside an op while it closes
        if (life.close()) destroy();
    }

    private void destroy() {
        if (isSimulated()) return;
        device.makeCurrent();
        int e1 = cudaStreamSynchronize(handle);
        int e2 = owned ? cudaStreamDestroy(handle) : 0;
        int e3 = cudaFree(MemorySegment.ofAddress(errorFlag));
        Cuda.check(e1 != 0 ? e1 : e2 != 0 ? e2 : e3, "Stream.close");
    }

    /** True once the CUDA stream was actually destroyed (close() may defer it to the end of a running op; tests). */
    boolean released() {
        return life.isReleased();
    }

    /** Users holding the stream right now (tests). */
    int users() {
        return life.users();
    }

    @Override
    public String toString() {
        return "Stream[" + device.ordinal() + (isSimulated() ? ", simulated" : ", 0x" + Long.toHexString(handle.address()))
                + (life.isClosed() ? ", closed]" : "]");
    }
}
