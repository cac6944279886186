package io.kernels4j.ops.internal;

import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import java.lang.foreign.MemorySegment;

/**
 * What the op packages need of {@link Stream}, {@link DeviceTensor} and {@link Device} beyond their
 * public API: raw handles and addresses for downcalls and the begin/end of an op. Internal: this
 * package is exported only to kernels4j's own modules. The methods forward to package-private
 * methods of {@code io.kernels4j.ops} through {@link Access}, installed by {@link Stream}'s static
 * initialiser; they allocate nothing (the op path is allocation-free).
 */
public final class OpSupport {
    /** The package-private operations of {@code io.kernels4j.ops}, implemented there. */
    public interface Access {
        /**
         * Starts an op on the calling thread.
         *
         * @param stream the op's stream
         */
        void activate(Stream stream);

        /**
         * Ends the op after a successful launch.
         *
         * @param stream the op's stream
         * @param op the op's name, for the debug-mode check
         */
        void afterOp(Stream stream, String op);

        /**
         * The cudaStream_t.
         *
         * @param stream the stream
         * @return its handle
         */
        MemorySegment handle(Stream stream);

        /**
         * The device address of the stream's error word.
         *
         * @param stream the stream
         * @return the address
         */
        long errorFlagAddress(Stream stream);

        /**
         * The device address of a tensor's first element.
         *
         * @param tensor the tensor
         * @return the address
         */
        long address(DeviceTensor tensor);

        /** Ends the calling thread's op without the debug check. */
        void endOp();

        /**
         * Whether a device is a simulated test device.
         *
         * @param device the device
         * @return true for a simulated device
         */
        boolean isSimulated(Device device);
    }

    private static volatile Access installed;

    private OpSupport() {}

    /**
     * Called once by {@code io.kernels4j.ops.Stream}'s static initialiser.
     *
     * @param access the implementation
     */
    public static void install(Access access) {
        synchronized (OpSupport.class) {
            if (installed != null) throw new IllegalStateException("OpSupport: already installed");
            installed = access;
        }
    }

    /** Initialised on first use, after Stream's static initialiser installed the implementation. */
    private static final class Holder {
        static final Access A;

        static {
            try {
                Class.forName(Stream.class.getName(), true, Stream.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new ExceptionInInitializerError(e);
            }
            A = installed;
        }
    }

    /**
     * Starts an op: makes the stream's device current and holds the stream (and the tensors whose
     * address the op reads next) open until {@link #afterOp} or a failed {@link Status#check}.
     *
     * @param stream the op's stream
     * @throws IllegalStateException if the stream is closed
     */
    public static void activate(Stream stream) {
        Holder.A.activate(stream);
    }

    /**
     * Ends the op after a successful launch (in debug mode also checks the device error word).
     *
     * @param stream the op's stream
     * @param op the op's name
     */
    public static void afterOp(Stream stream, String op) {
        Holder.A.afterOp(stream, op);
    }

    /**
     * The cudaStream_t for a downcall.
     *
     * @param stream the stream
     * @return its handle
     * @throws IllegalStateException if the stream is closed
     */
    public static MemorySegment handle(Stream stream) {
        return Holder.A.handle(stream);
    }

    /**
     * The device address of the stream's error word, for a downcall.
     *
     * @param stream the stream
     * @return the address
     * @throws IllegalStateException if the stream is closed
     */
    public static long errorFlagAddress(Stream stream) {
        return Holder.A.errorFlagAddress(stream);
    }

    /**
     * The device address of a tensor's first element, for a downcall.
     *
     * @param tensor the tensor
     * @return the address
     */
    public static long address(DeviceTensor tensor) {
        return Holder.A.address(tensor);
    }

    /** Ends the calling thread's op without the debug check. */
    public static void endOp() {
        Holder.A.endOp();
    }

    /**
     * Whether a device is a simulated test device (ops test-jar).
     *
     * @param device the device
     * @return true for a simulated device
     */
    public static boolean isSimulated(Device device) {
        return Holder.A.isSimulated(device);
    }
}
