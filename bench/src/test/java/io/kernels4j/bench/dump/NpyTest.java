package io.kernels4j.bench.dump;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The NPY 1.0 writer: magic, header length, dict text, 64-byte alignment, little-endian C-order data. */
class NpyTest {
    @TempDir
    Path dir;

    /** Parses a written file: header dict and data bytes. */
    record Parsed(String dict, byte[] data) {}

    static Parsed parse(byte[] f) {
        for (int i = 0; i < Npy.MAGIC.length; i++) assertEquals(Npy.MAGIC[i], f[i], "magic byte " + i);
        int len = (f[8] & 0xFF) | (f[9] & 0xFF) << 8;
        assertEquals(0, (10 + len) % 64, "data starts on a 64-byte boundary");
        assertEquals('\n', f[10 + len - 1], "header ends with a newline");
        String dict = new String(f, 10, len, StandardCharsets.US_ASCII).strip();
        byte[] data = new byte[f.length - 10 - len];
        System.arraycopy(f, 10 + len, data, 0, data.length);
        return new Parsed(dict, data);
    }

    @Test
    void floatsTwoDimensional() throws Exception {
        Path p = dir.resolve("f.npy");
        float[] x = {1f, -2.5f, Float.NaN, 3e-8f, 7f, 0f};
        Npy.write(p, x, 2, 3);
        Parsed r = parse(Files.readAllBytes(p));
        assertEquals("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", r.dict());
        ByteBuffer b = ByteBuffer.wrap(r.data()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(24, r.data().length);
        for (float v : x) assertEquals(Float.floatToRawIntBits(v), b.getInt());
    }

    @Test
    void oneDimensionalShapeHasTrailingComma() throws Exception {
        Path p = dir.resolve("i.npy");
        Npy.write(p, new int[] {1, -1, 0x12345678}, 3);
        Parsed r = parse(Files.readAllBytes(p));
        assertEquals("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", r.dict());
        assertArrayEquals(new byte[] {1, 0, 0, 0, -1, -1, -1, -1, 0x78, 0x56, 0x34, 0x12}, r.data());
    }

    @Test
    void bf16AsU2AndFp8AsU1() throws Exception {
        Path s = dir.resolve("s.npy"), b = dir.resolve("b.npy");
        Npy.write(s, new short[] {(short) 0x7FC0, 0x3F80}, 1, 2);
        Npy.write(b, new byte[] {(byte) 0xFF, 0x38, 0, 1}, 2, 1, 2);
        Parsed rs = parse(Files.readAllBytes(s)), rb = parse(Files.readAllBytes(b));
        assertTrue(rs.dict().contains("'descr': '<u2'") && rs.dict().contains("(1, 2)"), rs.dict());
        assertArrayEquals(new byte[] {(byte) 0xC0, 0x7F, (byte) 0x80, 0x3F}, rs.data());
        assertTrue(rb.dict().contains("'descr': '|u1'") && rb.dict().contains("(2, 1, 2)"), rb.dict());
        assertArrayEquals(new byte[] {(byte) 0xFF, 0x38, 0, 1}, rb.data());
    }

    @Test
    void emptyAndScalarShapes() throws Exception {
        Path e = dir.resolve("e.npy"), z = dir.resolve("z.npy");
        Npy.write(e, new float[0], 0, 4);
        Npy.write(z, new float[] {2f});
        assertTrue(parse(Files.readAllBytes(e)).dict().contains("'shape': (0, 4)"));
        assertTrue(parse(Files.readAllBytes(z)).dict().contains("'shape': ()"));
    }

    @Test
    void shapeMustMatchData() {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> Npy.write(dir.resolve("x.npy"), new float[5], 2, 3));
        assertTrue(ex.getMessage().startsWith("shape:"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Npy.write(dir.resolve("y.npy"), new int[0], -1));
        assertFalse(Files.exists(dir.resolve("x.npy")), "nothing written on a bad shape");
    }

    @Test
    void headerLengthIsAlignedForLongShapes() {
        for (int rank = 0; rank < 12; rank++) {
            long[] shape = new long[rank];
            java.util.Arrays.fill(shape, 123456789L);
            assertEquals(0, Npy.header("<f4", shape).length % 64, "rank " + rank);
        }
    }
}
