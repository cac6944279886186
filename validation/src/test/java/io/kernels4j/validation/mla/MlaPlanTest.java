package io.kernels4j.validation.mla;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.mla.MlaDecode;
import io.kernels4j.ops.testing.RequiresGpu;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The MLA decode's kernel family ({@link MlaDecode#plan}): the Hopper wgmma family on sm_90, the portable
 * mma.sync family on sm_80/sm_89, and the {@code KERNELS4J_MLA_FAMILY} override. The variable is read
 * once per process, so the pom runs this class in JVMs of their own with it set to {@code mma} (with
 * every MLA check case) and to a bad value; in the other JVMs it is unset.
 */
@RequiresGpu
@Tag("mla")
class MlaPlanTest {
    static final String ENV = System.getenv("KERNELS4J_MLA_FAMILY");
    static final boolean ENV_VALID = ENV == null || Set.of("", "auto", "wgmma", "mma").contains(ENV);
    static final int B = 2, SQ = 2, HQ = 128, PAGE = 64, BLOCKS = 4;
    static Scope scope;
    static Stream stream;
    static Device dev;
    static boolean hopper;
    static DeviceTensor q, bf16, fp8;

    @BeforeAll
    static void open() {
        dev = Device.current();
        hopper = dev.ccMajor() == 9 && dev.ccMinor() == 0;
        scope = Scope.open(dev);
        stream = Stream.create();
        // plan reads shapes only: the contents are never read.
        q = scope.allocate(DType.BF16, B, SQ, HQ, 576);
        bf16 = scope.allocate(DType.BF16, BLOCKS, PAGE, 1, 576);
        fp8 = scope.allocate(DType.FP8_E4M3, BLOCKS, PAGE, 1, 656);
    }

    @AfterAll
    static void close() {
        stream.close();
        scope.close();
    }

    static void assertHas(String plan, String part) {
        assertTrue(plan.contains(part), () -> "plan \"" + plan + "\" lacks \"" + part + "\"");
    }

    @Test
    void familyByArchitectureAndVariable() {
        assumeTrue(ENV_VALID, "KERNELS4J_MLA_FAMILY='" + ENV + "' is not a valid value (badVariableIsAClearError covers it)");
        boolean forced = "wgmma".equals(ENV), portable = "mma".equals(ENV);
        if (forced && !hopper) {
            var e = assertThrows(UnsupportedOperationException.class, () -> MlaDecode.plan(q, bf16, stream));
            assertTrue(e.getMessage().contains("KERNELS4J_MLA_FAMILY=wgmma"), e.getMessage());
            return;
        }
        boolean wgmma = hopper && !portable;
        for (DeviceTensor cache : new DeviceTensor[] {bf16, fp8}) {
            String p = MlaDecode.plan(q, cache, stream);
            assertHas(p, wgmma ? "family=wgmma " : "family=mma.sync ");
            assertHas(p, cache == fp8 ? "kv=fp8 " : "kv=bf16 ");
            // 256 query rows per KV head: 4 CTAs of 64 rows (wgmma) or 8 of 32 (mma.sync) per work item.
            assertHas(p, wgmma ? "rows_per_cta=64 keys_per_tile=64 ctas_per_work_item=4 threads=384 "
                    : "rows_per_cta=32 ");
            if (!wgmma) assertHas(p, "ctas_per_work_item=8 ");
            assertHas(p, portable ? "(KERNELS4J_MLA_FAMILY=mma)" : forced ? "(KERNELS4J_MLA_FAMILY=wgmma)"
                    : hopper ? "(sm_90 TMA + wgmma)" : "(not sm_90)");
        }
    }

    @Test
    void argumentsAreCheckedByName() {
        var e = assertThrows(IllegalArgumentException.class, () -> MlaDecode.plan(q, bf16, null));
        assertTrue(e.getMessage().startsWith("stream"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MlaDecode.plan(null, bf16, stream));
        assertTrue(e.getMessage().startsWith("q"), e.getMessage());
        try (Scope s = Scope.open(dev)) {
            DeviceTensor f32 = s.allocate(DType.FP32, BLOCKS, PAGE, 1, 576);
            e = assertThrows(IllegalArgumentException.class, () -> MlaDecode.plan(q, f32, stream));
            assertTrue(e.getMessage().startsWith("kvCache"), e.getMessage());
            DeviceTensor threeHeads = s.allocate(DType.BF16, BLOCKS, PAGE, 3, 576);
            e = assertThrows(IllegalArgumentException.class, () -> MlaDecode.plan(q, threeHeads, stream));
            assertTrue(e.getMessage().contains("multiple of hKV"), e.getMessage());
            DeviceTensor page24 = s.allocate(DType.BF16, BLOCKS, 24, 1, 576);
            e = assertThrows(IllegalArgumentException.class, () -> MlaDecode.plan(q, page24, stream));
            assertTrue(e.getMessage().startsWith("pageSize"), e.getMessage());
        }
    }

    @Test
    void badVariableIsAClearError() {
        assumeFalse(ENV_VALID, "KERNELS4J_MLA_FAMILY is unset or valid in this JVM (the pom sets a bad value in one of its own)");
        var e = assertThrows(IllegalArgumentException.class, () -> MlaDecode.plan(q, bf16, stream));
        assertTrue(e.getMessage().contains("KERNELS4J_MLA_FAMILY: must be auto, wgmma or mma, got '" + ENV + "'"),
                e.getMessage());
        // The decode refuses it the same way, before launching anything.
        try (Scope s = Scope.open(dev)) {
            int sms = dev.smCount();
            DeviceTensor seqlens = s.allocate(DType.INT32, B), table = s.allocate(DType.INT32, B, BLOCKS),
                    sched = s.allocate(DType.INT32, MlaDecode.scheduleInts(B, sms, 0)),
                    ws = s.allocate(DType.FP32, (MlaDecode.workspaceBytes(B, SQ, HQ, sms, 0) + 3) / 4),
                    out = s.allocate(DType.BF16, B, SQ, HQ, 512), lse = s.allocate(DType.FP32, B, HQ, SQ);
            seqlens.copyFrom(new int[] {5, 64});
            MlaDecode.Schedule schedule = MlaDecode.schedule(seqlens, PAGE, BLOCKS, sms, 0, sched, stream);
            var f = assertThrows(IllegalArgumentException.class,
                    () -> MlaDecode.forward(q, bf16, table, seqlens, schedule, 0.07f, true, ws, out, lse, stream));
            assertTrue(f.getMessage().contains("KERNELS4J_MLA_FAMILY"), f.getMessage());
            stream.synchronize();
        }
    }
}
