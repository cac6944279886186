/**
 * Loading the kernels4j native library and calling its C ABI.
 *
 * <p>{@link io.kernels4j.bindings.NativeLibrary} finds, extracts (once, into a cache folder keyed by
 * the library's SHA-256), loads and checks the library: the GPU build {@code libkernels4j.so}, or,
 * with {@code -Dkernels4j.device=emulator}, the CPU emulator. A library that cannot be used is a
 * {@link io.kernels4j.bindings.NativeLibraryException} with a
 * {@link io.kernels4j.bindings.NativeLibraryException.Reason}, never an {@link Error}.
 * {@code Kernels4jNative}, {@code GemmNative}, {@code MlaNative} and {@code MoeNative} hold static
 * final downcall handles for {@code native/include/k4j_*.h}; their classes initialise also when the
 * library is missing (the handles then throw the loader's exception when called).
 *
 * <p>Most applications use {@code io.kernels4j.ops} and never touch this package. All of it is
 * thread-safe: loading happens once per class loader, whatever the number of threads.
 */
package io.kernels4j.bindings;
