package io.kernels4j.ops.testing;

import io.kernels4j.ops.Cuda;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Enables {@link RequiresGpu} tests only when the CUDA runtime sees a device. */
public final class GpuCondition implements ExecutionCondition {
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        var a = Cuda.availability(); // never throws: a library that cannot load is a reason too
        if (a.available()) return ConditionEvaluationResult.enabled("CUDA GPU found (" + a.deviceCount() + " device(s))");
        return ConditionEvaluationResult.disabled("no CUDA GPU found: " + a.reason());
    }
}
