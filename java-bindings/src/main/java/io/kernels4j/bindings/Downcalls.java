package io.kernels4j.bindings;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;

/** Builds downcall handles to symbols of libkernels4j (loading it first). Keep the result in a {@code static final}. */
public final class Downcalls {
    private static final Linker LINKER = Linker.nativeLinker();

    private Downcalls() {}

    public static MethodHandle handle(String symbol, FunctionDescriptor descriptor) {
        NativeLibrary.load();
        return LINKER.downcallHandle(
                NativeLibrary.lookup().find(symbol).orElseThrow(() -> new UnsatisfiedLinkError(
                        "kernels4j: symbol " + symbol + " not found in " + NativeLibrary.loadedFrom()
                                + " (library and jars out of step?)")),
                descriptor);
    }
}
