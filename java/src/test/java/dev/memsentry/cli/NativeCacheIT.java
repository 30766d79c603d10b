package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.memsentry.agent.BundledFiles;
import dev.memsentry.agent.NativeLoader;
import dev.memsentry.agent.TrustedCode;
import dev.memsentry.testing.NativeSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built jar, as root, with the real System.load: the library is extracted once into root's
 * cache and loaded from there; a changed cached copy is extracted again (one WARN line) and a cache
 * another user owns is left alone (one WARN line), the native backend working every time.
 */
class NativeCacheIT {
    @TempDir
    Path tmp;

    private CliIT.Run ps() throws Exception {
        return CliIT.jarInPidNamespace(List.of("-D" + NativeLoader.TMPDIR_PROPERTY + "=" + tmp), "--backend", "native", "ps");
    }

    private static byte[] bundledLibrary() throws Exception {
        try (JarFile jar = new JarFile(System.getProperty("memsentry.jar"))) {
            return jar.getInputStream(jar.getEntry(BundledFiles.platformRoot() + "/libmemsentry.so")).readAllBytes();
        }
    }

    @Test
    void extractedOnceReExtractedWhenChangedAndNotUsedWhenAnotherUserOwnsIt() throws Exception {
        NativeSupport.requireNative();
        assumeTrue(TrustedCode.runningAsRoot(), "the cache is root's");
        Path cache = tmp.resolve(NativeLoader.CACHE_DIR);

        CliIT.Run first = ps();
        assertEquals(ExitCodes.OK, first.code(), first.err());
        assertEquals("", first.err());
        assertTrue(first.out().contains("sleep"), first.out());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cache)));
        Path cached;
        try (var files = Files.list(cache)) {
            cached = files.filter(p -> p.getFileName().toString().endsWith("libmemsentry.so")).findFirst().orElseThrow();
        }
        assertEquals("r-x------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cached)));
        byte[] library = bundledLibrary();
        assertArrayEquals(library, Files.readAllBytes(cached));
        try (var files = Files.list(tmp)) {
            assertEquals(List.of(cache), files.toList(), "nothing but the cache is left in the directory");
        }

        byte[] changed = library.clone();
        changed[changed.length / 2] ^= 0x01;
        Files.setPosixFilePermissions(cached, PosixFilePermissions.fromString("rw-------"));
        Files.write(cached, changed);
        Files.setPosixFilePermissions(cached, PosixFilePermissions.fromString("r-x------"));
        CliIT.Run again = ps();
        assertEquals(ExitCodes.OK, again.code(), again.err());
        List<String> lines = again.err().strip().lines().toList();
        assertEquals(1, lines.size(), again.err());
        assertTrue(lines.get(0).startsWith("WARN") && lines.get(0).contains(cached.toString())
            && lines.get(0).contains("differs from the jar"), again.err());
        assertArrayEquals(library, Files.readAllBytes(cached), "extracted again");

        Files.setAttribute(cache, "unix:uid", 65534);
        CliIT.Run foreign = ps();
        assertEquals(ExitCodes.OK, foreign.code(), foreign.err());
        lines = foreign.err().strip().lines().toList();
        assertEquals(1, lines.size(), foreign.err());
        assertTrue(lines.get(0).startsWith("WARN") && lines.get(0).contains(cache.toString())
            && lines.get(0).contains("owned by uid 65534"), foreign.err());
        try (var files = Files.list(tmp)) {
            assertEquals(List.of(cache), files.toList(), "the fresh extraction is removed after loading");
        }
    }
}
