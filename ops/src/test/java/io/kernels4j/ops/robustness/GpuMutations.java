package io.kernels4j.ops.robustness;

import static org.junit.jupiter.api.Assertions.*;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.OpSupport;
import io.kernels4j.ops.robustness.Mutations.Arg;
import io.kernels4j.ops.robustness.Mutations.Kind;
import io.kernels4j.ops.robustness.Mutations.Mutation;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * The hostile-argument properties on real tensors (GPU): a valid call succeeds on the device; a
 * broken one throws IllegalArgumentException naming an argument (from the Java checks or from the
 * native ones), and nothing was launched: every tensor, filled with a poison byte before the call,
 * still holds it. Mutations that need memory the GPU does not have (dimensions past 2^31) or a
 * second GPU are skipped; misaligned tensors are real memory one allocation in, 2 bytes off.
 */
final class GpuMutations {
    static final byte POISON = 0x5A;
    /** The poison byte in every byte of an element of any dtype (fill takes the low dtype-size bytes). */
    static final int POISON_WORD = 0x5A5A5A5A;

    /** The device and stream the properties run on, and counters for the summary. */
    static final class Mode {
        final Device device;
        final Stream stream;
        int accepted, rejected, skipped;

        Mode(Device device, Stream stream) {
            this.device = device;
            this.stream = stream;
        }
    }

    private GpuMutations() {}

    static void check(Mode mode, List<Arg> args, Mutation m, Set<String> names, boolean mayBeValid,
            BiFunction<Map<String, DeviceTensor>, Stream, Runnable> op) {
        if (m.kind() == Kind.DIM_HUGE || (m.kind() == Kind.OTHER_DEVICE && Device.count() < 2)) {
            mode.skipped++;
            return;
        }
        boolean expectValid = m.kind() == Kind.NONE;
        Device dev = mode.device;
        Stream s = mode.stream;
        Map<String, DeviceTensor> ts = new LinkedHashMap<>();
        List<DeviceTensor> backing = new ArrayList<>(); // every allocation, to check the poison afterwards
        try {
            for (Arg a : args) {
                boolean hit = m.kind() != Kind.NONE && a.name().equals(m.arg());
                if (hit && m.kind() == Kind.NULL) {
                    ts.put(a.name(), null);
                    continue;
                }
                long[] shape = a.shape().clone();
                DType dt = a.dtype();
                if (hit && m.dim() >= 0) shape[m.dim()] = m.value();
                if (hit && m.kind() == Kind.DTYPE) dt = m.dtype();
                Device d = hit && m.kind() == Kind.OTHER_DEVICE ? Device.get(1) : dev;
                long bytes = dt.byteSize();
                for (long x : shape) bytes *= x;
                DeviceTensor t;
                if (hit && m.kind() == Kind.MISALIGNED) {
                    DeviceTensor raw = DeviceTensor.allocate(d, DType.FP8_E4M3, bytes + 16);
                    backing.add(raw);
                    t = DeviceTensor.wrap(OpSupport.address(raw) + 2, dt, d, shape); // real memory, inside raw
                } else {
                    t = DeviceTensor.allocate(d, dt, shape);
                    backing.add(t);
                }
                if (hit && m.kind() == Kind.CLOSED) t.close();
                ts.put(a.name(), t);
            }
            for (DeviceTensor b : backing) if (!b.isClosed()) poison(b, expectValid || mayBeValid ? 0 : POISON_WORD, s);
            s.synchronize();
            RuntimeException thrown = null;
            try {
                op.apply(ts, s).run();
            } catch (RuntimeException e) {
                thrown = e;
            }
            if (expectValid) {
                if (thrown != null) fail("valid arguments failed on the GPU: " + thrown, thrown);
                s.synchronize();
                s.clearDeviceErrors(); // zero-filled index data may be meaningless for some ops; only a crash or an exception fails
                mode.accepted++;
                return;
            }
            if (thrown == null) {
                if (mayBeValid) {
                    s.synchronize();
                    s.clearDeviceErrors();
                    mode.accepted++;
                    return;
                }
                fail(m + ": accepted on the GPU (launched)");
            }
            if (!(thrown instanceof IllegalArgumentException iae)) throw new AssertionError(m + ": " + thrown, thrown);
            String msg = iae.getMessage();
            String body = msg.matches("^[A-Za-z0-9]+\\.[A-Za-z0-9]+: .*") && !names.stream().anyMatch(n -> msg.startsWith(n + ":"))
                    ? msg.substring(msg.indexOf(": ") + 2) : msg; // native messages come as "Op.method: name: ..."
            boolean named = names.stream().anyMatch(n -> body.startsWith(n + ":") || body.startsWith(n + ".")
                    || body.startsWith(toSnake(n) + ":"))
                    || (m.kind() == Kind.OTHER_DEVICE && msg.startsWith("tensor "));
            assertTrue(named, m + ": message does not name an argument " + names + ": " + msg);
            if (!mayBeValid) {
                s.synchronize();
                for (DeviceTensor b : backing) {
                    if (b.isClosed()) continue;
                    byte[] v = b.toByteArray();
                    for (int i = 0; i < v.length; i++)
                        if (v[i] != POISON) fail(m + ": rejected, but " + b + " was written at byte " + i + " (something launched)");
                }
            }
            mode.rejected++;
        } finally {
            for (DeviceTensor b : backing) b.close();
        }
    }

    /** kvCache -> kv_cache (the native layer's argument names). */
    static String toSnake(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT);
    }

    /** Fills with a 32-bit word whatever the element size (k4j_fill takes 1-, 2- and 4-byte elements; INT64 is 8). */
    static void poison(DeviceTensor b, int word, Stream s) {
        if (b.dtype().byteSize() <= 4) b.fill(word, s);
        else DeviceTensor.wrap(OpSupport.address(b), DType.INT32, b.device(), b.byteSize() / 4).fill(word, s);
    }
}
