package io.kernels4j.ops;

import io.kernels4j.bindings.Kernels4jNative;
import java.util.ArrayList;
import java.util.List;

/**
 * Kernels met device-side data they had to skip or clamp (an expert id outside [0, E), a page id
 * outside the cache, a length past its table, more rows than a capacity). Raised by
 * {@link Stream#checkDeviceErrors()}; nothing was read or written out of bounds.
 */
public class DeviceDataException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** The {@code K4J_DEVERR_*} bits that were set. */
    private final int bits;

    /**
     * Creates the exception for the bits read from a stream's error word.
     *
     * @param bits the {@code K4J_DEVERR_*} bits
     */
    public DeviceDataException(int bits) {
        super("kernels skipped invalid device data: " + describe(bits));
        this.bits = bits;
    }

    /**
     * Raised by the debug-mode check right after {@code op} (see {@link Stream#afterOp}).
     *
     * @param bits the {@code K4J_DEVERR_*} bits
     * @param op the op whose launch was followed by the check
     */
    public DeviceDataException(int bits, String op) {
        super(op + ": kernels skipped invalid device data: " + describe(bits));
        this.bits = bits;
    }

    /**
     * The K4J_DEVERR_* bits that were raised.
     *
     * @return the bits
     */
    public int bits() {
        return bits;
    }

    /**
     * Names the bits, e.g. {@code "INDEX_OUT_OF_RANGE|CAPACITY_OVERFLOW"}.
     *
     * @param bits {@code K4J_DEVERR_*} bits
     * @return their names, joined by {@code |}
     */
    public static String describe(int bits) {
        List<String> parts = new ArrayList<>();
        if ((bits & Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE) != 0)
            parts.add("index out of range (expert id, page id or row index)");
        if ((bits & Kernels4jNative.K4J_DEVERR_LENGTH_OUT_OF_RANGE) != 0)
            parts.add("length out of range (sequence length past its block table, negative or too large count)");
        if ((bits & Kernels4jNative.K4J_DEVERR_CAPACITY_OVERFLOW) != 0)
            parts.add("capacity overflow (more rows than the output holds; extra rows dropped)");
        int known = Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE | Kernels4jNative.K4J_DEVERR_LENGTH_OUT_OF_RANGE
                | Kernels4jNative.K4J_DEVERR_CAPACITY_OVERFLOW;
        if ((bits & ~known) != 0) parts.add("unknown bits 0x" + Integer.toHexString(bits & ~known));
        return parts.isEmpty() ? "none" : String.join("; ", parts);
    }
}
