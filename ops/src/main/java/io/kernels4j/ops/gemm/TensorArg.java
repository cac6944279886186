package io.kernels4j.ops.gemm;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
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
        return new TensorArg(name, t.dtype(), t.shape(), t.address());
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
