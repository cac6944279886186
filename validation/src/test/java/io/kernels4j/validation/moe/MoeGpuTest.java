package io.kernels4j.validation.moe;

import io.kernels4j.ops.testing.RequiresGpu;
import io.kernels4j.validation.testing.CheckSuiteTests;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

/** Runs the moe checks (layout, dispatch, combine, SiLU-mul, and the end-to-end layer) on the GPU. */
@RequiresGpu
@Tag("moe") // the pom's emulated executions select kernel families by these tags
class MoeGpuTest {
    @TestFactory
    Stream<DynamicTest> moeChecks() {
        return CheckSuiteTests.dynamicTests(new MoeChecks());
    }

    @TestFactory
    Stream<DynamicTest> moeLayerChecks() {
        return CheckSuiteTests.dynamicTests(new MoeLayerChecks());
    }
}
