package io.kernels4j.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A safetensors file (Hugging Face's format, the one DeepSeek-V3's checkpoint uses), mapped
 * read-only: an 8-byte little-endian header length N, N bytes of JSON
 * {@code {"name": {"dtype": "F8_E4M3", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}},
 * then the tensor bytes (offsets relative to the end of the header). Every header entry is checked
 * (known dtype, non-negative shape, {@code end - begin} = element count x dtype size, inside the
 * file) before any tensor is read. {@link #toDevice} copies a tensor into device memory.
 */
public final class Safetensors implements AutoCloseable {
    /** Largest header accepted (the format's own reference limit is 100 MB). */
    public static final long MAX_HEADER_BYTES = 100L << 20;

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One tensor of the header. {@code begin}/{@code end} are offsets into the data section.
     *
     * @param name the tensor's name
     * @param dtype its safetensors dtype, e.g. {@code F8_E4M3}
     * @param shape its shape (copied)
     * @param begin the offset of its first byte in the data section
     * @param end the offset past its last byte
     */
    public record Entry(String name, String dtype, long[] shape, long begin, long end) {
        /** Copies the shape. */
        public Entry {
            shape = shape.clone();
        }

        /**
         * The shape.
         *
         * @return a copy of the shape
         */
        @Override
        public long[] shape() {
            return shape.clone();
        }

        /**
         * The tensor's size in the file.
         *
         * @return {@code end - begin}
         */
        public long bytes() {
            return end - begin;
        }
    }

    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private Safetensors(Arena arena, MemorySegment data, Map<String, Entry> entries, Map<String, String> metadata) {
        this.arena = arena;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    /**
     * Maps {@code file} and checks its header.
     *
     * @param file a safetensors file
     * @return the open file (close it to unmap)
     * @throws IOException if the file cannot be read or its header is not JSON
     * @throws IllegalArgumentException naming what is wrong, if the header is malformed
     */
    public static Safetensors open(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new IllegalArgumentException(file + ": " + size + " bytes, too short for a safetensors header length");
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long n = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (n < 2 || n > MAX_HEADER_BYTES || n > size - 8)
                throw new IllegalArgumentException(file + ": header length " + n + " is outside [2, min(" + MAX_HEADER_BYTES
                        + ", file size - 8 = " + (size - 8) + ")]");
            String json = new String(all.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            MemorySegment data = all.asSlice(8 + n);
            Map<String, String> meta = new LinkedHashMap<>();
            Map<String, Entry> entries = parseHeader(json, data.byteSize(), meta);
            return new Safetensors(arena, data, entries, meta);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Parses and checks a header against a data section of {@code dataBytes} bytes; fills
     * {@code metadata} from {@code __metadata__}. Package-private for the tests.
     */
    static Map<String, Entry> parseHeader(String json, long dataBytes, Map<String, String> metadata) throws IOException {
        JsonNode root = JSON.readTree(json);
        if (root == null || !root.isObject()) throw new IllegalArgumentException("header: expected a JSON object, got " + json);
        Map<String, Entry> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> f = it.next();
            String name = f.getKey();
            JsonNode v = f.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) throw new IllegalArgumentException("__metadata__: expected an object of strings");
                v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            String dtype = v.path("dtype").asText(null);
            if (dtype == null || bytesOf(dtype) <= 0) throw new IllegalArgumentException(name + ": unknown or missing dtype " + v.get("dtype"));
            JsonNode sh = v.path("shape"), off = v.path("data_offsets");
            if (!sh.isArray()) throw new IllegalArgumentException(name + ": shape must be an array, got " + sh);
            long[] shape = new long[sh.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                if (!sh.get(i).canConvertToLong() || sh.get(i).asLong() < 0)
                    throw new IllegalArgumentException(name + ": shape " + sh + " has a bad dimension " + i);
                shape[i] = sh.get(i).asLong();
                numel = Math.multiplyExact(numel, shape[i]);
            }
            if (!off.isArray() || off.size() != 2 || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong())
                throw new IllegalArgumentException(name + ": data_offsets must be [begin, end], got " + off);
            long begin = off.get(0).asLong(), end = off.get(1).asLong();
            long want = Math.multiplyExact(numel, bytesOf(dtype));
            if (begin < 0 || end < begin || end > dataBytes)
                throw new IllegalArgumentException(name + ": data_offsets [" + begin + ", " + end + "] outside the data section of "
                        + dataBytes + " bytes");
            if (end - begin != want)
                throw new IllegalArgumentException(name + ": " + dtype + Arrays.toString(shape) + " needs " + want + " bytes, data_offsets give "
                        + (end - begin));
            out.put(name, new Entry(name, dtype, shape, begin, end));
        }
        return out;
    }

    /**
     * Bytes per element of a safetensors dtype, 0 when unknown.
     *
     * @param dtype a safetensors dtype, e.g. {@code BF16}
     * @return its element size in bytes, or 0
     */
    public static int bytesOf(String dtype) {
        return switch (dtype) {
            case "F8_E4M3", "F8_E5M2", "U8", "I8", "BOOL" -> 1;
            case "BF16", "F16", "I16", "U16" -> 2;
            case "F32", "I32", "U32" -> 4;
            case "F64", "I64", "U64" -> 8;
            default -> 0;
        };
    }

    /**
     * The kernels4j dtype of a safetensors dtype.
     *
     * @param dtype a safetensors dtype, e.g. {@code F8_E4M3}
     * @return the matching {@link DType}
     * @throws IllegalArgumentException when there is none
     */
    public static DType dtypeOf(String dtype) {
        return switch (dtype) {
            case "F8_E4M3" -> DType.FP8_E4M3;
            case "BF16" -> DType.BF16;
            case "F32" -> DType.FP32;
            case "I32" -> DType.INT32;
            case "I64" -> DType.INT64;
            default -> throw new IllegalArgumentException("dtype: " + dtype + " has no kernels4j DType");
        };
    }

    /**
     * The tensors, in header order.
     *
     * @return the entries by name (unmodifiable)
     */
    public Map<String, Entry> entries() {
        return Collections.unmodifiableMap(entries);
    }

    /**
     * The header's {@code __metadata__}.
     *
     * @return the metadata (unmodifiable; empty when the file has none)
     */
    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    /**
     * One tensor's header entry.
     *
     * @param name the tensor's name
     * @return its entry
     * @throws IllegalArgumentException if the file has no such tensor
     */
    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException("name: no tensor '" + name + "' in this file (has " + entries.keySet() + ")");
        return e;
    }

    /**
     * The raw bytes of tensor {@code name} (a view of the mapped file, valid until close()).
     *
     * @param name the tensor's name
     * @return its bytes
     * @throws IllegalArgumentException if the file has no such tensor
     */
    public MemorySegment bytes(String name) {
        Entry e = entry(name);
        return data.asSlice(e.begin(), e.bytes());
    }

    /**
     * Copies tensor {@code name} into a new device tensor on {@code device} (the caller closes it),
     * stream-ordered on {@code stream}; synchronise the stream before closing this file.
     *
     * @param name the tensor's name
     * @param device the device to allocate on
     * @param stream the stream the copy is ordered on
     * @return the new device tensor, of the file's dtype and shape
     * @throws IllegalArgumentException if the file has no such tensor or its dtype has no {@link DType}
     */
    public DeviceTensor toDevice(String name, Device device, Stream stream) {
        Entry e = entry(name);
        DeviceTensor t = DeviceTensor.allocate(device, dtypeOf(e.dtype()), e.shape());
        try {
            t.copyFromHost(bytes(name), stream);
        } catch (RuntimeException ex) {
            t.close();
            throw ex;
        }
        return t;
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    /**
     * A tensor to write: safetensors dtype, shape and little-endian bytes.
     *
     * @param dtype the safetensors dtype
     * @param shape the shape (copied)
     * @param data the little-endian bytes
     */
    public record Tensor(String dtype, long[] shape, byte[] data) {
        /** Copies the shape. */
        public Tensor {
            shape = shape.clone();
        }

        /**
         * An F32 tensor.
         *
         * @param shape the shape
         * @param values the values, row-major
         * @return the tensor
         */
        public static Tensor f32(long[] shape, float[] values) {
            ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(values);
            return new Tensor("F32", shape, b.array());
        }

        /**
         * A BF16 tensor.
         *
         * @param shape the shape
         * @param bits the raw BF16 bits, row-major
         * @return the tensor
         */
        public static Tensor bf16(long[] shape, short[] bits) {
            ByteBuffer b = ByteBuffer.allocate(bits.length * 2).order(ByteOrder.LITTLE_ENDIAN);
            b.asShortBuffer().put(bits);
            return new Tensor("BF16", shape, b.array());
        }

        /**
         * An F8_E4M3 tensor.
         *
         * @param shape the shape
         * @param codes the e4m3 codes, row-major (copied)
         * @return the tensor
         */
        public static Tensor e4m3(long[] shape, byte[] codes) {
            return new Tensor("F8_E4M3", shape, codes.clone());
        }
    }

    /**
     * Writes {@code tensors} (in iteration order) and {@code metadata} as a safetensors file.
     *
     * @param file the file to write (replaced if it exists)
     * @param tensors the tensors by name
     * @param metadata the {@code __metadata__} strings (none written when empty)
     * @throws IOException if the file cannot be written
     */

    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            ObjectNode n = root.putObject(e.getKey());
            n.put("dtype", t.dtype());
            ArrayNode sh = n.putArray("shape");
            for (long d : t.shape()) sh.add(d);
            n.putArray("data_offsets").add(offset).add(offset + t.data().length);
            offset += t.data().length;
        }
        byte[] header = JSON.writeValueAsBytes(root);
        int padded = (header.length + 7) / 8 * 8; // the format pads the header with spaces to 8 bytes
        byte[] h = Arrays.copyOf(header, padded);
        Arrays.fill(h, header.length, padded, (byte) ' ');
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            writeFully(ch, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, padded));
            writeFully(ch, ByteBuffer.wrap(h));
            for (Tensor t : tensors.values()) writeFully(ch, ByteBuffer.wrap(t.data()));
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /**
     * Little-endian FP32 values of a tensor's bytes (host side).
     *
     * @param bytes an F32 tensor's bytes, e.g. {@link #bytes(String)}
     * @return the values
     */

    public static float[] floats(MemorySegment bytes) {
        return bytes.toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
    }
}
