package dev.memsentry.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Root's cache of the bundled library, with a real jar and a load function that records what it
 * was given and the bytes it would have mapped: a cached copy is used only when no other user can
 * have replaced it and it still matches the jar; otherwise it is extracted again or the cache is
 * left alone, with one warning line.
 */
class NativeLibraryCacheTest {
    private static final byte[] LIBRARY = "\u007fELF pretend library, long enough to be worth caching".getBytes(StandardCharsets.ISO_8859_1);

    @TempDir
    Path tmp;

    private final RecordingLoad recording = new RecordingLoad();
    private final List<String> loaded = recording.paths;
    private final List<byte[]> bytesAtLoad = recording.bytes;
    private final List<String> warnings = new ArrayList<>();
    private ClassLoader jar;
    private Path cache;
    private Path fresh;

    @BeforeEach
    void rootAndJar() throws Exception {
        assumeTrue(TrustedCode.runningAsRoot(), "the cache is root's");
        Path file = tmp.resolve("orchestrator.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(file))) {
            put(out, "native/linux-x86_64/libmemsentry.so", LIBRARY);
            put(out, "native/linux-x86_64/libmemsentry.so.sha256",
                (HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(LIBRARY)) + "  libmemsentry.so\n")
                    .getBytes(StandardCharsets.US_ASCII));
        }
        jar = new URLClassLoader(new URL[] {file.toUri().toURL()}, null);
        fresh = Files.createDirectory(tmp.resolve("extract"));
        cache = fresh.resolve(NativeLoader.CACHE_DIR);
    }

    private static void put(JarOutputStream out, String name, byte[] data) throws IOException {
        out.putNextEntry(new JarEntry(name));
        out.write(data);
        out.closeEntry();
    }

    private NativeLoader.Result load() {
        return NativeLoader.load(new NativeLoader.Config(null, "native/linux-x86_64", fresh, recording,
            RecordingLoad::notFromLibraryPath, jar, cache, warnings::add));
    }

    private Path cachedFile() throws IOException {
        try (var files = Files.list(cache)) {
            List<Path> all = files.toList();
            assertEquals(1, all.size(), all.toString());
            return all.get(0);
        }
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void extractedOnceIntoRootsPrivateCacheAndReusedUnchanged() throws Exception {
        NativeLoader.Result first = load();
        assertTrue(first.loaded(), first.failureSummary());
        Path file = cachedFile();
        assertEquals(file.toString(), loaded.get(0));
        assertEquals("rwx------", mode(cache));
        assertEquals("r-x------", mode(file));
        assertEquals(0, Files.getAttribute(file, "unix:uid"));
        assertTrue(file.getFileName().toString().startsWith(
            HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(LIBRARY))), file.toString());
        Object inode = Files.getAttribute(file, "unix:ino");

        NativeLoader.Result second = load();
        assertTrue(second.loaded(), second.failureSummary());
        assertEquals(List.of(file.toString(), file.toString()), loaded);
        assertEquals(inode, Files.getAttribute(file, "unix:ino"), "reused, not written again");
        assertEquals(List.of(), warnings);
        assertTrue(second.attempts().get(0).detail().contains("cache"), second.attempts().toString());
    }

    @Test
    void aTamperedCachedLibraryIsExtractedAgainWithOneWarningAndNeverLoaded() throws Exception {
        assertTrue(load().loaded());
        Path file = cachedFile();
        byte[] tampered = LIBRARY.clone();
        tampered[10] ^= 0x20; // same size: only the content check can tell
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        Files.write(file, tampered);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r-x------"));

        assertTrue(load().loaded());
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains(file.toString()) && warnings.get(0).contains("differs from the jar"), warnings.get(0));
        assertArrayEquals(LIBRARY, bytesAtLoad.get(1), "what was loaded is the jar's library");
        assertArrayEquals(LIBRARY, Files.readAllBytes(file));
        assertEquals("r-x------", mode(file));
    }

    @Test
    void aCachedFileThatIsALinkOrWritableOrAnotherUsersIsReplaced() throws Exception {
        assertTrue(load().loaded());
        Path file = cachedFile();
        Path elsewhere = Files.write(tmp.resolve("elsewhere.so"), LIBRARY);

        Files.delete(file);
        Files.createSymbolicLink(file, elsewhere);
        assertTrue(load().loaded());
        assertFalse(Files.isSymbolicLink(file), "the link is replaced, not followed");
        assertArrayEquals(LIBRARY, Files.readAllBytes(elsewhere), "its target is left alone");

        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertTrue(load().loaded());
        assertEquals("r-x------", mode(file));

        Files.setAttribute(file, "unix:uid", 65534);
        assertTrue(load().loaded());
        assertEquals(0, Files.getAttribute(file, "unix:uid"));

        assertEquals(3, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("not a regular file"), warnings.get(0));
        assertTrue(warnings.get(1).contains("mode 0755"), warnings.get(1));
        assertTrue(warnings.get(2).contains("uid 65534"), warnings.get(2));
        for (String path : loaded) {
            assertEquals(file.toString(), path);
        }
    }

    @Test
    void aCacheDirectoryAnotherUserOwnsIsNotUsed() throws Exception {
        Files.createDirectory(cache, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.setAttribute(cache, "unix:uid", 65534);
        assertNotUsed("owned by uid 65534, not root");
    }

    @Test
    void aCacheDirectoryOthersMayEnterOrWriteIsNotUsed() throws Exception {
        Files.createDirectory(cache);
        Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertNotUsed("mode 0755, not 0700");
    }

    @Test
    void aCacheThatIsALinkIsNotUsed() throws Exception {
        Path target = Files.createDirectory(tmp.resolve("target"),
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.createSymbolicLink(cache, target);
        assertNotUsed("not a directory");
        try (var files = Files.list(target)) {
            assertEquals(0, files.count(), "nothing is written through the link");
        }
    }

    /** Loaded from a fresh private directory, removed again; the cache is left as it was; one warning. */
    private void assertNotUsed(String why) throws Exception {
        List<String> before;
        try (var files = Files.list(cache)) {
            before = files.map(Path::toString).toList();
        }
        NativeLoader.Result r = load();
        assertTrue(r.loaded(), r.failureSummary());
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains(cache.toString()) && warnings.get(0).contains(why), warnings.get(0));
        Path used = Path.of(loaded.get(0));
        assertFalse(used.startsWith(cache), used.toString());
        assertTrue(used.startsWith(fresh), used.toString());
        assertFalse(Files.exists(used.getParent()), "the fresh directory is removed after loading");
        assertArrayEquals(LIBRARY, bytesAtLoad.get(0));
        try (var files = Files.list(cache)) {
            assertEquals(before, files.map(Path::toString).toList());
        }
    }
}
