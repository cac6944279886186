package io.kernels4j.ops.robustness;

import static org.junit.jupiter.api.Assertions.*;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Simulated;
import io.kernels4j.ops.Stream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.BiFunction;

/**
 * Mutation-based hostile arguments for an op, without a GPU: start from a valid set of tensors
 * (simulated), break exactly one thing (null, closed, wrong dtype, a dimension off by one, zero or
 * past the int range, another device, a misaligned address), run the op on a simulated stream, and
 * require: the unbroken set is accepted (the op reaches its launch), every broken set is rejected
 * with an IllegalArgumentException naming one of the op's arguments, before the stream was activated.
 */
final class Mutations {
    /** A tensor argument: dtype, shape, and which of its dims may grow without being an error. */
    /**
     * A tensor argument: dtype, shape, which dims are free (any size >= 1 is valid: a workspace, the
     * number of cache pages), and whether the Java
     * layer checks its address alignment ({@code javaAligned}; false where only the native layer does).
     */
    record Arg(String name, DType dtype, long[] shape, boolean[] mayGrow, boolean anyDtype, boolean optional,
            boolean javaAligned) {
        static Arg of(String name, DType dtype, long... shape) {
            return new Arg(name, dtype, shape, new boolean[shape.length], false, false, true);
        }

        Arg growable(int... dims) {
            boolean[] g = mayGrow.clone();
            for (int d : dims) g[d] = true;
            return new Arg(name, dtype, shape, g, anyDtype, optional, javaAligned);
        }

        /** Only the byte size matters (workspaces). */
        Arg bytesOnly() {
            boolean[] g = new boolean[shape.length];
            Arrays.fill(g, true);
            return new Arg(name, dtype, shape, g, true, optional, javaAligned);
        }

        Arg nullable() {
            return new Arg(name, dtype, shape, mayGrow, anyDtype, true, javaAligned);
        }

        /** Alignment checked by the native layer only (a misaligned address reaches the downcall, which rejects it). */
        Arg nativeAligned() {
            return new Arg(name, dtype, shape, mayGrow, anyDtype, optional, false);
        }
    }

    /** Valid tensors for {@code args}; the op must still reject the call (a bad scalar), naming {@code name}. */
    static void checkRejected(List<Arg> args, String name, BiFunction<Map<String, DeviceTensor>, Stream, Runnable> op) {
        Device dev = Simulated.device(0);
        Stream stream = Simulated.stream(dev);
        Map<String, DeviceTensor> ts = new LinkedHashMap<>();
        for (Arg a : args) ts.put(a.name(), Simulated.tensor(dev, a.dtype(), a.shape()));
        try {
            Simulated.Outcome o = Simulated.validate(stream, op.apply(ts, stream));
            Simulated.Outcome.Rejected rej = assertInstanceOf(Simulated.Outcome.Rejected.class, o, "bad " + name + " accepted");
            assertFalse(rej.activated());
            assertTrue(rej.error().getMessage().startsWith(name + ":"), rej.error().getMessage());
        } finally {
            for (DeviceTensor t : ts.values()) t.close();
        }
    }

    /** Set by {@link GpuMutations} to run the same properties on real tensors. */
    static final ThreadLocal<GpuMutations.Mode> GPU = new ThreadLocal<>();

    static boolean onGpu() {
        return GPU.get() != null;
    }

    /** Known gaps that a run hit (for the summary line a property may print). */
    static final Set<String> KNOWN_GAPS_SEEN = java.util.concurrent.ConcurrentHashMap.newKeySet();

    enum Kind { NONE, NULL, CLOSED, DTYPE, DIM_PLUS, DIM_MINUS, DIM_ZERO, DIM_HUGE, OTHER_DEVICE, MISALIGNED }

    record Mutation(Kind kind, String arg, int dim, long value, DType dtype) {
        @Override
        public String toString() {
            return kind == Kind.NONE ? "none" : kind + " " + arg + (dim >= 0 ? " dim " + dim + " -> " + value : "")
                    + (dtype != null ? " -> " + dtype : "");
        }
    }

    /** A random mutation of one of {@code args} (NONE one time in eight). */
    static Mutation random(SplittableRandom r, List<Arg> args) {
        if (r.nextInt(8) == 0) return new Mutation(Kind.NONE, null, -1, 0, null);
        Arg a = args.get(r.nextInt(args.size()));
        Kind[] kinds = {Kind.NULL, Kind.CLOSED, Kind.DTYPE, Kind.DIM_PLUS, Kind.DIM_MINUS, Kind.DIM_ZERO, Kind.DIM_HUGE,
                Kind.OTHER_DEVICE, Kind.MISALIGNED};
        Kind k = kinds[r.nextInt(kinds.length)];
        if (a.shape().length == 0 && k.name().startsWith("DIM")) k = Kind.DTYPE;
        int d = a.shape().length == 0 ? -1 : r.nextInt(a.shape().length);
        long v = switch (k) {
            case DIM_PLUS -> a.shape()[d] + 1 + r.nextInt(3);
            case DIM_MINUS -> a.shape()[d] - 1;
            case DIM_ZERO -> 0;
            case DIM_HUGE -> (r.nextBoolean() ? 1L << 31 : 1L << 32) + a.shape()[d];
            default -> 0;
        };
        if (k == Kind.DIM_MINUS && v < 0) v = 0;
        DType other = null;
        if (k == Kind.DTYPE) {
            DType[] ds = Arrays.stream(DType.values()).filter(x -> x != a.dtype()).toArray(DType[]::new);
            other = ds[r.nextInt(ds.length)];
        }
        if (!k.name().startsWith("DIM")) d = -1;
        return new Mutation(k, a.name(), d, v, other);
    }

    /** Whether a mutation may leave the arguments valid (growing a free dim, a workspace's dtype...). */
    static boolean mayStayValid(Mutation m, List<Arg> args) {
        if (m.kind() == Kind.NONE) return true;
        Arg a = args.stream().filter(x -> x.name().equals(m.arg())).findFirst().orElseThrow();
        return switch (m.kind()) {
            case NULL -> a.optional();
            case DTYPE -> a.anyDtype();
            case DIM_PLUS, DIM_HUGE -> a.mayGrow()[m.dim()];
            case DIM_MINUS -> a.mayGrow()[m.dim()] && m.value() >= 1;
            case MISALIGNED -> !a.javaAligned();
            default -> false;
        };
    }

    /**
     * Builds the tensors (with {@code m} applied), runs {@code op} on a simulated stream and checks the
     * outcome. {@code names}: the argument names a rejection message may start with.
     */
    static void check(List<Arg> args, Mutation m, Set<String> names,
            BiFunction<Map<String, DeviceTensor>, Stream, Runnable> op) {
        check(args, m, names, Set.of(), op);
    }

    /**
     * As above; {@code knownGaps} lists mutations ("DIM_HUGE kvCache 2") that the op is known to accept
     * today (documented in docs/ROBUSTNESS.md): they are reported, not failed.
     */
    static void check(List<Arg> args, Mutation m, Set<String> names, Set<String> knownGaps,
            BiFunction<Map<String, DeviceTensor>, Stream, Runnable> op) {
        check(args, m, names, knownGaps, x -> false, op);
    }

    /** As above; {@code alsoValid} says which mutations produce another valid configuration (op-specific relations). */
    static void check(List<Arg> args, Mutation m, Set<String> names, Set<String> knownGaps,
            java.util.function.Predicate<Mutation> alsoValid, BiFunction<Map<String, DeviceTensor>, Stream, Runnable> op) {
        if (GPU.get() != null) {
            GpuMutations.check(GPU.get(), args, m, names, mayStayValid(m, args) || alsoValid.test(m), op);
            return;
        }
        Device dev = Simulated.device(0);
        Stream stream = Simulated.stream(dev);
        Map<String, DeviceTensor> ts = new LinkedHashMap<>();
        List<DeviceTensor> owners = new ArrayList<>();
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
            Device d = hit && m.kind() == Kind.OTHER_DEVICE ? Simulated.device(1) : dev;
            DeviceTensor t;
            if (hit && m.kind() == Kind.MISALIGNED) {
                // 2 bytes off: misaligned for every alignment the ops require (4 or 16 bytes)
                t = Simulated.wrap(Simulated.fakeAddress(0) + 2, d, dt, shape);
            } else {
                t = Simulated.tensor(d, dt, shape);
                owners.add(t);
            }
            if (hit && m.kind() == Kind.CLOSED) t.close();
            ts.put(a.name(), t);
        }
        try {
            Simulated.Outcome o = Simulated.validate(stream, op.apply(ts, stream));
            boolean mayBeValid = mayStayValid(m, args) || alsoValid.test(m);
            if (m.kind() == Kind.NONE) {
                assertFalse(o instanceof Simulated.Outcome.Rejected, () -> "valid arguments rejected: "
                        + ((Simulated.Outcome.Rejected) o).error().getMessage());
                return;
            }
            if (o instanceof Simulated.Outcome.Rejected rej) {
                String msg = rej.error().getMessage();
                assertFalse(rej.activated(), "rejected only after activating the stream: " + msg);
                boolean named = names.stream().anyMatch(n -> msg.startsWith(n + ":") || msg.startsWith(n + "."))
                        || (m.kind() == Kind.OTHER_DEVICE && msg.startsWith("tensor ") && msg.contains("cuda:1"));
                assertTrue(named, m + ": message does not start with an argument name " + names + ": " + msg);
            } else if (!mayBeValid) {
                String key = m.kind() + " " + m.arg() + " " + m.dim();
                if (knownGaps.contains(key)) KNOWN_GAPS_SEEN.add(key);
                else fail(m + ": accepted (the op would have launched)");
            }
        } finally {
            for (DeviceTensor t : owners) t.close();
            stream.close();
        }
    }
}
