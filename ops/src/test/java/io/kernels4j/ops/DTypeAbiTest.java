package io.kernels4j.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The K4J_DTYPE_* codes of kernels4j.h and {@link DType#code()} agree, name for name, both ways. */
class DTypeAbiTest {
    private static final Pattern DTYPE_DEFINE = Pattern.compile("(?m)^\\s*#\\s*define\\s+K4J_DTYPE_(\\w+)\\s+\\(?\\s*(-?\\d+)\\s*\\)?\\s*(?:/\\*.*)?$");

    /** kernels4j.h: {@code -Dkernels4j.header} (set by the GPU bundle's run-tests), else from the module or repository root. */
    private static Path header() {
        String prop = System.getProperty("kernels4j.header");
        if (prop != null && Files.isRegularFile(Path.of(prop))) return Path.of(prop);
        for (String c : new String[] {"../native/include/kernels4j.h", "native/include/kernels4j.h"}) {
            Path p = Path.of(c);
            if (Files.isRegularFile(p)) return p;
        }
        throw new IllegalStateException("native/include/kernels4j.h not found from " + Path.of("").toAbsolutePath());
    }

    @Test
    void dtypeCodesMatchTheHeader() throws IOException {
        Map<String, Integer> header = new TreeMap<>();
        Matcher m = DTYPE_DEFINE.matcher(Files.readString(header()));
        while (m.find()) header.put(m.group(1), Integer.parseInt(m.group(2)));
        assertTrue(header.size() >= 4, "K4J_DTYPE_* defines found: " + header);
        Map<String, Integer> java = new TreeMap<>();
        for (DType d : DType.values()) java.put(d.name(), d.code());
        assertEquals(header, java, "K4J_DTYPE_* in kernels4j.h vs io.kernels4j.ops.DType");
    }

    @Test
    void byteSizes() {
        assertEquals(2, DType.BF16.byteSize());
        assertEquals(1, DType.FP8_E4M3.byteSize());
        assertEquals(4, DType.FP32.byteSize());
        assertEquals(4, DType.INT32.byteSize());
        assertEquals(8, DType.INT64.byteSize());
    }
}
