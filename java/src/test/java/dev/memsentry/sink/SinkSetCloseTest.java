package dev.memsentry.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The end of a run and its shutdown hook may close the sinks at the same moment: the close happens
 * once, both callers return after it, and every document is delivered or in the spool. The sink is
 * a real TCP connection refused on loopback (a port that was just closed).
 */
class SinkSetCloseTest {
    @TempDir
    Path tmp;

    private static int closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void twoThreadsClosingAtOnceCloseOnceAndSpoolEverything() throws Exception {
        Path spool = tmp.resolve("spool");
        SinkSet sinks = SinkSet.open(new SinkSet.Settings(List.of("syslog+tcp://127.0.0.1:" + closedPort()), spool,
            SinkSet.Settings.DEFAULT_SPOOL_MAX, Duration.ofMillis(500), Map.of()));
        Set<String> ids = new LinkedHashSet<>();
        TestDocs.write(sinks, TestDocs.alerts(0, 200, 77), ids);

        CountDownLatch go = new CountDownLatch(1);
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<List<SinkStats>> seen = new ConcurrentLinkedQueue<>();
        List<Thread> closers = new ArrayList<>();
        for (String name : List.of("main", "hook")) {
            Thread t = new Thread(() -> {
                try {
                    go.await();
                    sinks.close();
                    seen.add(sinks.stats());
                } catch (Throwable e) {
                    failures.add(e);
                }
            }, name);
            t.start();
            closers.add(t);
        }
        go.countDown();
        for (Thread t : closers) {
            t.join();
        }
        assertTrue(failures.isEmpty(), failures.toString());
        assertEquals(2, seen.size());
        List<SinkStats> first = seen.poll();
        assertEquals(first, seen.poll(), "both callers see the final numbers of the one close");
        SinkStats s = first.get(0);
        assertEquals(0, s.delivered(), s.text());
        assertEquals(200, s.pending(), s.text());
        assertEquals(0, s.dropped(), s.text());

        // A document written after the close (a writer that lost the race) is refused without an
        // exception, and a third close is a no-op.
        TestDocs.write(sinks, TestDocs.alerts(200, 1, 77), new LinkedHashSet<>());
        sinks.close();

        // The spool's lock was released: the next run opens it and finds every document, in order.
        try (Spool again = Spool.open(spool.resolve(spoolFolder(spool)), SinkSet.Settings.DEFAULT_SPOOL_MAX)) {
            Set<String> spooled = new LinkedHashSet<>();
            again.peek(1000).forEach(r -> spooled.add(r.id()));
            assertEquals(ids, spooled, "every document written before the close is in the spool, in order");
        }
    }

    private static String spoolFolder(Path spool) throws Exception {
        try (var dirs = java.nio.file.Files.list(spool)) {
            List<Path> all = dirs.toList();
            assertEquals(1, all.size(), all.toString());
            return all.get(0).getFileName().toString();
        }
    }
}
