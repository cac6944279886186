package io.kernels4j.validation.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.testing.GpuTestSupport;
import io.kernels4j.validation.CheckCase;
import io.kernels4j.validation.CheckContext;
import io.kernels4j.validation.CheckResult;
import io.kernels4j.validation.CheckSuite;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;

/** Turns a {@link CheckSuite} into JUnit dynamic tests (use from a {@code @RequiresGpu @TestFactory}). */
public final class CheckSuiteTests {
    private CheckSuiteTests() {}

    public static Stream<DynamicTest> dynamicTests(CheckSuite suite) {
        return suite.cases().stream().map(c -> DynamicTest.dynamicTest(c.op() + " " + c.name(), () -> run(c)));
    }

    public static void run(CheckCase c) throws Exception {
        long seed = GpuTestSupport.seed(c.op() + " " + c.name());
        CheckResult r = c.run(new CheckContext(GpuTestSupport.device(), GpuTestSupport.stream(), seed));
        System.out.println("[check] " + c.op() + " " + c.name() + ": " + (r.passed() ? "PASS" : "FAIL") + " " + r.metrics());
        assertTrue(r.passed(), () -> c.op() + " " + c.name() + " (seed " + seed + "): " + r.message() + " " + r.metrics());
    }
}
