package io.kernels4j.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import org.junit.jupiter.api.Test;

/** What the ops core does on a machine without a usable GPU (CI): answers, never crashes. */
class CudaNoGpuTest {

    @Test
    void availabilityIsConsistentEverywhere() {
        Kernels4j.Availability a = Cuda.availability();
        assertEquals(a.available(), a.deviceCount() > 0, a.toString());
        assertEquals(a.available(), Cuda.isAvailable());
        assertEquals(a.deviceCount(), Device.count());
        assertEquals(a.reason().isEmpty(), a.available(), "a reason exactly when unavailable: " + a);
        assertTrue(Cuda.availability() == a, "probed once and cached");
    }

    @Test
    void withoutGpuAvailabilityIsFalseWithAOneLineReason() {
        Kernels4j.Availability a = Cuda.availability(); // must not throw
        assumeFalse(a.available(), "a GPU is present");
        assertFalse(a.reason().isBlank());
        assertFalse(a.reason().contains("\n"), "one line: " + a.reason());
        assertEquals(0, a.deviceCount());
        assertEquals(0, Device.count());
        System.out.println("[no GPU] " + a.reason());
    }

    @Test
    void withoutGpuDeviceAccessFailsWithTheReason() {
        assumeFalse(Cuda.isAvailable(), "a GPU is present");
        GpuUnavailableException e = assertThrows(GpuUnavailableException.class, () -> Device.get(0));
        assertEquals("no CUDA GPU available: " + Cuda.availability().reason(), e.getMessage());
        assertEquals(Cuda.availability().unavailableReason(), e.reason());
        GpuUnavailableException s = assertThrows(GpuUnavailableException.class, Cuda::requireAvailable);
        assertEquals("no CUDA GPU available: " + Cuda.availability().reason(), s.getMessage());
        assertThrows(GpuUnavailableException.class, Device::current);
    }

    @Test
    void runtimeVersionNeedsNoDriver() {
        int v = Cuda.runtimeVersion();
        assertTrue(v >= 12080, "runtime " + v);
        assertTrue(Cuda.driverVersion() >= 0);
        assertEquals("13.0", Cuda.version(13000));
        assertEquals("12.8", Cuda.version(12080));
        assertEquals("none", Cuda.version(0));
    }

    @Test
    void errorNamesAndTextsComeFromTheRuntime() {
        assertEquals("cudaErrorMemoryAllocation", Cuda.errorName(2));
        assertEquals("cudaSuccess", Cuda.errorName(0));
        assertFalse(Cuda.errorString(2).isBlank());
        CudaException e = Cuda.exception(2, "cudaMalloc(64 bytes)");
        assertEquals(2, e.code());
        assertEquals("cudaErrorMemoryAllocation", e.errorName());
        assertEquals("cudaMalloc(64 bytes): cudaErrorMemoryAllocation (" + Cuda.errorString(2) + ")", e.getMessage());
        Cuda.check(0, "nothing"); // success does not throw
        assertThrows(CudaException.class, () -> Cuda.check(100, "probe"));
    }
}
