package io.kernels4j.validation.gemm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.validation.CheckCase;
import io.kernels4j.validation.CheckSuite;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The check list itself (CPU): registered, covers issue 3's cases, unique names. */
class Fp8GemmChecksListTest {
    @Test
    void registeredAsServiceUnderGemm() {
        assertTrue(CheckSuite.all().stream().anyMatch(s -> s instanceof Fp8GemmChecks && s.family().equals("gemm")));
    }

    @Test
    void coversEveryDenseMAndEveryNkAndUniqueNames() {
        List<CheckCase> cases = new Fp8GemmChecks().cases();
        Set<String> names = new HashSet<>();
        for (CheckCase c : cases) assertTrue(names.add(c.op() + " " + c.name()), "duplicate " + c.name());
        for (int m : Fp8GemmChecks.DENSE_M)
            for (int[] nk : Fp8GemmChecks.NK)
                assertTrue(names.contains("Fp8Gemm.dense m=" + m + " n=" + nk[0] + " k=" + nk[1]), "m=" + m + " " + nk[0]);
        for (String op : List.of("Fp8Gemm.groupedContiguous", "Fp8Gemm.groupedEnds", "Fp8Gemm.groupedMasked"))
            for (String g : List.of("G=1", "G=4", "G=8", "G=32"))
                assertTrue(names.stream().anyMatch(n -> n.startsWith(op + " " + g)), op + " " + g);
        assertTrue(names.stream().anyMatch(n -> n.startsWith("Fp8Quantize.perTokenGroup")));
        assertTrue(names.stream().anyMatch(n -> n.startsWith("Fp8Quantize.perBlock")));
        assertEquals(32, Fp8GemmChecks.skewedSizes(32).length);
    }
}
