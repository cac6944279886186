package io.kernels4j.validation.gemm;

import io.kernels4j.ops.testing.RequiresGpu;
import io.kernels4j.validation.testing.CheckSuiteTests;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

/** The FP8 GEMM and quantiser checks ({@link Fp8GemmChecks}) on the GPU. */
@RequiresGpu
@Tag("gemm") // the pom's emulated executions select kernel families by these tags
class Fp8GemmGpuTest {
    @TestFactory
    Stream<DynamicTest> fp8Gemm() {
        return CheckSuiteTests.dynamicTests(new Fp8GemmChecks());
    }
}
