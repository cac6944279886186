package io.kernels4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.testing.RequiresGpu;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Runs every example as its main would (exit code 0 = its result matched the reference). Skipped
 * without a GPU; the emulated device runs them once it exists (-Dkernels4j.device=emulator).
 */
class ExamplesTest {
    private static void runs(String name, Examples.Body body) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int rc;
        try (PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            rc = Examples.run(name, body, out, out);
        }
        String printed = buf.toString(StandardCharsets.UTF_8);
        System.out.print(printed);
        assertEquals(Examples.OK, rc, name + " printed:\n" + printed);
        assertTrue(printed.contains(name + ": OK"), printed);
    }

    @Test
    @RequiresGpu
    void fp8Gemm() throws Exception {
        runs("Fp8GemmExample", Fp8GemmExample::run);
    }

    @Test
    @RequiresGpu
    void moeLayer() throws Exception {
        runs("MoeLayerExample", MoeLayerExample::run);
    }

    @Test
    @RequiresGpu
    void mlaDecodeStep() throws Exception {
        runs("MlaDecodeExample", MlaDecodeExample::run);
    }

    @Test
    @RequiresGpu
    void safetensorsFp8Weights() throws Exception {
        runs("SafetensorsFp8Example", SafetensorsFp8Example::run);
    }

    /** Without a device, an example says why and returns exit code 2 without running its body. */
    @Test
    void noGpuExitsWithTwo() throws Exception {
        String reason = Examples.noDeviceReason();
        Assumptions.assumeTrue(reason != null, "a device is usable here; the no-GPU path is not reachable");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc;
        try (PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            rc = Examples.run("X", o -> {
                throw new AssertionError("body must not run without a device");
            }, System.out, e);
        }
        assertEquals(Examples.NO_GPU, rc);
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("X: no usable GPU: " + reason), err.toString(StandardCharsets.UTF_8));
    }
}
