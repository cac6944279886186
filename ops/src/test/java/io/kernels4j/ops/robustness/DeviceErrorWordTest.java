package io.kernels4j.ops.robustness;

import static io.kernels4j.bindings.cuda.CudaRuntime.cudaMemcpy;
import static io.kernels4j.bindings.cuda.CudaRuntime.cudaMemcpyHostToDevice;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.*;

import io.kernels4j.bindings.Kernels4jNative;
import io.kernels4j.ops.CudaGraph;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.DeviceDataException;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Simulated;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.OpSupport;
import io.kernels4j.ops.testing.GpuTestSupport;
import io.kernels4j.ops.testing.RequiresGpu;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * The device error word and the debug mode, independent of any kernel family: a kernel raising a
 * bit is stood in for by writing the bit into the word (what {@code raise_device_error} does). The
 * per-family tests feed real bad data to real kernels.
 */
@RequiresGpu
class DeviceErrorWordTest {
    /** Sets bits in the stream's error word as a kernel would (stream-synchronous here). */
    static void raise(Stream s, int bits) {
        s.synchronize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            v.set(JAVA_INT, 0, bits);
            int err = cudaMemcpy(MemorySegment.ofAddress(OpSupport.errorFlagAddress(s)), v, 4, cudaMemcpyHostToDevice());
            assertEquals(0, err);
        }
    }

    @Test
    void checkDeviceErrorsThrowsOnceAndClears() {
        try (Stream s = Stream.create(GpuTestSupport.device())) {
            assertEquals(0, s.deviceErrors());
            s.checkDeviceErrors();
            raise(s, Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE | Kernels4jNative.K4J_DEVERR_CAPACITY_OVERFLOW);
            assertEquals(5, s.deviceErrors());
            DeviceDataException e = assertThrows(DeviceDataException.class, s::checkDeviceErrors);
            assertEquals(5, e.bits());
            assertTrue(e.getMessage().contains("index out of range") && e.getMessage().contains("capacity overflow"), e.getMessage());
            assertEquals(0, s.deviceErrors(), "checkDeviceErrors() must clear the word");
            s.checkDeviceErrors();
        }
    }

    @Test
    void debugCheckNamesTheOpAndClears() {
        try (Stream s = Stream.create(GpuTestSupport.device())) {
            Simulated.checkAfter(s, "Clean.op"); // nothing raised: no exception
            raise(s, Kernels4jNative.K4J_DEVERR_LENGTH_OUT_OF_RANGE);
            DeviceDataException e = assertThrows(DeviceDataException.class, () -> Simulated.checkAfter(s, "MlaDecode.run"));
            assertEquals(Kernels4jNative.K4J_DEVERR_LENGTH_OUT_OF_RANGE, e.bits());
            assertTrue(e.getMessage().startsWith("MlaDecode.run: "), e.getMessage());
            assertEquals(0, s.deviceErrors());
        }
    }

    @Test
    void errorWordsAreSeparatePerStream() {
        try (Stream a = Stream.create(GpuTestSupport.device()); Stream b = Stream.create(GpuTestSupport.device())) {
            raise(a, Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE);
            assertEquals(0, b.deviceErrors());
            assertEquals(1, a.deviceErrors());
            a.clearDeviceErrors();
            assertEquals(0, a.deviceErrors());
        }
    }

    /** -Dkernels4j.debug=true is read once at class initialisation: a child JVM gets it. */
    @Test
    void debugModeInAChildJvm() throws Exception {
        ChildJvm.Result r = ChildJvm.run(DebugChild.class, 120, "-Dkernels4j.debug=true");
        assertFalse(r.timedOut(), "child JVM hung:\n" + r.output());
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("DEBUG-OK"), r.output());
    }

    public static final class DebugChild {
        public static void main(String[] args) {
            if (!Stream.DEBUG) throw new AssertionError("kernels4j.debug not seen");
            try (Stream s = Stream.create(GpuTestSupport.device()); DeviceTensor t = DeviceTensor.allocate(GpuTestSupport.device(), DType.INT32, 256)) {
                t.fill(1, s); // clean: no exception
                raise(s, Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE);
                try {
                    t.fill(2, s);
                    throw new AssertionError("debug mode did not check after the op");
                } catch (DeviceDataException e) {
                    if (!e.getMessage().startsWith("DeviceTensor.fill: ")) throw new AssertionError(e.getMessage());
                }
                if (s.deviceErrors() != 0) throw new AssertionError("word not cleared");
                // Capture must not synchronise: the debug check is skipped while capturing.
                raise(s, Kernels4jNative.K4J_DEVERR_INDEX_OUT_OF_RANGE);
                try (CudaGraph g = CudaGraph.capture(s, () -> t.fill(3, s))) {
                    s.clearDeviceErrors();
                    g.launch(s);
                    s.synchronize();
                }
                if (t.toIntArray()[255] != 3) throw new AssertionError("graph did not run");
            }
            System.out.println("DEBUG-OK");
        }
    }
}
