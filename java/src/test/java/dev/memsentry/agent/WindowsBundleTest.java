package dev.memsentry.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Windows library the Linux build bundles (profile windows-cross in pom.xml): it is in the
 * jar's resources under native/windows-x86_64/, it is a 64-bit PE DLL matching its checksum, and
 * the loader, told it runs on Windows on amd64, extracts and loads exactly that file. Required
 * whenever the cross toolchain is installed; skipped only in a build without it.
 */
class WindowsBundleTest {
    private static final String ROOT = "native/windows-x86_64";

    @TempDir
    Path tmp;

    private byte[] dll;

    @BeforeEach
    void findBundledDll() throws IOException {
        boolean expected = Boolean.getBoolean("memsentry.windows.expected") && !Boolean.getBoolean("memsentry.windows.skip");
        try (InputStream in = getClass().getClassLoader().getResourceAsStream(ROOT + "/memsentry.dll")) {
            if (!expected) {
                assumeTrue(in != null, "no mingw-w64 toolchain in this build: memsentry.dll not bundled");
            }
            assertNotNull(in, "the cross toolchain is installed, so " + ROOT + "/memsentry.dll must be bundled");
            dll = in.readAllBytes();
        }
    }

    @Test
    void bundledDllIsA64BitWindowsDllMatchingItsChecksum() throws Exception {
        ByteBuffer b = ByteBuffer.wrap(dll).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals('M', dll[0]);
        assertEquals('Z', dll[1]);
        int pe = b.getInt(0x3c);
        assertEquals(0x00004550, b.getInt(pe), "PE signature");
        assertEquals(0x8664, b.getShort(pe + 4) & 0xffff, "machine: AMD64");
        assertTrue((b.getShort(pe + 22) & 0x2000) != 0, "characteristics: IMAGE_FILE_DLL");
        assertEquals(0x20b, b.getShort(pe + 24) & 0xffff, "optional header: PE32+");

        try (InputStream sum = getClass().getClassLoader().getResourceAsStream(ROOT + "/memsentry.dll.sha256")) {
            assertNotNull(sum, "checksum bundled next to the DLL");
            String expected = new String(sum.readAllBytes(), StandardCharsets.US_ASCII).trim();
            assertEquals(expected, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(dll)));
        }
    }

    @Test
    void loaderOnWindowsAmd64PicksTheBundledDll() throws Exception {
        String root = "native/" + NativeLoader.platformDirectory("Windows Server 2022", "amd64");
        assertEquals(ROOT, root);
        RecordingLoad load = new RecordingLoad();
        List<String> loaded = load.paths;
        List<byte[]> contents = load.bytes;
        NativeLoader.Config config = new NativeLoader.Config(null, root, tmp, load, RecordingLoad::notFromLibraryPath,
            getClass().getClassLoader());
        NativeLoader.Result r = NativeLoader.load(config);
        assertTrue(r.loaded(), r.failureSummary());
        assertEquals("jar:" + ROOT, r.loadedFrom());
        assertEquals(1, loaded.size());
        assertEquals("memsentry.dll", Path.of(loaded.get(0)).getFileName().toString());
        assertArrayEquals(dll, contents.get(0), "the extracted file is the bundled DLL, byte for byte");
    }
}
