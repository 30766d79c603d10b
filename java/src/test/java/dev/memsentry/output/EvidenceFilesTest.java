package dev.memsentry.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.agent.DumpFormat;
import dev.memsentry.agent.TrustedCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvidenceFilesTest {
    @Test
    void hostileProcessNamesBecomeHarmlessFileNames() {
        Instant t = Instant.parse("2026-12-04T03:05:09.123Z");
        assertEquals("nginx.42.20261204T030509Z.core", EvidenceFiles.timestampedName("nginx", 42, t, DumpFormat.CORE));
        assertEquals(".._.._etc_passwd", EvidenceFiles.safeName("../../etc/passwd").substring(7));
        assertTrue(EvidenceFiles.safeName("../../etc/passwd").startsWith("process"), "no leading dot");
        assertEquals("a_b_c_d", EvidenceFiles.safeName("a\nb/c\u00e9d"));
        assertEquals("process", EvidenceFiles.safeName(""));
        assertEquals(64, EvidenceFiles.safeName("x".repeat(5000)).length());
        String name = EvidenceFiles.timestampedName("\u0000/..", 7, t, DumpFormat.RAW);
        assertFalse(name.contains("/") || name.startsWith("."), name);
    }

    @Test
    void theDirectoryIsCreatedPrivateAndALinkOrAFileIsRefused(@TempDir Path tmp) throws Exception {
        Path made = EvidenceFiles.prepareDirectory(tmp.resolve("a/b"), true);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(made)));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), made);
        IOException e = assertThrows(IOException.class, () -> EvidenceFiles.prepareDirectory(link, true));
        assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
        assertEquals(made, EvidenceFiles.prepareDirectory(link, false), "the dump command's --out-dir follows links");
        Path file = Files.writeString(tmp.resolve("f"), "x");
        e = assertThrows(IOException.class, () -> EvidenceFiles.prepareDirectory(file, true));
        assertEquals(file + " is not a directory", e.getMessage());
        Files.setPosixFilePermissions(made, PosixFilePermissions.fromString("rwxrwxrwx"));
        e = assertThrows(IOException.class, () -> EvidenceFiles.prepareDirectory(made, true));
        assertEquals(made + " is writable by group or others (mode 0777)", e.getMessage());
    }

    @Test
    void aDirectoryAnotherUserOwnsIsRefusedForEvidenceAndForASingleFile(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(TrustedCode.effectiveUid() == 0, "needs root to give a directory away");
        Path theirs = Files.createDirectory(tmp.resolve("theirs"));
        Files.setAttribute(theirs, "unix:uid", 65534);
        Files.setPosixFilePermissions(theirs, PosixFilePermissions.fromString("rwxr-xr-x"));
        IOException e = assertThrows(IOException.class, () -> EvidenceFiles.prepareDirectory(theirs, true));
        assertEquals(theirs + " is owned by uid 65534, not by the running user (uid 0)", e.getMessage());
        e = assertThrows(IOException.class, () -> EvidenceFiles.prepareFile(theirs.resolve("x.core")));
        assertEquals(theirs + " is owned by uid 65534, not by the running user (uid 0)", e.getMessage());
        assertEquals(tmp.resolve("x.core"), EvidenceFiles.prepareFile(tmp.resolve("x.core")));
    }
}
