package io.kernels4j.validation;

import java.util.List;
import java.util.ServiceLoader;

/**
 * A family's GPU checks (op vs FP64 reference). Implementations are listed in
 * {@code META-INF/services/io.kernels4j.validation.CheckSuite}; JUnit runs them (GPU-gated) and so
 * does {@code kernels4j check}.
 */
public interface CheckSuite {
    /**
     * Family name used on the command line: {@code gemm}, {@code mla}, {@code moe}...
     *
     * @return the family
     */
    String family();

    /**
     * The cases, cheap to list (no GPU work until {@link CheckCase#run}).
     *
     * @return the cases, in run order
     */
    List<CheckCase> cases();

    /**
     * Every suite on the class path or module path ({@link ServiceLoader}).
     *
     * @return the suites
     */
    static List<CheckSuite> all() {

        return ServiceLoader.load(CheckSuite.class).stream().map(ServiceLoader.Provider::get).toList();
    }
}
