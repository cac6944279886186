/**
 * The native side of kernels4j: loads {@code libkernels4j.so} (or the CPU emulator), downcall handles
 * for its C ABI ({@code native/include/kernels4j.h}) and jextract bindings of the CUDA runtime it
 * links statically. Applications normally use {@code io.kernels4j.ops} instead.
 *
 * <p>Native access: the downcalls and {@code System.load} are restricted methods, so run with
 * {@code --enable-native-access=io.kernels4j.bindings,io.kernels4j.ops} on the module path (or
 * {@code --enable-native-access=ALL-UNNAMED} on the class path). The native libraries come in the
 * platform jar {@code kernels4j-java-bindings-<version>-linux-x86_64.jar} (automatic module
 * {@code io.kernels4j.natives.linux.x86_64}): put it on the class path, or on the module path with
 * {@code --add-modules io.kernels4j.natives.linux.x86_64}.
 */
@SuppressWarnings("module") // the qualified exports name modules built after this one
module io.kernels4j.bindings {
    exports io.kernels4j.bindings;
    // The generated CUDA runtime bindings are plumbing for kernels4j's own modules.
    exports io.kernels4j.bindings.cuda to io.kernels4j.ops, io.kernels4j.validation, io.kernels4j.bench;
}
