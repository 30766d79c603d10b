package dev.memsentry.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.detect.EcsDocument;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The on-disk spool: order, persistence across runs, the size limit, torn writes, one user at a time. */
class SpoolTest {
    @TempDir
    Path tmp;

    private static List<SinkRecord> records(int first, int n) {
        List<SinkRecord> out = new ArrayList<>();
        for (EcsDocument d : TestDocs.alerts(first, n, 1)) {
            out.add(SinkRecord.of(d));
        }
        return out;
    }

    private static List<String> ids(List<SinkRecord> rs) {
        return rs.stream().map(SinkRecord::id).toList();
    }

    @Test
    void replaysInOrderAcrossReopeningAndEndsEmpty() throws IOException {
        Path dir = tmp.resolve("s");
        List<SinkRecord> all = records(0, 300);
        try (Spool s = Spool.open(dir, 1 << 20)) {
            assertEquals(0, s.append(all.subList(0, 200)));
            List<SinkRecord> first = s.peek(50);
            assertEquals(ids(all.subList(0, 50)), ids(first));
            s.commit(50);
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        try (Spool s = Spool.open(dir, 1 << 20)) {
            assertEquals(150, s.pending(), "what was committed stays delivered");
            s.append(all.subList(200, 300));
            List<String> got = new ArrayList<>();
            while (s.pending() > 0) {
                List<SinkRecord> b = s.peek(64);
                got.addAll(ids(b));
                s.commit(b.size());
            }
            assertEquals(ids(all.subList(50, 300)), got);
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.toString().endsWith(".jsonl")), "no segment left");
        }
    }

    @Test
    void atItsLimitTheOldestAreDroppedAndCounted() throws IOException {
        List<SinkRecord> all = records(0, 200);
        long size = all.get(0).json().length() + 1;
        long limit = 16 * 1024;
        try (Spool s = Spool.open(tmp.resolve("s"), limit)) {
            long dropped = 0;
            for (int i = 0; i < 200; i += 10) {
                dropped += s.append(all.subList(i, i + 10));
                assertTrue(s.bytes() <= limit, s.bytes() + " > " + limit);
            }
            assertTrue(dropped > 0 && dropped < 200, "dropped " + dropped + " of 200 at " + size + " bytes each");
            assertEquals(200 - dropped, s.pending());
            List<SinkRecord> left = s.peek(1000);
            assertEquals(ids(all.subList((int) dropped, 200)), ids(left), "the newest are kept, in order");
        }
    }

    @Test
    void aTornLastLineIsCutAndASecondUserRefused() throws IOException {
        Path dir = tmp.resolve("s");
        try (Spool s = Spool.open(dir, 1 << 20)) {
            s.append(records(0, 3));
            assertThrows(IOException.class, () -> Spool.open(dir, 1 << 20), "one process at a time");
        }
        Path segment;
        try (Stream<Path> files = Files.list(dir)) {
            segment = files.filter(p -> p.toString().endsWith(".jsonl")).findFirst().orElseThrow();
        }
        Files.writeString(segment, "{\"event\":{\"id\":\"torn", StandardOpenOption.APPEND);
        try (Spool s = Spool.open(dir, 1 << 20)) {
            assertEquals(3, s.pending());
            assertEquals(3, s.peek(10).size());
        }
    }
}
