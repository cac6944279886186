package io.kernels4j.bench;

/** Placeholder replaced by the CLI. */
public final class Main {
    public static void main(String[] args) {}
}
