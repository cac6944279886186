package io.kernels4j.ops.robustness;

import static org.junit.jupiter.api.Assertions.*;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Simulated;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.Checks;
import io.kernels4j.ops.internal.OpSupport;
import java.math.BigInteger;
import java.util.Arrays;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * Property-based hostile arguments for the core (no GPU: simulated devices). Each call either
 * succeeds with the right result or throws IllegalArgumentException whose message starts with the
 * argument's name; nothing else (no NullPointerException, ArithmeticException, overflowed sizes).
 */
class CoreArgumentProperties {
    private static final Device DEV = Simulated.device(0);
    private static final Stream STREAM = Simulated.stream(DEV);

    /** Dimensions a hostile caller might pass: small, zero, negative, near int and long limits. */
    @Provide
    Arbitrary<long[]> shapes() {
        Arbitrary<Long> dim = Arbitraries.oneOf(
                Arbitraries.longs().between(0, 9),
                Arbitraries.longs().between(-3, -1),
                Arbitraries.of(Integer.MAX_VALUE - 1L, (long) Integer.MAX_VALUE, Integer.MAX_VALUE + 1L, 1L << 31, 1L << 32,
                        1L << 40, Long.MAX_VALUE / 2, Long.MAX_VALUE, Long.MIN_VALUE, 4096L, 7168L, 65536L));
        return dim.array(long[].class).ofMinSize(0).ofMaxSize(5);
    }

    @Provide
    Arbitrary<DType> dtypes() {
        return Arbitraries.of(DType.values()).injectNull(0.05);
    }

    static BigInteger bytesOf(DType d, long[] shape) {
        BigInteger n = BigInteger.valueOf(d.byteSize());
        for (long s : shape) n = n.multiply(BigInteger.valueOf(s));
        return n;
    }

    static boolean validShape(DType d, long[] shape) {
        for (long s : shape) if (s < 0) return false;
        BigInteger elems = BigInteger.ONE;
        for (long s : shape) elems = elems.multiply(BigInteger.valueOf(s));
        return elems.bitLength() < 64 && bytesOf(d, shape).bitLength() < 64;
    }

    static void assertNames(IllegalArgumentException e, String... names) {
        String m = e.getMessage();
        assertNotNull(m);
        for (String n : names) if (m.startsWith(n + ":")) return;
        fail("message should start with one of " + Arrays.toString(names) + ": " + m);
    }

    @Property(tries = 300)
    void wrapAcceptsExactlyTheRepresentableShapes(@ForAll("dtypes") DType dtype, @ForAll("shapes") long[] shape) {
        try {
            DeviceTensor t = Simulated.wrap(Simulated.fakeAddress(0), DEV, dtype, shape);
            assertNotNull(dtype);
            assertTrue(validShape(dtype, shape), "accepted " + dtype + Arrays.toString(shape));
            assertEquals(bytesOf(dtype, shape).longValueExact(), t.byteSize());
            assertArrayEquals(shape, t.shape());
            long[] copy = t.shape();
            if (copy.length > 0) copy[0] = 99; // the tensor's shape is not aliased
            assertArrayEquals(shape, t.shape());
        } catch (IllegalArgumentException e) {
            assertTrue(dtype == null || !validShape(dtype, shape), "rejected a valid shape: " + e.getMessage());
            assertNames(e, "shape", "dtype");
        }
    }

    @Property(tries = 300)
    void viewAndReshapeKeepTheByteSize(@ForAll("shapes") long[] from, @ForAll("dtypes") DType fromType,
            @ForAll("shapes") long[] to, @ForAll("dtypes") DType toType) {
        if (fromType == null || !validShape(fromType, from)) return;
        DeviceTensor base = Simulated.wrap(Simulated.fakeAddress(0), DEV, fromType, from);
        try {
            DeviceTensor v = base.view(toType, to);
            assertNotNull(toType);
            assertTrue(validShape(toType, to));
            assertEquals(base.byteSize(), v.byteSize());
            assertEquals(OpSupport.address(base), OpSupport.address(v));
            assertFalse(v.isOwner());
        } catch (IllegalArgumentException e) {
            assertTrue(toType == null || !validShape(toType, to) || !bytesOf(toType, to).equals(bytesOf(fromType, from)),
                    "rejected a valid view: " + e.getMessage());
            assertNames(e, "shape", "dtype");
        }
    }

    @Property(tries = 300)
    void sliceStaysInsideItsTensor(@ForAll @IntRange(min = 0, max = 3) int rank, @ForAll @IntRange(min = 0, max = 6) int d0,
            @ForAll @IntRange(min = 1, max = 5) int d1, @ForAll("bounds") long from, @ForAll("bounds") long to,
            @ForAll("dtypes") DType dtype) {
        if (dtype == null) return;
        long[] shape = new long[rank];
        for (int i = 0; i < rank; i++) shape[i] = i == 0 ? d0 : d1;
        DeviceTensor t = Simulated.wrap(Simulated.fakeAddress(0), DEV, dtype, shape);
        boolean valid = rank > 0 && from >= 0 && from <= to && to <= d0;
        try {
            DeviceTensor s = t.slice(from, to);
            assertTrue(valid, "accepted slice [" + from + ", " + to + ") of " + t);
            long rowBytes = t.byteSize() / Math.max(1, d0);
            assertEquals(to - from, s.dim(0));
            assertEquals(OpSupport.address(t) + from * rowBytes, OpSupport.address(s));
            assertTrue(OpSupport.address(s) + s.byteSize() <= OpSupport.address(t) + t.byteSize(), "slice past the end");
        } catch (IllegalArgumentException e) {
            assertFalse(valid, "rejected a valid slice: " + e.getMessage());
            assertNames(e, "slice");
        }
    }

    @Provide
    Arbitrary<Long> bounds() {
        return Arbitraries.oneOf(Arbitraries.longs().between(-2, 8), Arbitraries.of(Long.MIN_VALUE, Long.MAX_VALUE));
    }

    @Property(tries = 300)
    void requireTensorMatchesDtypeRankAndShape(@ForAll("dtypes") DType actual, @ForAll("dtypes") DType expected,
            @ForAll("smallShapes") long[] have, @ForAll("pattern") long[] want) {
        if (actual == null || expected == null) return;
        DeviceTensor t = Simulated.wrap(Simulated.fakeAddress(0), DEV, actual, have);
        boolean ok = actual == expected && have.length == want.length;
        for (int i = 0; ok && i < want.length; i++) ok = want[i] == Checks.ANY || want[i] == have[i];
        try {
            assertSame(t, Checks.requireTensor(t, "kvCache", expected, want));
            assertTrue(ok);
        } catch (IllegalArgumentException e) {
            assertFalse(ok, e.getMessage());
            assertNames(e, "kvCache");
            assertTrue(e.getMessage().contains(actual.toString()), e.getMessage());
        }
    }

    @Provide
    Arbitrary<long[]> smallShapes() {
        return Arbitraries.longs().between(0, 3).array(long[].class).ofMaxSize(3);
    }

    @Provide
    Arbitrary<long[]> pattern() {
        return Arbitraries.oneOf(Arbitraries.longs().between(0, 3), Arbitraries.just(Checks.ANY)).array(long[].class).ofMaxSize(3);
    }

    @Property(tries = 200)
    void scalarChecks(@ForAll long v, @ForAll long of) {
        check(v > 0, () -> Checks.requirePositive(v, "n"), "n");
        check(v >= 0, () -> Checks.requireNonNegative(v, "n"), "n");
        check(of > 0 && v % of == 0, () -> Checks.requireMultiple(v, of, "k"), "k", "of");
    }

    @Property(tries = 200)
    void hostCopiesCheckSizesBeforeAnyCuda(@ForAll("smallShapes") long[] shape, @ForAll @IntRange(min = 0, max = 40) int len) {
        DeviceTensor t = Simulated.tensor(DEV, DType.FP32, shape);
        try {
            // A correctly sized copy passes validation and stops at the simulated device (no CUDA).
            Runnable copy = () -> t.copyFrom(new float[len]);
            if (len * 4L == t.byteSize()) assertThrows(IllegalStateException.class, copy::run);
            else assertNames(assertThrows(IllegalArgumentException.class, copy::run), "src");
            Runnable ints = () -> t.copyFrom(new int[len]);
            if (len * 4L == t.byteSize()) assertThrows(IllegalStateException.class, ints::run);
            else assertNames(assertThrows(IllegalArgumentException.class, ints::run), "src");
        } finally {
            t.close();
        }
    }

    @Property(tries = 200)
    void fillIsAcceptedOnlyOnAnOpenTensorOnTheStreamsDevice(@ForAll boolean closeIt, @ForAll boolean otherDevice,
            @ForAll boolean closeStream, @ForAll int pattern) {
        Device d = otherDevice ? Simulated.device(1) : DEV;
        Stream s = closeStream ? Simulated.stream(DEV) : STREAM;
        if (closeStream) s.close();
        DeviceTensor t = Simulated.tensor(d, DType.BF16, 3, 5);
        if (closeIt) t.close();
        Simulated.Outcome o;
        try {
            o = Simulated.validate(s, () -> t.fill(pattern, s));
        } catch (IllegalStateException closedTensor) {
            // address() of a closed tensor after activate(): the op stops before the downcall
            assertTrue(closeIt && !otherDevice && !closeStream, closedTensor.getMessage());
            assertFalse(Simulated.inOp());
            return;
        } finally {
            t.close();
        }
        if (!closeIt && !otherDevice && !closeStream) assertInstanceOf(Simulated.Outcome.Accepted.class, o);
        else if (otherDevice || closeStream) {
            Simulated.Outcome.Rejected r = assertInstanceOf(Simulated.Outcome.Rejected.class, o);
            assertFalse(r.activated(), "rejected after activating the stream");
        }
    }

    private static void check(boolean valid, Runnable call, String... names) {
        try {
            call.run();
            assertTrue(valid);
        } catch (IllegalArgumentException e) {
            assertFalse(valid, e.getMessage());
            assertNames(e, names);
        }
    }
}
