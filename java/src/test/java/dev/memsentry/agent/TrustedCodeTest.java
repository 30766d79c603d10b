package dev.memsentry.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which files root may run as code: only what root alone can change, up to the file system's root. */
class TrustedCodeTest {
    @TempDir
    Path tmp;

    @Test
    void effectiveUidIsWhatIdSays() throws Exception {
        Process id = new ProcessBuilder("id", "-u").start();
        String expected = new String(id.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).trim();
        assertEquals(0, id.waitFor());
        assertEquals(Long.parseLong(expected), TrustedCode.effectiveUid());
        assertEquals(expected.equals("0"), TrustedCode.runningAsRoot());
    }

    @Test
    void aRootOwnedFileInRootOwnedDirectoriesIsTrusted() throws Exception {
        assumeTrue(TrustedCode.runningAsRoot(), "needs root");
        Path lib = Files.writeString(tmp.resolve("lib.so"), "x");
        Files.setPosixFilePermissions(lib, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertEquals(Optional.empty(), TrustedCode.problem("X", lib), "the test's tmp sits in sticky /tmp");
        assertEquals(Optional.empty(), TrustedCode.problem("X", tmp.resolve("missing.so")), "the loader reports it");
    }

    @Test
    void anotherUsersFileAWritableFileOrAWritableDirectoryIsNot() throws Exception {
        assumeTrue(TrustedCode.runningAsRoot(), "needs root to give files away");
        Path theirs = Files.writeString(tmp.resolve("theirs.so"), "x");
        Files.setAttribute(theirs, "unix:uid", 65534);
        assertEquals(Optional.of("MEMSENTRY_NATIVE_LIB " + theirs + ": " + theirs.toRealPath()
            + " is owned by uid 65534, not root"), TrustedCode.problem("MEMSENTRY_NATIVE_LIB", theirs));
        Path open = Files.writeString(tmp.resolve("open.so"), "x");
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxr-x"));
        assertTrue(TrustedCode.problem("X", open).orElseThrow().endsWith("is writable by group or others"));
        Path dir = Files.createDirectory(tmp.resolve("shared"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path inside = Files.writeString(dir.resolve("lib.so"), "x");
        assertTrue(TrustedCode.problem("X", inside).orElseThrow().contains("its directory " + dir.toRealPath()),
            "whoever may write the directory may replace the file");
        Path link = Files.createSymbolicLink(tmp.resolve("link.so"), theirs);
        assertTrue(TrustedCode.problem("X", link).orElseThrow().contains("owned by uid 65534"), "links are followed");
        AgentException e = org.junit.jupiter.api.Assertions.assertThrows(AgentException.class,
            () -> TrustedCode.require("MEMSENTRY_PYTHON", theirs));
        assertEquals(Status.ACCESS_DENIED, e.status());
    }
}
