package dev.memsentry.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** dpkg's file lists, read through this process's root, against `dpkg -S` as the oracle. */
class PackageFilesTest {
    private static boolean dpkgOwns(String path) throws Exception {
        Process p = new ProcessBuilder("dpkg", "-S", path).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return p.exitValue() == 0;
    }

    @Test
    void ownedFilesAreTheOnesDpkgNames() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/var/lib/dpkg/info")), "a Debian system");
        PackageFiles files = new PackageFiles();
        long self = ProcessHandle.current().pid();
        for (String path : new String[] {"/usr/bin/dpkg", "/etc/debian_version", "/usr/bin/memsentry-no-such-file"}) {
            assertEquals(dpkgOwns(path), files.owns(self, path), path);
        }
        assertTrue(files.owns(self, "/usr/bin/dpkg"));
        assertFalse(files.owns(self, "/usr/bin/memsentry-no-such-file"));
    }

    @Test
    void systemLibraryDirectoriesAreTheLoadersAndTheirSubdirectories() {
        assertTrue(PackageFiles.inSystemLibraryDir("/usr/lib/x86_64-linux-gnu/libc.so.6"));
        assertTrue(PackageFiles.inSystemLibraryDir("/usr/local/lib/python3.11/x.so"));
        assertFalse(PackageFiles.inSystemLibraryDir("/usr/libexec/x.so"));
        assertFalse(PackageFiles.inSystemLibraryDir("/root/.cache/x.so"));
        assertFalse(PackageFiles.inSystemLibraryDir("/tmp/usr/lib/x.so"));
    }
}
