package io.kernels4j.ops.gemm;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.OpSupport;
import java.util.Arrays;

/**
 * What the host-side argument checks of this package look at: an argument's name, dtype, shape and
 * device address. Kept apart from {@link DeviceTensor} so that the checks themselves run (and are
 * tested) without a GPU.
 */
record TensorArg(String name, DType dtype, long[] shape, long address) {
    /** The tensor's description, or null for an absent optional tensor. Rejects closed tensors. */
    static TensorArg of(DeviceTensor t, String name) {
        if (t == null) return null;
        if (t.isClosed()) throw new IllegalArgumentException(name + ": tensor " + t + " is closed");
        return new TensorArg(name, t.dtype(), t.shape(), OpSupport.address(t));
    }

    /**
     * The allocation-free twin of {@code required(of(t, name)).requireShapeOneOf({dtype, dtype2}, d0, d1, d2)
     * .requireAligned(align)} for tensors of rank {@code rank <= 3} (unused trailing dims are ignored):
     * true when {@code t} is non-null, open, of {@code dtype} or {@code dtype2} (may be null), of that
     * rank and shape ({@code -1} matches any size) and aligned. It says only whether the checks pass;
     * on false the caller runs the full checks, which throw with the message.
     */
    static boolean passes(DeviceTensor t, DType dtype, DType dtype2, int rank, long d0, long d1, long d2, int align) {
        if (t == null || t.isClosed()) return false;
        DType dt = t.dtype();
        if ((dt != dtype && dt != dtype2) || t.rank() != rank) return false;
        if (rank > 0 && d0 >= 0 && t.dim(0) != d0) return false;
        if (rank > 1 && d1 >= 0 && t.dim(1) != d1) return false;
        if (rank > 2 && d2 >= 0 && t.dim(2) != d2) return false;
        return OpSupport.address(t) % align == 0;
    }

    /** {@code t} is null or on {@code stream}'s device (the fast form of Checks.requireSameDevice; the stream is open). */
    static boolean onDevice(DeviceTensor t, Stream stream) {
        return t == null || t.device() == stream.device();
    }

    /** Thrown when an allocation-free check and the full check it shortcuts disagree (a bug in this package). */
    static IllegalStateException disagree(String op) {
        return new IllegalStateException(op + ": internal error: the fast argument check rejected arguments that the full check accepts");
    }

    static TensorArg required(TensorArg t, String name) {
        if (t == null) throw new IllegalArgumentException(name + ": must not be null");
        return t;
    }

    long dim(int i) {
        return shape[i];
    }

    int rank() {
        return shape.length;
    }

    /** Checks dtype and rank only; the caller reads the sizes it needs from the shape. */
    TensorArg requireRank(int rank, DType... dtypes) {
        boolean ok = shape.length == rank;
        boolean typeOk = false;
        for (DType d : dtypes) typeOk |= d == dtype;
        if (!ok || !typeOk) {
            long[] any = new long[rank];
            Arrays.fill(any, -1);
            throw mismatch(dtypes, any);
        }
        return this;
    }

    /** Checks dtype and exact shape ({@code -1} matches any size). */
    TensorArg requireShape(DType dtype, long... expected) {
        return requireShapeOneOf(new DType[] {dtype}, expected);
    }

    TensorArg requireShapeOneOf(DType[] dtypes, long... expected) {
        boolean ok = shape.length == expected.length;
        for (int i = 0; ok && i < expected.length; i++) ok = expected[i] < 0 || expected[i] == shape[i];
        boolean typeOk = false;
        for (DType d : dtypes) typeOk |= d == dtype;
        if (!ok || !typeOk) throw mismatch(dtypes, expected);
        return this;
    }

    /** The device address is a multiple of {@code bytes}. */
    TensorArg requireAligned(int bytes) {
        if (address % bytes != 0)
            throw new IllegalArgumentException(name + ": device address 0x" + Long.toHexString(address) + " is not " + bytes
                    + "-byte aligned");
        return this;
    }

    private IllegalArgumentException mismatch(DType[] dtypes, long[] expected) {
        StringBuilder sb = new StringBuilder(name).append(": expected ");
        sb.append(dtypes.length == 1 ? dtypes[0].toString() : String.join("|", Arrays.stream(dtypes).map(Enum::name).toList()));
        sb.append('[');
        for (int i = 0; i < expected.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(expected[i] < 0 ? "*" : Long.toString(expected[i]));
        }
        sb.append("], got ").append(dtype).append(Arrays.toString(shape));
        return new IllegalArgumentException(sb.toString());
    }
}
