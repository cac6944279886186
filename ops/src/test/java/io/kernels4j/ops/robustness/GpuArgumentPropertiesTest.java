package io.kernels4j.ops.robustness;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.Stream;
import io.kernels4j.ops.testing.GpuTestSupport;
import io.kernels4j.ops.testing.RequiresGpu;
import java.util.SplittableRandom;
import java.util.function.LongConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The hostile-argument properties of every op, run on real tensors (see {@link GpuMutations}): a
 * valid call runs, a broken one is an IllegalArgumentException naming an argument with nothing
 * launched. (jqwik does not honour JUnit Jupiter's GPU condition, hence plain seeded loops here.)
 */
@RequiresGpu
class GpuArgumentPropertiesTest {
    /** Random argument sets per property (fewer on the emulator, where each valid call runs a real kernel on the CPU). */
    static int cases() {
        return GpuTestSupport.scaled(60, 20);
    }
    private GpuMutations.Mode mode;
    private Stream stream;

    @BeforeEach
    void gpuMode() {
        stream = Stream.create(GpuTestSupport.device());
        mode = new GpuMutations.Mode(GpuTestSupport.device(), stream);
        Mutations.GPU.set(mode);
    }

    @AfterEach
    void cpuMode() {
        Mutations.GPU.remove();
        System.out.println("[gpu properties] accepted " + mode.accepted + ", rejected " + mode.rejected + ", skipped " + mode.skipped);
        stream.close();
    }

    private static void run(String what, LongConsumer property) {
        SplittableRandom r = new SplittableRandom(GpuTestSupport.seed("GpuArgumentPropertiesTest." + what));
        for (int i = 0, n = cases(); i < n; i++) property.accept(r.nextLong());
    }

    @Test
    void gemm() {
        GemmArgumentProperties p = new GemmArgumentProperties();
        run("dense", p::denseRejectsEveryBrokenArgument);
        run("contiguous", p::groupedContiguousAndEndsRejectEveryBrokenArgument);
        run("masked", p::groupedMaskedRejectsEveryBrokenArgument);
        run("quantize", p::quantizersRejectEveryBrokenArgument);
        assertTrue(mode.accepted > 0 && mode.rejected > 0, "accepted " + mode.accepted + ", rejected " + mode.rejected);
    }

    @Test
    void mla() {
        MlaArgumentProperties p = new MlaArgumentProperties();
        run("schedule", p::scheduleRejectsEveryBrokenArgument);
        run("write", p::kvCacheWriteRejectsEveryBrokenArgument);
        assertTrue(mode.accepted > 0 && mode.rejected > 0, "accepted " + mode.accepted + ", rejected " + mode.rejected);
    }

    @Test
    void moe() {
        MoeArgumentProperties p = new MoeArgumentProperties();
        run("layout", p::layoutRejectsEveryBrokenArgument);
        run("dispatchContiguous", p::dispatchContiguousRejectsEveryBrokenArgument);
        run("dispatchMasked", p::dispatchMaskedRejectsEveryBrokenArgument);
        run("combine", p::combineRejectsEveryBrokenArgument);
        run("silu", p::siluAndMulRejectsEveryBrokenArgument);
        assertTrue(mode.accepted > 0 && mode.rejected > 0, "accepted " + mode.accepted + ", rejected " + mode.rejected);
    }
}
