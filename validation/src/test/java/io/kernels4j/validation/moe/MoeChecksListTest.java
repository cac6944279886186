package io.kernels4j.validation.moe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.validation.CheckCase;
import io.kernels4j.validation.CheckSuite;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The moe checks cover docs/CONTRACT.md section 4's grid and are registered (listing needs no GPU). */
class MoeChecksListTest {
    @Test
    void everySpecShapeIsCoveredInBothLayouts() {
        List<CheckCase> cases = new MoeChecks().cases();
        Set<String> labels = new HashSet<>();
        for (CheckCase c : cases) assertTrue(labels.add(c.op() + " " + c.name()), "duplicate case " + c.op() + " " + c.name());
        for (int t : new int[] {1, 7, 128, 4096})
            for (int k : new int[] {1, 6, 8})
                for (int e : new int[] {8, 64, 256})
                    for (String kind : new String[] {"uniform", "skewed"})
                        for (String op : new String[] {"MoeDispatch.contiguous", "MoeDispatch.masked"}) {
                            String prefix = op + " T=" + t + " K=" + k + " E=" + e + " H=256 " + kind;
                            assertTrue(labels.stream().anyMatch(l -> l.startsWith(prefix)), "missing " + prefix);
                        }
        assertTrue(labels.stream().anyMatch(l -> l.startsWith("SiluAndMul.masked")));
        assertTrue(labels.stream().anyMatch(l -> l.startsWith("MoeLayout.compute bad expert ids")));
    }

    @Test
    void suitesAreRegistered() {
        long moe = CheckSuite.all().stream().filter(s -> s.family().equals("moe")).count();
        assertEquals(2, moe);
        assertEquals(9, new MoeLayerChecks().cases().size());
    }
}
