package io.kernels4j.validation.mla;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.bindings.MlaNative;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.internal.OpSupport;
import io.kernels4j.ops.mla.MlaDecode;
import io.kernels4j.ops.testing.GpuTestSupport;
import io.kernels4j.ops.testing.RequiresGpu;
import io.kernels4j.validation.CheckSuite;
import io.kernels4j.validation.testing.CheckSuiteTests;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** GPU tests of the MLA ops: every {@link MlaChecks} case, plus the native size queries and native checks. */
@RequiresGpu
@Tag("mla") // the pom's emulated executions select kernel families by these tags
class MlaGpuTest {
    @TestFactory
    Stream<DynamicTest> checks() {
        return CheckSuiteTests.dynamicTests(new MlaChecks());
    }

    @Test
    void registeredWithCheck() {
        assertTrue(CheckSuite.all().stream().anyMatch(s -> s.family().equals("mla")));
    }

    @Test
    void nativeSizeQueriesAgreeWithJava() throws Throwable {
        int sms = GpuTestSupport.device().smCount();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment w = a.allocate(ValueLayout.JAVA_LONG), n = a.allocate(ValueLayout.JAVA_LONG);
            for (int fixed : new int[] {0, 1, 3}) {
                int rc = (int) MlaNative.k4j_mla_schedule_sizes.invokeExact(128L, 0, fixed, w, n);
                assertEquals(0, rc);
                assertEquals(MlaDecode.scheduleInts(128, sms, fixed), n.get(ValueLayout.JAVA_LONG, 0));
                rc = (int) MlaNative.k4j_mla_workspace_bytes.invokeExact(128L, 2L, 128L, 0, fixed, w);
                assertEquals(0, rc);
                assertEquals(MlaDecode.workspaceBytes(128, 2, 128, sms, fixed), w.get(ValueLayout.JAVA_LONG, 0));
            }
        }
    }

    @Test
    void nativeLayerRejectsWhatJavaWouldHaveCaught() throws Throwable {
        // Bypass the Java checks: page size 40 must come back as K4J_ERR_INVALID_ARGUMENT naming page_size.
        try (Scope scope = Scope.open(GpuTestSupport.device())) {
            DeviceTensor seq = scope.allocate(DType.INT32, 4);
            DeviceTensor sched = scope.allocate(DType.INT32, 4096);
            var st = GpuTestSupport.stream();
            int rc = (int) MlaNative.k4j_mla_schedule.invokeExact(OpSupport.address(seq), 4L, 40, 8L, 0, 0, OpSupport.address(sched),
                    sched.numel(), OpSupport.errorFlagAddress(st), OpSupport.handle(st));
            assertEquals(-1, rc);
            assertTrue(io.kernels4j.bindings.Kernels4jNative.lastError().startsWith("page_size"),
                    io.kernels4j.bindings.Kernels4jNative.lastError());
            assertThrows(IllegalArgumentException.class,
                    () -> MlaDecode.schedule(seq, 40, 8, 0, 0, sched, st));
        }
    }
}
