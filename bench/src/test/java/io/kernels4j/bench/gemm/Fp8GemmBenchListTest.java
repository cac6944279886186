package io.kernels4j.bench.gemm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.bench.BenchCase;
import io.kernels4j.bench.BenchOptions;
import io.kernels4j.bench.BenchSuite;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The GEMM bench's case list (CPU): registered under "gemm", docs/CONTRACT.md section 5's shapes. */
class Fp8GemmBenchListTest {
    @Test
    void registeredAndCoversTheDefaultShapes() {
        assertTrue(BenchSuite.all().stream().anyMatch(s -> s instanceof Fp8GemmBench && s.family().equals("gemm")));
        List<BenchCase> cases = new Fp8GemmBench().cases(BenchOptions.defaults());
        assertEquals(18, cases.stream().filter(c -> c.op().equals("Fp8Gemm.dense")).count());
        assertEquals(4, cases.stream().filter(c -> c.op().equals("Fp8Gemm.groupedContiguous")).count());
        assertEquals(4, cases.stream().filter(c -> c.op().equals("Fp8Gemm.groupedMasked")).count());
        assertTrue(cases.stream().anyMatch(c -> c.name().equals("m=4096 n=7168 k=16384")));
        assertTrue(cases.stream().anyMatch(c -> c.name().startsWith("experts=8 m/expert=1024 n=7168 k=2048")));
        assertEquals(cases.size(), cases.stream().map(c -> c.op() + c.name()).distinct().count());
    }
}
