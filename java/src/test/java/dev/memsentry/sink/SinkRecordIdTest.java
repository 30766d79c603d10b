package dev.memsentry.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.detect.EcsDocument;
import dev.memsentry.detect.EcsWriter;
import java.time.Instant;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

class SinkRecordIdTest {
    @Test
    void idsAreVersion4UuidsUniqueAcrossThreads() throws Exception {
        Set<UUID> seen = ConcurrentHashMap.newKeySet();
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 50_000; i++) {
                    UUID id = SinkRecord.randomId();
                    assertEquals(4, id.version());
                    assertEquals(2, id.variant());
                    seen.add(id);
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(200_000, seen.size());
    }

    @Test
    void identifyKeepsAnIdAndGivesOneOtherwise() {
        EcsDocument doc = new EcsWriter("h").event(Instant.EPOCH, "x", null, null, "m", null);
        SinkRecord.identify(doc);
        String id = doc.id();
        assertEquals(4, UUID.fromString(id).version());
        SinkRecord.identify(doc);
        assertEquals(id, doc.id());
        assertTrue(SinkRecord.of(doc).json().contains(id));
    }
}
