package io.kernels4j.examples;

import io.kernels4j.ops.Cuda;
import java.io.PrintStream;

/** What every example shares: the exit codes and the GPU probe before the first device call. */
public final class Examples {
    /** The example ran and its result matched the reference. */
    public static final int OK = 0;
    /** The example ran but its result did not match the reference. */
    public static final int MISMATCH = 1;
    /** No usable GPU (or emulated device): nothing was run. */
    public static final int NO_GPU = 2;

    private Examples() {}

    /** An example body: prints what it does to {@code out}, returns {@link #OK} or {@link #MISMATCH}. */
    @FunctionalInterface
    public interface Body {
        /**
         * Runs the example.
         *
         * @param out where it prints what it does
         * @return {@link #OK} or {@link #MISMATCH}
         * @throws Exception if it cannot run
         */
        int run(PrintStream out) throws Exception;
    }

    /**
     * Null when a device is usable, else why not. Never throws: a native library that cannot load
     * here (no CUDA runtime, other platform) is a reason like any other.
     *
     * @return null, or the reason there is no usable device
     */
    public static String noDeviceReason() {
        try {
            var a = Cuda.availability();
            return a.available() ? null : a.reason();
        } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError...: the library is not usable here
            return "the kernels4j native library cannot be used here (" + t + ")";
        }
    }

    /**
     * Runs {@code body} when a device is usable; returns the exit code (see the constants).
     *
     * @param name the example's name, for the printed lines
     * @param body the example
     * @param out where the example prints what it does
     * @param err where the reason goes when there is no usable device
     * @return {@link #OK}, {@link #MISMATCH} or {@link #NO_GPU}
     * @throws Exception if the example cannot run
     */
    public static int run(String name, Body body, PrintStream out, PrintStream err) throws Exception {
        String reason = noDeviceReason();
        if (reason != null) {
            err.println(name + ": no usable GPU: " + reason + ". This example needs a CUDA GPU (Hopper, Ada or Ampere)"
                    + " or, where it is built, the CPU emulated device (-Dkernels4j.device=emulator).");
            return NO_GPU;
        }
        int rc = body.run(out);
        out.println(name + ": " + (rc == OK ? "OK, result matches the reference" : "MISMATCH against the reference"));
        return rc;
    }

    /**
     * For a main: runs and exits with the code (2 without a GPU, 1 on a mismatch).
     *
     * @param name the example's name, for the printed lines
     * @param body the example
     */

    public static void main(String name, Body body) {
        int rc;
        try {
            rc = run(name, body, System.out, System.err);
        } catch (Exception e) {
            System.err.println(name + ": failed: " + e);
            e.printStackTrace();
            rc = MISMATCH;
        }
        System.exit(rc);
    }

    /** "PASS"/"FAIL" for a printed check line. */
    static String verdict(boolean ok) {
        return ok ? "PASS" : "FAIL";
    }
}
