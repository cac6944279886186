package io.kernels4j.ops.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.internal.OpSupport;
import io.kernels4j.ops.testing.GpuTestSupport;
import io.kernels4j.ops.testing.RequiresGpu;
import java.util.Random;
import jcuda.Pointer;
import jcuda.Sizeof;
import jcuda.driver.CUdeviceptr;
import jcuda.runtime.JCuda;
import jcuda.runtime.cudaMemcpyKind;
import jcuda.runtime.cudaStream_t;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class JCudaInteropTest {
    @Test
    void addressOfDevicePointersWithoutNatives() {
        // CUdeviceptr and Pointer are plain Java objects: no JCuda natives are loaded for this.
        CUdeviceptr p = new CUdeviceptr().withByteOffset(0x7f00_1234_0000L);
        assertEquals(0x7f00_1234_0000L, JCudaInterop.address(p));
        assertEquals(0x7f00_1234_0040L, JCudaInterop.address(p.withByteOffset(0x40)), "offsets add up");
        Pointer asPointer = p;
        assertEquals(0x7f00_1234_0000L, JCudaInterop.address(asPointer));
    }

    @Test
    void hostAndNullPointersAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JCudaInterop.address(Pointer.to(new float[4])));
        assertTrue(e.getMessage().startsWith("pointer: ") && e.getMessage().contains("host memory"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> JCudaInterop.address(new CUdeviceptr()));
        assertThrows(IllegalArgumentException.class, () -> JCudaInterop.address(null));
    }

    private static void requireJCudaNatives() {
        // JCuda calls the real CUDA runtime: memory it allocates is not the emulated device's.
        Assumptions.assumeFalse(GpuTestSupport.emulated(), "needs a real GPU: JCuda talks to the CUDA runtime, not to the CPU emulator");
        try {
            int[] n = new int[1];
            JCuda.cudaGetDeviceCount(n);
        } catch (LinkageError e) {
            Assumptions.abort("JCuda natives could not be loaded here: " + e);
        }
    }

    @Test
    @RequiresGpu
    void jcudaMemoryAsTensorAndBack() {
        requireJCudaNatives();
        long seed = GpuTestSupport.seed("JCudaInteropTest");
        int n = 1000;
        float[] host = new float[n];
        Random r = new Random(seed);
        for (int i = 0; i < n; i++) host[i] = (float) r.nextGaussian() + 3f; // never zeros
        Device device = Device.get(0);
        Pointer dptr = new Pointer();
        assertEquals(0, JCuda.cudaMalloc(dptr, (long) n * Sizeof.FLOAT));
        try {
            assertEquals(0, JCuda.cudaMemcpy(dptr, Pointer.to(host), (long) n * Sizeof.FLOAT, cudaMemcpyKind.cudaMemcpyHostToDevice));
            DeviceTensor t = JCudaInterop.wrap(dptr, DType.FP32, device, n);
            assertEquals(n, t.numel());
            assertArrayEquals(host, t.toFloatArray(), "seed " + seed + ": the view must read JCuda's bytes");

            // Back to JCuda: write through kernels4j, read through JCuda via the CUdeviceptr view.
            try (Stream s = Stream.create(device)) {
                t.slice(100, 200).fill(Float.floatToRawIntBits(-2.5f), s);
                s.synchronize();
            }
            CUdeviceptr back = JCudaInterop.toCUdeviceptr(t.slice(100, 200));
            assertEquals(JCudaInterop.address(dptr) + 100L * Sizeof.FLOAT, JCudaInterop.address(back));
            float[] out = new float[100];
            assertEquals(0, JCuda.cudaMemcpy(Pointer.to(out), back, 100L * Sizeof.FLOAT, cudaMemcpyKind.cudaMemcpyDeviceToHost));
            for (float v : out) assertEquals(-2.5f, v, "seed " + seed);
            t.close(); // a view: must not free JCuda's memory
            float[] all = new float[n];
            assertEquals(0, JCuda.cudaMemcpy(Pointer.to(all), dptr, (long) n * Sizeof.FLOAT, cudaMemcpyKind.cudaMemcpyDeviceToHost));
            assertEquals(host[0], all[0], "memory still JCuda's after the view closed");
        } finally {
            JCuda.cudaFree(dptr);
        }
    }

    @Test
    @RequiresGpu
    void jcudaStreamRoundTrip() {
        requireJCudaNatives();
        Device device = Device.get(0);
        cudaStream_t js = new cudaStream_t();
        assertEquals(0, JCuda.cudaStreamCreate(js));
        try (DeviceTensor t = DeviceTensor.allocate(device, DType.INT32, 256)) {
            try (Stream s = JCudaInterop.wrap(js, device)) {
                assertEquals(JCudaInterop.streamHandle(js), OpSupport.handle(s).address());
                t.fill(0x1234_5678, s);
                cudaStream_t again = JCudaInterop.toCudaStream(s);
                assertEquals(JCudaInterop.streamHandle(js), JCudaInterop.streamHandle(again));
                assertEquals(0, JCuda.cudaStreamSynchronize(again));
            }
            for (int v : t.toIntArray()) assertEquals(0x1234_5678, v);
        } finally {
            JCuda.cudaStreamDestroy(js);
        }
    }
}
