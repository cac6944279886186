package io.kernels4j.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * ABI self-check: the constants of {@code native/include/kernels4j.h} and those of
 * {@link Kernels4jNative} agree (names and values, both ways), and the public headers declare no
 * struct, union or enum type, whose layout the downcalls would then have to mirror.
 */
class AbiHeaderTest {
    private static final Pattern CORE_CONSTANT = Pattern.compile("K4J_(OK|ERR_\\w+|DEVERR_\\w+)");

    private static Map<String, String> coreDefines() {
        return HeaderDefines.defines(HeaderDefines.read(HeaderDefines.includeDir().resolve("kernels4j.h")));
    }

    @Test
    void abiVersionMatchesTheBindingsAndTheLoadedLibrary() {
        Long abi = HeaderDefines.intValue(coreDefines().get("K4J_ABI_VERSION"));
        assertNotNull(abi, "K4J_ABI_VERSION not found in kernels4j.h");
        assertEquals(abi.intValue(), Kernels4jNative.EXPECTED_ABI_VERSION,
                "kernels4j.h has K4J_ABI_VERSION " + abi + " but Kernels4jNative.EXPECTED_ABI_VERSION is "
                        + Kernels4jNative.EXPECTED_ABI_VERSION);
        NativeLibrary.load();
        assertEquals(abi.intValue(), Kernels4jNative.abiVersion(), "ABI version of the loaded library");
    }

    @Test
    void statusAndDeviceErrorCodesMatchBothWays() throws IllegalAccessException {
        Map<String, Long> header = new TreeMap<>();
        coreDefines().forEach((name, text) -> {
            if (CORE_CONSTANT.matcher(name).matches()) header.put(name, HeaderDefines.intValue(text));
        });
        assertTrue(header.keySet().containsAll(List.of("K4J_OK", "K4J_ERR_INVALID_ARGUMENT", "K4J_ERR_UNSUPPORTED",
                "K4J_ERR_INTERNAL", "K4J_DEVERR_INDEX_OUT_OF_RANGE", "K4J_DEVERR_LENGTH_OUT_OF_RANGE",
                "K4J_DEVERR_CAPACITY_OVERFLOW")), "header constants: " + header.keySet());
        Map<String, Long> java = new TreeMap<>();
        for (Field f : Kernels4jNative.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class && CORE_CONSTANT.matcher(f.getName()).matches())
                java.put(f.getName(), (long) f.getInt(null));
        }
        assertEquals(header, java, "kernels4j.h status/DEVERR constants vs Kernels4jNative");
    }

    @Test
    void publicHeadersDeclareNoStructUnionOrEnum() throws IOException {
        // A struct in the ABI needs a MemoryLayout on the Java side and a test that its offsets and
        // size match the C compiler's; until there is one, there must be no struct.
        Pattern aggregate = Pattern.compile("\\b(struct|union|enum)\\b");
        List<String> found = new ArrayList<>();
        try (Stream<Path> headers = Files.list(HeaderDefines.includeDir())) {
            for (Path h : headers.filter(p -> p.toString().endsWith(".h")).sorted().toList()) {
                String code = HeaderDefines.stripComments(HeaderDefines.read(h));
                Matcher m = aggregate.matcher(code);
                while (m.find()) {
                    int line = (int) code.substring(0, m.start()).chars().filter(c -> c == '\n').count() + 1;
                    found.add(h.getFileName() + ":" + line + " " + m.group());
                }
            }
        }
        assertTrue(found.isEmpty(), "the C ABI declares aggregate types " + found
                + "; add their Java MemoryLayout and a layout test (offsets, size) before allowing them here");
    }

    @Test
    void headerParserUnderstandsTheForms() {
        assertEquals(-1L, HeaderDefines.intValue("(-1)"));
        assertEquals(4L, HeaderDefines.intValue("(1u << 2)"));
        assertEquals(12L, HeaderDefines.intValue("12"));
        assertEquals("0.1.0", HeaderDefines.stringValue("\"0.1.0\""));
        Map<String, String> d = HeaderDefines.defines("#define A 1 /* c */\n#  define B (1u << 3) // x\n#define F(x) x\n");
        assertEquals("1", d.get("A"));
        assertEquals(8L, HeaderDefines.intValue(d.get("B")));
        assertFalse(d.containsKey("F"));
    }
}
