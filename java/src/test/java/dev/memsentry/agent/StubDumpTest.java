package dev.memsentry.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.StubSupport;
import dev.memsentry.testing.Victim;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Raw dumps written by the stub: evidence-safe files, a manifest that tells the truth, the target's bytes. */
class StubDumpTest {
    private static final Duration IDLE = Duration.ofSeconds(60);

    @TempDir
    Path tmp;
    private StubAgent stub;
    private Path out;

    @BeforeEach
    void open() throws Exception {
        stub = StubAgent.start(StubSupport.config(tmp));
        out = Files.createDirectory(tmp.resolve("evidence"));
    }

    @AfterEach
    void close() {
        stub.close();
    }

    private static long hex(JsonNode n) {
        return Long.parseUnsignedLong(n.asText().substring(2), 16);
    }

    @Test
    void rawDumpHoldsTheRegionsBackToBackWithAManifestThatMatches() throws Exception {
        NativeSupport.requireNative();
        String marker = "DUMP-MARKER-" + System.nanoTime();
        Path file = out.resolve("victim.raw");
        try (Victim v = Victim.start("victim_marker", marker); NativeAgent nativeAgent = NativeAgent.open()) {
            StubAgent.DumpSummary s = stub.dump(v.pid(), file, StubAgent.DumpOptions.defaults(), IDLE);
            assertEquals(file, s.file());
            assertEquals(Path.of(file + ".json"), s.manifest());
            for (Path p : List.of(file, s.manifest())) {
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)));
            }
            try (var left = Files.list(out)) {
                assertEquals(2, left.count(), "no temporary file is left behind");
            }
            JsonNode m = Json.mapper().readTree(s.manifest().toFile());
            assertEquals("memsentry-raw", m.get("format").asText(), "the Windows agent's manifest format");
            assertEquals(1, m.get("version").asInt());
            assertEquals("linux", m.get("os").asText());
            assertEquals("victim.raw", m.get("data").asText());
            assertEquals(v.pid(), m.get("pid").asLong());
            assertEquals("victim_marker", m.get("process").get("name").asText());
            assertEquals(s.fileSize(), Files.size(file));
            assertEquals(s.regions(), m.get("regions").size());
            assertEquals(s.regions(), s.regionsDumped() + s.regionsSkipped());

            long addr = v.hex("addr");
            long expectedOffset = 0;
            long sumRead = 0;
            boolean markerSeen = false;
            try (var raf = new java.io.RandomAccessFile(file.toFile(), "r")) {
                for (JsonNode r : m.get("regions")) {
                    long start = hex(r.get("start"));
                    long length = r.get("bytes").asLong();
                    String status = r.get("status").asText();
                    if (status.equals("skipped")) {
                        assertEquals(0, length);
                        assertFalse(r.get("reason").asText().isEmpty(), "a skipped region says why: " + r);
                        assertFalse(r.has("sha256"), r.toString());
                        continue;
                    }
                    assertTrue(List.of("ok", "truncated", "partial").contains(status), r.toString());
                    assertEquals(expectedOffset, r.get("file_offset").asLong(), "back to back: " + r);
                    assertEquals(length, r.get("bytes_read").asLong() + r.get("bytes_hole").asLong()
                        + r.get("bytes_unreadable").asLong(), r.toString());
                    byte[] bytes = new byte[(int) length];
                    raf.seek(expectedOffset);
                    raf.readFully(bytes);
                    assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)),
                        r.get("sha256").asText(), "sha256 of " + r);
                    if (start <= addr && addr < start + length) {
                        byte[] got = Arrays.copyOfRange(bytes, (int) (addr - start), (int) (addr - start) + marker.length());
                        assertArrayEquals(marker.getBytes(StandardCharsets.US_ASCII), got);
                        // The whole anonymous mapping, holes included, equals what the C library reads.
                        byte[] viaNative = new byte[(int) length];
                        assertEquals(length, nativeAgent.readMemory(v.pid(), start, viaNative, 0, viaNative.length));
                        assertArrayEquals(viaNative, bytes);
                        assertTrue(r.get("bytes_hole").asLong() > 0, "untouched pages are holes, not read: " + r);
                        markerSeen = true;
                    }
                    sumRead += r.get("bytes_read").asLong();
                    expectedOffset += length;
                }
            }
            assertTrue(markerSeen, "the marker's region is in the dump");
            assertEquals(expectedOffset, s.fileSize());
            assertEquals(sumRead, s.bytesRead());
            assertTrue(m.get("regions").findValuesAsText("kind").contains("vvar"));
        }
    }

    @Test
    void existingFileOrLinkIsRefusedUnlessForced() throws Exception {
        Path file = out.resolve("taken.raw");
        Files.writeString(file, "earlier evidence");
        Path target = tmp.resolve("precious");
        Files.writeString(target, "do not overwrite");
        Path link = out.resolve("link.raw");
        Files.createSymbolicLink(link, target);
        try (Victim v = Victim.start("victim_marker")) {
            AgentException e = assertThrows(AgentException.class,
                () -> stub.dump(v.pid(), file, StubAgent.DumpOptions.defaults(), IDLE));
            assertEquals(Status.EXISTS, e.status());
            assertEquals("earlier evidence", Files.readString(file));
            assertEquals(Status.EXISTS, assertThrows(AgentException.class,
                () -> stub.dump(v.pid(), link, StubAgent.DumpOptions.defaults(), IDLE)).status());
            assertEquals("do not overwrite", Files.readString(target));

            StubAgent.DumpOptions force = new StubAgent.DumpOptions(true, false, 1 << 20, 0, 0, true);
            stub.dump(v.pid(), link, force, IDLE);
            assertFalse(Files.isSymbolicLink(link), "the link itself is replaced");
            assertEquals("do not overwrite", Files.readString(target), "never written through");
            try (var left = Files.list(out)) {
                assertEquals(3, left.count(), "taken.raw, link.raw and its manifest: " + Files.list(out).toList());
            }
        }
    }

    @Test
    void capsAndFiltersAreRecorded() throws Exception {
        try (Victim v = Victim.start("victim_marker")) {
            Path file = out.resolve("capped.raw");
            StubAgent.DumpSummary s = stub.dump(v.pid(), file, new StubAgent.DumpOptions(false, false, 8192, 0, 0, false), IDLE);
            JsonNode m = Json.mapper().readTree(s.manifest().toFile());
            boolean truncated = false;
            for (JsonNode r : m.get("regions")) {
                assertTrue(r.get("bytes").asLong() <= 8192, r.toString());
                truncated |= r.get("status").asText().equals("truncated") && r.get("reason").asText().contains("cap");
            }
            assertTrue(truncated && s.regionsTruncated() > 0);
        }
        Path dir = Files.createDirectory(tmp.resolve("kinds"));
        try (Victim v = Victim.start("victim_kinds", dir.toString())) {
            Path only = out.resolve("suspicious.raw");
            StubAgent.DumpSummary sus = stub.dump(v.pid(), only, new StubAgent.DumpOptions(false, true, 0, 0, 0, false), IDLE);
            JsonNode ms = Json.mapper().readTree(sus.manifest().toFile());
            List<Long> dumped = new java.util.ArrayList<>();
            for (JsonNode r : ms.get("regions")) {
                if (!r.get("status").asText().equals("skipped")) {
                    dumped.add(hex(r.get("start")));
                    assertEquals('x', r.get("perms").asText().charAt(2), "only executable regions are suspicious here: " + r);
                } else if (r.get("reason").asText().contains("not suspicious")) {
                    assertEquals(0, r.get("bytes").asLong());
                }
            }
            assertEquals(List.of(v.hex("rwx"), v.hex("memfd")), dumped, "the RWX anonymous region and the memfd, nothing else");
        }
    }

    @Test
    void minidumpIsRefusedWithoutWritingAnything() throws Exception {
        Path file = out.resolve("nobody.dmp");
        AgentException e = assertThrows(AgentException.class, () -> stub.dump(Integer.MAX_VALUE, file,
            dev.memsentry.agent.DumpOptions.defaults().withFormat(DumpFormat.MINIDUMP), null, null));
        assertEquals(Status.UNSUPPORTED, e.status());
        assertTrue(e.getMessage().contains("minidumps need the native agent on Windows"), e.getMessage());
        try (var left = Files.list(out)) {
            assertEquals(0, left.count());
        }
    }

    @Test
    void missingProcessLeavesNoFile() throws Exception {
        Path file = out.resolve("nobody.raw");
        AgentException e = assertThrows(AgentException.class,
            () -> stub.dump(Integer.MAX_VALUE, file, StubAgent.DumpOptions.defaults(), IDLE));
        assertEquals(Status.NO_SUCH_PROCESS, e.status());
        try (var left = Files.list(out)) {
            assertEquals(0, left.count());
        }
    }
}
