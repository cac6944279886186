package io.kernels4j.validation;

import io.kernels4j.bindings.NativeLibrary;

/**
 * Emulator-sized check shapes. The CPU emulated device runs every check case, but a CPU cannot run
 * DeepSeek-V3-sized problems in CI time; so on the emulator a dimension above its cap becomes the
 * cap (rounded down to the granule) plus the dimension's remainder modulo the granule: the shape
 * class is kept (tails, partial tiles, alignment), the bulk is not. On a GPU every size is
 * unchanged. Case names always show the size that actually ran.
 */
public final class EmulatorSizes {
    private EmulatorSizes() {}

    /** Whether this JVM selected the CPU emulated device ({@code kernels4j.device=emulator}). */
    public static final boolean ACTIVE = selected();

    private static boolean selected() {
        try {
            return NativeLibrary.selection().emulated();
        } catch (RuntimeException e) {
            return false; // an invalid selection fails loudly when the library loads
        }
    }

    /**
     * A dimension of a check shape, on the emulator shrunk to at most about {@code cap} with its
     * remainder modulo {@code granule} kept.
     *
     * @param d       the GPU size

     * @param cap     the largest size the emulator runs for this dimension
     * @param granule the tile or block size whose remainder must be kept
     * @return {@code d} on a GPU or when {@code d <= cap}; else {@code cap / granule * granule + d % granule}
     */
    public static int dim(int d, int cap, int granule) {
        if (!ACTIVE || d <= cap) return d;
        return cap / granule * granule + d % granule;
    }
}
