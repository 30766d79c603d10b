package dev.memsentry.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loader's order and safety rules, with a recording load function: the real System.load is
 * exercised by NativeAgentTest and the end-to-end tests against the built library.
 */
class NativeLoaderTest {
    @TempDir
    Path tmp;

    private final List<String> loadedFiles = new ArrayList<>();
    private final List<String> loadedLibraries = new ArrayList<>();
    private final List<String> permissionsAtLoad = new ArrayList<>();

    private ClassLoader jarWith(byte[] library, String checksum) throws IOException {
        Path root = tmp.resolve("jar");
        Path dir = root.resolve("native/linux-x86_64");
        Files.createDirectories(dir);
        if (library != null) {
            Files.write(dir.resolve("libmemsentry.so"), library);
        }
        if (checksum != null) {
            Files.writeString(dir.resolve("libmemsentry.so.sha256"), checksum + "\n");
        }
        return new URLClassLoader(new URL[] {root.toUri().toURL()}, null);
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    private NativeLoader.Config config(String override, ClassLoader resources) throws IOException {
        Path extract = tmp.resolve("extract");
        Files.createDirectories(extract);
        return new NativeLoader.Config(override, "native/linux-x86_64", extract, path -> {
            loadedFiles.add(path);
            if (!path.startsWith(extract.toString())) {
                return;
            }
            try {
                permissionsAtLoad.add(PosixFilePermissions.toString(Files.getPosixFilePermissions(Path.of(path).getParent())));
            } catch (IOException e) {
                throw new UnsatisfiedLinkError(e.toString());
            }
        }, loadedLibraries::add, resources);
    }

    @Test
    void platformDirectoryNamesFollowOsAndArch() {
        assertEquals("linux-x86_64", NativeLoader.platformDirectory("Linux", "amd64"));
        assertEquals("linux-aarch64", NativeLoader.platformDirectory("Linux", "aarch64"));
        assertEquals("windows-x86_64", NativeLoader.platformDirectory("Windows Server 2022", "amd64"));
        assertEquals("memsentry.dll", NativeLoader.libraryFileName("Windows 10"));
        assertEquals("libmemsentry.so", NativeLoader.libraryFileName("Linux"));
    }

    @Test
    void bundledLibraryIsExtractedIntoAPrivateDirectoryAndRemoved() throws Exception {
        byte[] lib = "not really ELF".getBytes(StandardCharsets.US_ASCII);
        NativeLoader.Result r = NativeLoader.load(config(null, jarWith(lib, sha256(lib))));
        assertTrue(r.loaded(), r.failureSummary());
        assertEquals(1, loadedFiles.size());
        assertEquals(List.of("rwx------"), permissionsAtLoad);
        Path extracted = Path.of(loadedFiles.get(0));
        assertTrue(extracted.startsWith(tmp.resolve("extract")));
        assertFalse(Files.exists(extracted), "extracted library must be deleted after loading");
        assertFalse(Files.exists(extracted.getParent()), "private directory must be deleted after loading");
        assertTrue(loadedLibraries.isEmpty());
    }

    @Test
    void checksumMismatchIsRefusedAndNothingIsLoadedFromTheJar() throws Exception {
        byte[] lib = "tampered".getBytes(StandardCharsets.US_ASCII);
        NativeLoader.Result r = NativeLoader.load(config(null, jarWith(lib, sha256("original".getBytes(StandardCharsets.US_ASCII)))));
        assertTrue(loadedFiles.isEmpty());
        assertTrue(r.attempts().get(0).detail().contains("does not match its SHA-256"), r.failureSummary());
        // Falls through to java.library.path, which the recorder accepts.
        assertEquals(List.of("memsentry"), loadedLibraries);
        try (var files = Files.list(tmp.resolve("extract"))) {
            assertEquals(0, files.count(), "no extracted file may be left behind");
        }
    }

    @Test
    void overrideIsUsedAloneAndNeverFallsThrough() throws Exception {
        byte[] lib = "bundled".getBytes(StandardCharsets.US_ASCII);
        NativeLoader.Config base = config("/opt/custom/libmemsentry.so", jarWith(lib, sha256(lib)));
        NativeLoader.Config failing = new NativeLoader.Config(base.overridePath(), base.resourceRoot(), base.tempParent(),
            path -> {
                throw new UnsatisfiedLinkError("cannot open shared object file: " + path);
            }, loadedLibraries::add, base.resources());
        NativeLoader.Result r = NativeLoader.load(failing);
        assertFalse(r.loaded());
        assertEquals(1, r.attempts().size(), "an override must not fall through to other sources");
        assertTrue(r.failureSummary().contains("/opt/custom/libmemsentry.so"), r.failureSummary());
        assertTrue(loadedLibraries.isEmpty());

        NativeLoader.Result ok = NativeLoader.load(base);
        assertTrue(ok.loaded());
        assertEquals(List.of("/opt/custom/libmemsentry.so"), loadedFiles);
    }

    @Test
    void missingFromTheJarFallsBackToLibraryPath() throws Exception {
        NativeLoader.Result r = NativeLoader.load(config(null, jarWith(null, null)));
        assertTrue(r.loaded());
        assertEquals("java.library.path", r.loadedFrom());
        assertTrue(r.attempts().get(0).detail().contains("not in the jar"));
    }

    @Test
    void everyFailureIsRecorded() throws Exception {
        NativeLoader.Config base = config(null, jarWith(null, null));
        NativeLoader.Result r = NativeLoader.load(new NativeLoader.Config(null, base.resourceRoot(), base.tempParent(),
            base.loadFile(), name -> {
                throw new UnsatisfiedLinkError("no memsentry in java.library.path");
            }, base.resources()));
        assertFalse(r.loaded());
        assertNull(r.loadedFrom());
        assertEquals(2, r.attempts().size());
        assertTrue(r.failureSummary().contains("no memsentry in java.library.path"));
    }
}
