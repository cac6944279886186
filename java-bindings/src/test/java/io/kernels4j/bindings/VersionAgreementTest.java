package io.kernels4j.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * One version number: the Maven project's (pom.xml) is the library's {@code k4j_version_string()} (what
 * {@code kernels4j --version} prints) and, without its qualifier, CMake's project VERSION.
 */
class VersionAgreementTest {
    static Properties build() throws IOException {
        try (InputStream in = VersionAgreementTest.class.getResourceAsStream("build.properties")) {
            assertNotNull(in, "build.properties (a filtered test resource) is missing");
            Properties p = new Properties();
            p.load(in);
            return p;
        }
    }

    @Test
    void libraryVersionIsTheProjectVersion() throws IOException {
        String project = build().getProperty("project.version");
        assertTrue(project.matches("\\d+\\.\\d+\\.\\d+.*"), "project.version: " + project);
        assertEquals(project, Kernels4jNative.versionString(), "k4j_version_string() vs the pom's version");
    }

    @Test
    void cmakeProjectVersionIsItsNumericPart() throws IOException {
        Properties p = build();
        Path cache = Path.of(p.getProperty("native.build.dir"), "CMakeCache.txt");
        assumeTrue(Files.isRegularFile(cache), "no CMake build folder here (e.g. the GPU bundle): " + cache);
        String cmake = Files.readAllLines(cache).stream().filter(l -> l.startsWith("CMAKE_PROJECT_VERSION:"))
                .map(l -> l.substring(l.indexOf('=') + 1)).findFirst().orElse(null);
        assertEquals(p.getProperty("project.version").replaceFirst("[^0-9.].*$", ""), cmake,
                "CMake project VERSION in " + cache);
    }
}
