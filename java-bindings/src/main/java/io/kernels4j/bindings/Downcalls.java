package io.kernels4j.bindings;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/** Builds downcall handles to symbols of libkernels4j (loading it first). Keep the result in a {@code static final}. */
public final class Downcalls {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle UNAVAILABLE;

    static {
        try {
            UNAVAILABLE = MethodHandles.lookup().findStatic(Downcalls.class, "unavailable",
                    MethodType.methodType(Object.class, String.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private Downcalls() {}

    /**
     * A downcall handle to {@code symbol}. When the library cannot be loaded, the handle is still
     * made (so the static initialiser of a class holding it does not fail, which would turn every
     * later use into a NoClassDefFoundError) and throws the loader's {@link NativeLibraryException}
     * when invoked.
     *
     * @param symbol the C function's name
     * @param descriptor its signature
     * @return the handle
     * @throws UnsatisfiedLinkError if the library is loaded but lacks {@code symbol} (library and jars out of step)
     */
    public static MethodHandle handle(String symbol, FunctionDescriptor descriptor) {
        try {
            NativeLibrary.load();
        } catch (NativeLibraryException e) {
            MethodType type = descriptor.toMethodType();
            MethodHandle thrower = MethodHandles.insertArguments(UNAVAILABLE, 0, symbol);
            return MethodHandles.dropArguments(thrower, 0, type.parameterList()).asType(type);
        }
        return LINKER.downcallHandle(
                NativeLibrary.lookup().find(symbol).orElseThrow(() -> new UnsatisfiedLinkError(
                        "kernels4j: symbol " + symbol + " not found in " + NativeLibrary.loadedFrom()
                                + " (library and jars out of step?)")),
                descriptor);
    }

    private static Object unavailable(String symbol) {
        try {
            NativeLibrary.load(); // rethrows the loader's failure
        } catch (NativeLibraryException e) {
            throw new NativeLibraryException(e.reason(), symbol + ": " + e.getMessage(), e);
        }
        throw new IllegalStateException(symbol + ": the library loaded after this handle was made without it");
    }
}
