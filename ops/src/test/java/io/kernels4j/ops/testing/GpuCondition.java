package io.kernels4j.ops.testing;

import io.kernels4j.ops.Cuda;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Enables {@link RequiresGpu} tests only when the CUDA runtime sees a device. */
public final class GpuCondition implements ExecutionCondition {
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        String reason;
        try {
            Cuda.Availability a = Cuda.availability();
            if (a.available()) return ConditionEvaluationResult.enabled("CUDA GPU found (" + a.deviceCount() + " device(s))");
            reason = a.reason();
        } catch (UnsatisfiedLinkError | ExceptionInInitializerError | NoClassDefFoundError e) {
            reason = "libkernels4j could not be loaded: " + e.getMessage();
        }
        return ConditionEvaluationResult.disabled("no CUDA GPU found: " + reason);
    }
}
