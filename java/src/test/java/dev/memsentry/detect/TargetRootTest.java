package dev.memsentry.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Paths of a process in another root (here a chroot the test starts, as a container has): its
 * absolute symbolic links resolve in its root, not in the host's.
 */
class TargetRootTest {
    @Test
    void absoluteLinksOfTheTargetStayInItsRoot(@TempDir Path root) throws Exception {
        Path busybox = Path.of("/bin/busybox");
        assumeTrue("root".equals(System.getProperty("user.name")) && Files.isExecutable(busybox),
            "needs root (chroot) and a static busybox");
        Files.createDirectories(root.resolve("bin"));
        Files.copy(busybox, root.resolve("bin/busybox"), StandardCopyOption.COPY_ATTRIBUTES);
        Files.createDirectories(root.resolve("usr/lib/ms-inside"));
        Files.writeString(root.resolve("usr/lib/ms-inside/lib.so"), "inside");
        Files.createSymbolicLink(root.resolve("lib"), Path.of("/usr/lib"));
        Files.createSymbolicLink(root.resolve("usr/lib/ms-inside/up"), Path.of("../../../lib"));
        assertFalse(Files.exists(Path.of("/usr/lib/ms-inside")), "the host has no such directory");

        Process p = new ProcessBuilder("chroot", root.toString(), "/bin/busybox", "sleep", "60").start();
        try {
            long pid = p.pid();
            // Until chroot has run: the host has /bin/busybox too, but not this directory.
            for (int i = 0; i < 250 && !Files.isDirectory(Path.of("/proc/" + pid + "/root/usr/lib/ms-inside")); i++) {
                Thread.sleep(20);
            }
            String naive = "/proc/" + pid + "/root/lib/ms-inside/lib.so";
            assertFalse(Files.exists(Path.of(naive)), "the kernel follows /lib -> /usr/lib from the host's root");
            Path resolved = TargetRoot.resolve(pid, "/lib/ms-inside/lib.so").orElseThrow();
            assertEquals(Path.of("/proc/" + pid + "/root/usr/lib/ms-inside/lib.so"), resolved);
            assertEquals("inside", Files.readString(resolved));
            Path viaRelative = TargetRoot.resolve(pid, "/usr/lib/ms-inside/up/ms-inside/lib.so").orElseThrow();
            assertTrue(Files.isRegularFile(viaRelative, LinkOption.NOFOLLOW_LINKS), viaRelative.toString());
            assertEquals(Path.of("/proc/" + pid + "/root/lib"), TargetRoot.resolve(pid, "/lib").orElseThrow(),
                "the last component is not followed");
            assertEquals(Path.of("/proc/" + pid + "/root"), TargetRoot.resolve(pid, "/../../..").orElseThrow(),
                "no way above the root");
            assertTrue(TargetRoot.resolve(pid, "relative").isEmpty());
            assertTrue(FilelessCheck.replacedOnDisk(pid, "/lib/ms-inside/lib.so (deleted)"));
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
