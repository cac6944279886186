package io.kernels4j.bindings;

/** Child-JVM entry point of {@link NativeLibraryTest}: loads the library, prints where from or why not. */
public final class LoaderProbe {
    private LoaderProbe() {}

    public static void main(String[] args) {
        try {
            NativeLibrary.load();
            System.out.println("loaded from " + NativeLibrary.loadedFrom());
            System.out.println("abi " + Kernels4jNative.abiVersion());
            System.out.println("emulated " + NativeLibrary.emulated());
            System.out.println("description " + NativeLibrary.emulatorDescription());
        } catch (NativeLibraryException e) {
            System.err.println(e.reason() + ": " + e.getMessage());
            System.exit(3);
        }
    }
}
