package io.kernels4j.bench.dump;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes NumPy's {@code .npy} format, version 1.0: the magic {@code \x93NUMPY}, version bytes 1 0, a
 * little-endian uint16 header length, an ASCII dict {@code {'descr': ..., 'fortran_order': False,
 * 'shape': (...), }} padded with spaces and ended by a newline so that the data starts on a 64-byte
 * boundary, then the raw little-endian data in C order. BF16 is stored as {@code <u2} and FP8 e4m3 as
 * {@code |u1} (NumPy has neither type); the dump's manifest names the real element type.
 */
public final class Npy {
    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    static final int ALIGN = 64;

    private Npy() {}

    public static void write(Path file, byte[] data, long... shape) throws IOException {
        write(file, "|u1", 1, ByteBuffer.wrap(data), data.length, shape);
    }

    public static void write(Path file, short[] data, long... shape) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(data.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        b.asShortBuffer().put(data);
        write(file, "<u2", 2, b, data.length, shape);
    }

    public static void write(Path file, int[] data, long... shape) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(data);
        write(file, "<i4", 4, b, data.length, shape);
    }

    public static void write(Path file, float[] data, long... shape) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(data);
        write(file, "<f4", 4, b, data.length, shape);
    }

    /** The header (magic to newline) for {@code descr} and {@code shape}; its length is a multiple of 64. */
    static byte[] header(String descr, long... shape) {
        StringBuilder s = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) s.append(i == 0 ? "" : ", ").append(shape[i]);
        if (shape.length == 1) s.append(',');
        s.append(')');
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + s + ", }";
        int unpadded = MAGIC.length + 2 + dict.length() + 1;
        int total = (unpadded + ALIGN - 1) / ALIGN * ALIGN;
        if (total - MAGIC.length - 2 > 0xFFFF) throw new IllegalArgumentException("shape: header too long for NPY 1.0");
        byte[] h = new byte[total];
        System.arraycopy(MAGIC, 0, h, 0, MAGIC.length);
        int len = total - MAGIC.length - 2;
        h[8] = (byte) len;
        h[9] = (byte) (len >>> 8);
        byte[] d = dict.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(d, 0, h, 10, d.length);
        for (int i = 10 + d.length; i < total - 1; i++) h[i] = ' ';
        h[total - 1] = '\n';
        return h;
    }

    private static void write(Path file, String descr, int itemSize, ByteBuffer data, long count, long... shape)
            throws IOException {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("shape: negative dimension " + d);
            n = Math.multiplyExact(n, d);
        }
        if (n != count) throw new IllegalArgumentException("shape: holds " + n + " elements, data has " + count);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(header(descr, shape));
            out.write(data.array(), 0, Math.toIntExact(count * itemSize));
        }
    }
}
