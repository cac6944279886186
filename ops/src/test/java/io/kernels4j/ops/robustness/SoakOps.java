package io.kernels4j.ops.robustness;

import java.util.List;

/** Family ops under soak (filled in as the kernel families land). */
final class SoakOps {
    private SoakOps() {}

    static List<Soak.Op> familyOps() {
        return List.of();
    }
}
