package dev.memsentry.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.testing.ElfCore;
import dev.memsentry.testing.Victim;
import dev.memsentry.testing.WithNativeAgent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Dumps through JNI against real victims: the bytes land in the file, only facts reach Java. */
class NativeDumpTest extends WithNativeAgent {
    @TempDir
    Path dir;

    private static List<String> names(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void minidumpIsTheWindowsAgentsAndLeavesNothingOnLinux() throws Exception {
        try (Victim v = Victim.start("victim_marker")) {
            Path file = dir.resolve("v.dmp");
            AgentException e = assertThrows(AgentException.class,
                () -> agent.dump(v.pid(), file, DumpOptions.defaults().withFormat(DumpFormat.MINIDUMP), null, null));
            assertEquals(Status.UNSUPPORTED, e.status());
            assertTrue(e.getMessage().contains("Windows-only"), e.getMessage());
            assertEquals(List.of(), names(dir));
        }
    }

    @Test
    void coreDumpHoldsTheMarkerAtItsAddress() throws Exception {
        String marker = "JNI-CORE-" + System.nanoTime();
        try (Victim v = Victim.start("victim_marker", marker)) {
            Path file = dir.resolve("v.core");
            DumpResult r = agent.dump(v.pid(), file, DumpOptions.defaults(), null, null);
            assertEquals(1, r.threads());
            assertFalse(r.frozen());
            assertTrue(r.regionsDumped() > 5, r.toString());
            assertEquals(Files.size(file), r.fileSize());
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            try (ElfCore core = new ElfCore(file)) {
                assertArrayEquals(marker.getBytes(StandardCharsets.US_ASCII), core.at(v.hex("addr"), marker.length()));
                assertEquals(r.regions(), core.loads().size());
            }
        }
    }

    @Test
    void rawDumpReportsEveryRegionAndTheBytesSitAtTheReportedOffsets() throws Exception {
        String marker = "JNI-RAW-" + System.nanoTime();
        try (Victim v = Victim.start("victim_marker", marker)) {
            Path file = dir.resolve("v.raw");
            List<DumpedRegion> regions = new ArrayList<>();
            List<long[]> progress = new ArrayList<>();
            DumpListener l = new DumpListener() {
                @Override
                public boolean progress(long done, long total) {
                    progress.add(new long[] {done, total});
                    return true;
                }

                @Override
                public void region(DumpedRegion r) {
                    regions.add(r);
                }

                @Override
                public boolean wantsRegions() {
                    return true;
                }
            };
            DumpResult r = agent.dump(v.pid(), file, DumpOptions.defaults().withFormat(DumpFormat.RAW), l, null);
            assertEquals(r.regions(), regions.size());
            assertTrue(Files.exists(Path.of(file + ".json")));
            long addr = v.hex("addr");
            DumpedRegion hit = regions.stream().filter(x -> Long.compareUnsigned(x.start(), addr) <= 0
                && Long.compareUnsigned(addr, x.end()) < 0).findFirst().orElseThrow();
            assertEquals(DumpRegionStatus.OK, hit.status());
            assertEquals(RegionKind.ANONYMOUS, hit.kind());
            byte[] all = Files.readAllBytes(file);
            int at = (int) (hit.fileOffset() + addr - hit.start());
            assertEquals(marker, new String(all, at, marker.length(), StandardCharsets.US_ASCII));
            // The digest covers exactly the region's bytes in the file.
            var sha = java.security.MessageDigest.getInstance("SHA-256");
            sha.update(all, (int) hit.fileOffset(), (int) hit.length());
            assertEquals(java.util.HexFormat.of().formatHex(sha.digest()), hit.sha256());
            // Progress starts at 0, never goes back, ends at the total.
            assertEquals(0, progress.get(0)[0]);
            long last = -1;
            for (long[] p : progress) {
                assertTrue(p[0] >= last);
                last = p[0];
            }
            assertEquals(progress.get(progress.size() - 1)[1], last);
            assertEquals(r.bytesDumped(), last);
            assertTrue(regions.stream().anyMatch(x -> x.status() == DumpRegionStatus.SKIPPED && !x.reason().isEmpty()));
        }
    }

    @Test
    void cancelledTokenStopsTheDumpAndLeavesNothing() throws Exception {
        try (Victim v = Victim.start("victim_pages", "64", "1")) {
            CancelToken cancel = new CancelToken();
            DumpListener l = new DumpListener() {
                @Override
                public boolean progress(long done, long total) {
                    if (done > 0) {
                        cancel.cancel(); // as a Ctrl-C hook would, from the middle of the dump
                    }
                    return true;
                }
            };
            // No --freeze here: the victim is this JVM's child, and the JVM's process reaper would
            // take the stop for an exit (the CLI tests freeze from another process).
            AgentException e = assertThrows(AgentException.class, () -> agent.dump(v.pid(), dir.resolve("c.core"),
                DumpOptions.defaults().withMaxRegionSize(0), l, cancel));
            assertEquals(Status.INTERRUPTED, e.status());
            assertEquals(List.of(), names(dir));
            // A token cancelled before the dump starts refuses it at once.
            AgentException again = assertThrows(AgentException.class,
                () -> agent.dump(v.pid(), dir.resolve("d.core"), DumpOptions.defaults(), null, cancel));
            assertEquals(Status.INTERRUPTED, again.status());
        }
    }

    @Test
    void progressReturningFalseStopsIt() throws Exception {
        try (Victim v = Victim.start("victim_marker")) {
            DumpListener no = new DumpListener() {
                @Override
                public boolean progress(long done, long total) {
                    return false;
                }
            };
            AgentException e = assertThrows(AgentException.class,
                () -> agent.dump(v.pid(), dir.resolve("s.core"), DumpOptions.defaults(), no, null));
            assertEquals(Status.STOPPED, e.status());
            assertEquals(List.of(), names(dir));
        }
    }

    @Test
    void existingFileAndMissingProcessAreClearErrors() throws Exception {
        try (Victim v = Victim.start("victim_marker")) {
            Path file = dir.resolve("x.core");
            Files.writeString(file, "keep");
            AgentException e = assertThrows(AgentException.class,
                () -> agent.dump(v.pid(), file, DumpOptions.defaults(), null, null));
            assertEquals(Status.EXISTS, e.status());
            assertEquals("keep", Files.readString(file));
            assertNotNull(agent.dump(v.pid(), file, DumpOptions.defaults().withForce(true), null, null));
        }
        long pidMax = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).get(0).trim());
        AgentException gone = assertThrows(AgentException.class,
            () -> agent.dump(pidMax, dir.resolve("y.core"), DumpOptions.defaults(), null, null));
        assertEquals(Status.NO_SUCH_PROCESS, gone.status());
        assertThrows(IllegalArgumentException.class, () -> DumpOptions.defaults().withMaxRegionSize(-1));
    }

    static String status(long pid, String field) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1).trim();
            }
        }
        return "";
    }
}
