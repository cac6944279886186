package io.kernels4j.bindings;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Extracts a class-path library into {@code <root>/<sha256>/<file>} once and reuses it: the
 * resource is hashed, an existing file whose hash matches is used as it is, anything else is
 * written under a unique temporary name in the same folder, checked and renamed atomically (so
 * concurrent JVMs each see either nothing or the whole file). Nothing goes to the temporary folder.
 */
final class LibraryCache {
    private LibraryCache() {}

    /**
     * The cached copy of {@code resource}, extracted if needed; null when the resource does not exist.
     * Throws IOException with a message naming the folder and the property to set when the cache
     * cannot be written.
     */
    static Path extract(Class<?> owner, String resource, String fileName, Path root) throws IOException {
        // Through the class loader, not the class: on the module path the library lives in another module
        // (the platform jar), whose non-package folders (native/linux-x86_64/) the loader sees.
        ClassLoader loader = owner.getClassLoader() != null ? owner.getClassLoader() : ClassLoader.getSystemClassLoader();
        String name = resource.startsWith("/") ? resource.substring(1) : resource;
        String hash;
        try (InputStream in = loader.getResourceAsStream(name)) {
            if (in == null) return null;
            hash = sha256(in);
        }
        Path dir = root.resolve(hash);
        Path file = dir.resolve(fileName);
        if (Files.isRegularFile(file) && hash.equals(sha256(file))) return file;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw unwritable(root, e);
        }
        Path tmp;
        try {
            tmp = Files.createTempFile(dir, fileName + ".", ".part");
        } catch (IOException e) {
            throw unwritable(dir, e);
        }
        try {
            try (InputStream in = loader.getResourceAsStream(name); OutputStream out = Files.newOutputStream(tmp)) {
                if (in == null) throw new IOException("resource " + resource + " vanished while being extracted");
                in.transferTo(out);
            }
            if (!hash.equals(sha256(tmp)))
                throw new IOException("the copy at " + tmp + " does not match the resource's SHA-256 " + hash);
            try {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("r-xr-xr-x"));
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system: the default permissions stand
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot rename atomically within " + dir + ": " + e.getMessage(), e);
            } catch (FileSystemException e) {
                // Another JVM may have put the file in place first (rename over a read-only file can fail on some
                // file systems): use theirs if it is right.
                if (!(Files.isRegularFile(file) && hash.equals(sha256(file)))) throw e;
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return file;
    }

    private static IOException unwritable(Path dir, IOException e) {
        String why = e instanceof AccessDeniedException ? "permission denied" : e.toString();
        return new IOException("cannot write the library cache folder " + dir + " (" + why + "); set -D"
                + NativeLibrary.CACHE_DIR_PROPERTY + " to a writable folder on a file system that allows executables", e);
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return sha256(in);
        }
    }

    static String sha256(InputStream in) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
        try (DigestInputStream din = new DigestInputStream(in, md)) {
            din.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
