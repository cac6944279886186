package io.kernels4j.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.DType;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The safetensors reader and writer, without a GPU. */
class SafetensorsTest {
    @TempDir
    Path dir;

    @Test
    void writeThenReadBack() throws IOException {
        byte[] codes = new byte[6 * 4];
        for (int i = 0; i < codes.length; i++) codes[i] = (byte) (i * 7 + 1);
        float[] scales = {0.5f, -2f, 3.25f};
        short[] bf = {0x3F80, (short) 0xC000, 0x0000};
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
        t.put("w.weight", Safetensors.Tensor.e4m3(new long[] {6, 4}, codes));
        t.put("w.weight_scale_inv", Safetensors.Tensor.f32(new long[] {1, 3}, scales));
        t.put("norm.weight", Safetensors.Tensor.bf16(new long[] {3}, bf));
        Path p = dir.resolve("t.safetensors");
        Safetensors.write(p, t, Map.of("format", "pt"));

        byte[] raw = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, n % 8, "header padded to 8 bytes");
        assertEquals(8 + n + codes.length + 12 + 6, raw.length);

        try (Safetensors st = Safetensors.open(p)) {
            assertEquals(List.of("w.weight", "w.weight_scale_inv", "norm.weight"), List.copyOf(st.entries().keySet()));
            assertEquals("pt", st.metadata().get("format"));
            Safetensors.Entry w = st.entry("w.weight");
            assertEquals("F8_E4M3", w.dtype());
            assertArrayEquals(new long[] {6, 4}, w.shape());
            assertEquals(0, w.begin());
            assertArrayEquals(codes, st.bytes("w.weight").toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(scales, Safetensors.floats(st.bytes("w.weight_scale_inv")));
            assertArrayEquals(bf, st.bytes("norm.weight").toArray(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN)));
            assertEquals(DType.FP8_E4M3, Safetensors.dtypeOf(w.dtype()));
            assertEquals(DType.FP32, Safetensors.dtypeOf("F32"));
            assertThrows(IllegalArgumentException.class, () -> st.entry("missing"));
        }
    }

    private static void bad(String json, long dataBytes, String prefix) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Safetensors.parseHeader(json, dataBytes, new LinkedHashMap<>()));
        assertTrue(e.getMessage().startsWith(prefix), () -> "'" + e.getMessage() + "' should start with '" + prefix + "'");
    }

    @Test
    void headerChecks() throws IOException {
        String ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}";
        assertEquals(1, Safetensors.parseHeader(ok, 24, new LinkedHashMap<>()).size());
        bad("[1,2]", 0, "header:");
        bad("{\"a\":{\"dtype\":\"F99\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "a: unknown");
        bad("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "a: unknown or missing dtype");
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "a: shape");
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8, "a: F32[2] needs 8 bytes");
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "a: data_offsets [0, 8] outside");
        bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}}", 16, "a: data_offsets must be");
        assertThrows(IllegalArgumentException.class, () -> Safetensors.dtypeOf("F16"));
    }

    @Test
    void fileChecks() throws IOException {
        Path shortFile = dir.resolve("short");
        Files.write(shortFile, new byte[3]);
        assertThrows(IllegalArgumentException.class, () -> Safetensors.open(shortFile));
        Path lying = dir.resolve("lying");
        ByteBuffer b = ByteBuffer.allocate(8 + 4).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).put("{}  ".getBytes(StandardCharsets.UTF_8));
        Files.write(lying, b.array());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Safetensors.open(lying));
        assertTrue(e.getMessage().contains("header length 1000"), e.getMessage());
    }
}
