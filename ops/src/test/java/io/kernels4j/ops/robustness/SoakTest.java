package io.kernels4j.ops.robustness;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.testing.GpuTestSupport;
import io.kernels4j.ops.testing.RequiresGpu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The soak as a test: {@code mvn verify -Dkernels4j.soak.seconds=300} (excluded by default). */
@RequiresGpu
@Tag("soak")
class SoakTest {
    @Test
    void soak() {
        long seconds = Long.getLong("kernels4j.soak.seconds", 60);
        Soak.Summary s = Soak.run(seconds, GpuTestSupport.seed("soak"), GpuTestSupport.device());
        System.out.println(s);
        assertTrue(s.ok(), s.toString());
        assertTrue(s.iterations() > 0, "no op ran");
    }
}
