package dev.memsentry.agent;

import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.function.Consumer;
import java.util.jar.JarEntry;
import java.util.zip.CRC32;

/**
 * Native files shipped in the jar ({@code native/<os>-<arch>/NAME} with {@code NAME.sha256}): the
 * agent library and memsentry-implant. A file is checked against its SHA-256 whenever it is
 * extracted, either into a fresh 0700 directory that closing removes, or into root's cache.
 *
 * <p>The cache ({@link #cached}) spares every later run the extraction, the SHA-256 (whose provider
 * set-up and hashing cost a cold JVM more than the whole rest of {@code ps}) and the directory's
 * random name. It is only used while its directory is root's own (owner root, mode 0700, no
 * symbolic link, every directory above it root's or sticky), so no other user can have replaced a
 * file in it. A cached file is used only when it is a regular file, owner root, mode 0500, with
 * the size and CRC-32 that the jar's index records for the bundled one; otherwise it is extracted
 * again. The CRC catches a damaged or changed file cheaply; that nobody but root can change it is
 * what the ownership checks guarantee.
 */
public final class BundledFiles {
    private static final int PERMISSION_BITS = 07777;

    private BundledFiles() {
    }

    /** A file in the jar, found, with the SHA-256 it must have. */
    public record Entry(ClassLoader resources, String resource, String name, byte[] sha256) {
    }

    /** An extracted file; closing deletes a fresh extraction and its directory, and leaves a cached one. */
    public record Extracted(Path path, Path dir, boolean cached) implements AutoCloseable {
        @Override
        public void close() {
            if (!cached) {
                StubProcess.PrivateFiles.deleteQuietly(path, dir);
            }
        }
    }

    /** "native/linux-x86_64" for this JVM's platform. */
    public static String platformRoot() {
        return "native/" + NativeLoader.platformDirectory(System.getProperty("os.name"), System.getProperty("os.arch"));
    }

    /** A program from this jar, extracted into a fresh private directory under tempParent. */
    public static Extracted extractExecutable(String name, Path tempParent) throws IOException {
        return extract(find(BundledFiles.class.getClassLoader(), platformRoot(), name), tempParent);
    }

    /** root/name in resources, with its checksum; an IOException says what is missing. */
    public static Entry find(ClassLoader resources, String root, String name) throws IOException {
        String resource = root + "/" + name;
        byte[] expected;
        try (InputStream sum = resources.getResourceAsStream(resource + ".sha256")) {
            if (sum == null) {
                throw new IOException(resource + " is not in the jar (built without the native part, or not for this platform)");
            }
            expected = HexFormat.of().parseHex(new String(sum.readAllBytes(), StandardCharsets.US_ASCII).trim().split("\\s+")[0]);
        } catch (IllegalArgumentException e) {
            throw new IOException("unreadable checksum of " + resource);
        }
        return new Entry(resources, resource, name, expected);
    }

    /** The entry's bytes, checked against its SHA-256. */
    private static byte[] verifiedBytes(Entry e) throws IOException {
        byte[] bytes;
        try (InputStream in = e.resources().getResourceAsStream(e.resource())) {
            if (in == null) {
                throw new IOException(e.resource() + " has a checksum but is missing from the jar");
            }
            bytes = in.readAllBytes();
        }
        try {
            if (!MessageDigest.isEqual(e.sha256(), MessageDigest.getInstance("SHA-256").digest(bytes))) {
                throw new IOException(e.resource() + " does not match its SHA-256: the jar is corrupt");
            }
        } catch (NoSuchAlgorithmException ex) {
            throw new IOException(ex.toString());
        }
        return bytes;
    }

    /** Extracts e into a fresh 0700 directory under tempParent, mode 0500; closing removes both. */
    public static Extracted extract(Entry e, Path tempParent) throws IOException {
        byte[] bytes = verifiedBytes(e);
        Path dir = StubProcess.PrivateFiles.createPrivateDirectory(tempParent, "memsentry-");
        Extracted extracted = new Extracted(dir.resolve(e.name()), dir, false);
        try {
            Files.write(extracted.path(), bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            StubProcess.PrivateFiles.restrict(extracted.path(), "r-x------");
            return extracted;
        } catch (IOException | RuntimeException ex) {
            extracted.close();
            throw ex;
        }
    }

    /**
     * e's copy in cacheDir (root's cache, created 0700 when missing), extracted there first when it
     * is missing or does not match the jar; null when the cache cannot be used: e is not in a jar
     * (only a jar's index holds the size and CRC-32 to compare with), or the directory is not
     * root's own, which warn is told in one line. Call it only as root.
     */
    public static Extracted cached(Entry e, Path cacheDir, Consumer<String> warn) throws IOException {
        JarEntry inJar = jarEntry(e);
        if (inJar == null || inJar.getSize() < 0 || inJar.getCrc() < 0) {
            return null;
        }
        if (!Files.exists(cacheDir, LinkOption.NOFOLLOW_LINKS)) { // the usual case is no exception
            try {
                Files.createDirectory(cacheDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (FileAlreadyExistsException raced) {
                // made meanwhile: checked below like any other
            }
        }
        String problem = privateDirectoryProblem(cacheDir);
        if (problem != null) {
            warn.accept("not using the cache " + cacheDir + " for the bundled " + e.name() + ": " + problem);
            return null;
        }
        Path file = cacheDir.resolve(HexFormat.of().formatHex(e.sha256()) + "-" + e.name());
        String mismatch = cachedFileProblem(file, inJar);
        if (mismatch == null) {
            return new Extracted(file, cacheDir, true);
        }
        if (!mismatch.isEmpty()) {
            warn.accept("the cached " + file + " " + mismatch + ": extracting it again from the jar");
        }
        byte[] bytes = verifiedBytes(e);
        Path partial = Files.createTempFile(cacheDir, ".extract-", ".partial");
        try {
            Files.write(partial, bytes, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
            StubProcess.PrivateFiles.restrict(partial, "r-x------");
            // rename(2): a concurrent run sees the old file or the whole new one, never a part.
            Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(partial);
        }
        return new Extracted(file, cacheDir, true);
    }

    private static JarEntry jarEntry(Entry e) throws IOException {
        URL url = e.resources().getResource(e.resource());
        if (url == null) {
            throw new IOException(e.resource() + " has a checksum but is missing from the jar");
        }
        URLConnection c = url.openConnection();
        return c instanceof JarURLConnection jar ? jar.getJarEntry() : null;
    }

    /** Why dir may not hold code root loads, or null: root's own 0700 directory, not a link, under root's or sticky directories. */
    private static String privateDirectoryProblem(Path dir) throws IOException {
        Map<String, Object> a = Files.readAttributes(dir, "unix:uid,mode", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        if ((mode & 0170000) != 0040000) {
            return "not a directory";
        }
        if ((Integer) a.get("uid") != 0) {
            return "owned by uid " + a.get("uid") + ", not root";
        }
        if ((mode & PERMISSION_BITS) != 0700) {
            return String.format("mode %04o, not 0700", mode & PERMISSION_BITS);
        }
        return TrustedCode.problem("the cache", dir).orElse(null);
    }

    /**
     * Why the cached file may not be loaded ("" when it does not exist), or null when it is root's,
     * 0500, and has the jar entry's size and CRC-32. Read without following a link.
     */
    private static String cachedFileProblem(Path file, JarEntry inJar) throws IOException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(file, "unix:uid,mode,size", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException missing) {
            return "";
        }
        int mode = (Integer) a.get("mode");
        if ((mode & 0170000) != 0100000) {
            return "is not a regular file";
        }
        if ((Integer) a.get("uid") != 0 || (mode & PERMISSION_BITS) != 0500) {
            return String.format("has owner uid %d and mode %04o, not root and 0500", (Integer) a.get("uid"), mode & PERMISSION_BITS);
        }
        if ((Long) a.get("size") != inJar.getSize()) {
            return "has " + a.get("size") + " bytes, not the jar's " + inJar.getSize();
        }
        CRC32 crc = new CRC32();
        try (SeekableByteChannel ch = Files.newByteChannel(file, LinkOption.NOFOLLOW_LINKS, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(64 << 10);
            while (ch.read(buf) > 0) {
                buf.flip();
                crc.update(buf);
                buf.clear();
            }
        }
        return crc.getValue() == inJar.getCrc() ? null : "differs from the jar's (CRC-32)";
    }
}
