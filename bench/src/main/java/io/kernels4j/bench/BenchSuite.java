package io.kernels4j.bench;

import java.util.List;
import java.util.ServiceLoader;

/**
 * A family's benchmarks. Implementations are listed in
 * {@code META-INF/services/io.kernels4j.bench.BenchSuite} and run by {@code kernels4j bench [family]}.
 */
public interface BenchSuite {
    /** Family name on the command line: {@code gemm}, {@code mla}, {@code moe}... */
    String family();

    /** The cases (default shapes of docs/CONTRACT.md section 5 unless {@code options} narrows them). */
    List<BenchCase> cases(BenchOptions options);

    static List<BenchSuite> all() {
        return ServiceLoader.load(BenchSuite.class).stream().map(ServiceLoader.Provider::get).toList();
    }
}
