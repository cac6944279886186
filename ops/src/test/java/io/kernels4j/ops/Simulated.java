package io.kernels4j.ops;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Test support (ops test-jar): simulated devices, streams and tensors that need no GPU, for
 * unit-testing the Java side of every op (argument validation, shapes, views, close/use rules) in
 * CI. Nothing made here can reach CUDA: a simulated device refuses makeCurrent(), a simulated
 * stream's handle() and errorFlagAddress() throw, so fake addresses are never dereferenced.
 *
 * <p>{@link #validate} runs an op and says whether its argument checks rejected it
 * (IllegalArgumentException before {@link Stream#activate()}) or accepted it (it activated the
 * stream and stopped at the simulated handle, i.e. it would have launched on a GPU).
 */
public final class Simulated {
    private static final AtomicLong NEXT_ADDRESS = new AtomicLong(0x7f00_0000_0000L);

    private Simulated() {}

    public static Device device(int ordinal) {
        return Device.simulated(ordinal);
    }

    public static Stream stream(Device simulatedDevice) {
        return Stream.simulated(simulatedDevice);
    }

    /** A fresh fake address, 1 MiB-aligned, distinct per call (never dereferenced). */
    public static long fakeAddress(long bytes) {
        long span = Math.max(1L << 20, (bytes + (1L << 20) - 1) & -(1L << 20));
        return NEXT_ADDRESS.getAndAdd(span);
    }

    /** An owning tensor on a simulated device at a fake address; close() frees nothing. */
    public static DeviceTensor tensor(Device simulatedDevice, DType dtype, long... shape) {
        return DeviceTensor.simulatedOwner(fakeAddress(1L << 20), dtype, simulatedDevice, shape);
    }

    /** A non-owning tensor (like {@link DeviceTensor#wrap}) at a given fake address. */
    public static DeviceTensor wrap(long fakeAddress, Device simulatedDevice, DType dtype, long... shape) {
        if (!simulatedDevice.isSimulated()) throw new IllegalArgumentException("not simulated");
        return DeviceTensor.wrap(fakeAddress, dtype, simulatedDevice, shape);
    }

    public static int activations(Device simulatedDevice) {
        return simulatedDevice.simulatedActivations();
    }

    public static boolean memoryReleased(DeviceTensor t) {
        return t.memoryReleased();
    }

    public static boolean streamReleased(Stream s) {
        return s.released();
    }

    public static int users(Stream s) {
        return s.users();
    }

    /** True while the calling thread is inside an op (between activate() and its end). */
    public static boolean inOp() {
        return InFlight.active();
    }

    /** Ends the calling thread's op (what an op's afterOp does). */
    public static void endOp() {
        InFlight.end();
    }

    /** The debug-mode check of {@link Stream#afterOp}, without the system property. */
    public static void checkAfter(Stream s, String op) {
        s.checkAfter(op);
    }

    /** How an op call on simulated tensors ended. */
    public sealed interface Outcome {
        /** The argument checks threw IllegalArgumentException; {@code activated}: after activate() (a misordered op). */
        record Rejected(IllegalArgumentException error, boolean activated) implements Outcome {}
        /** The checks passed: the op activated the stream and stopped at its simulated handle. */
        record Accepted() implements Outcome {}
        /** The op returned without launching (nothing to do, e.g. an empty problem). */
        record Returned() implements Outcome {}
    }

    /**
     * Runs {@code op} (which must use {@code stream}, a simulated stream) and classifies it. Any other
     * exception (NullPointerException, ArithmeticException...) propagates: a test failure.
     */
    public static Outcome validate(Stream stream, Runnable op) {
        Device d = stream.device();
        int before = d.simulatedActivations();
        try {
            op.run();
        } catch (IllegalArgumentException e) {
            return new Outcome.Rejected(e, d.simulatedActivations() != before);
        } catch (IllegalStateException e) {
            if (e.getMessage() != null && e.getMessage().contains("simulated") && d.simulatedActivations() != before)
                return new Outcome.Accepted();
            throw e;
        } finally {
            InFlight.end(); // the op stopped before its afterOp
        }
        return new Outcome.Returned();
    }
}
