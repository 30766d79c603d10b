package dev.memsentry.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.agent.ProcessEvent;
import dev.memsentry.agent.StubAgent;
import dev.memsentry.testing.StubSupport;
import dev.memsentry.testing.Victim;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The listing poller over the real stub agent (how the stub backend watches). */
class ListingPollerTest {
    @TempDir
    Path tmp;

    /**
     * watch says it is watching once the poller is made and before it runs: a program started in
     * between must be an exec, not part of the first listing (a 300 ms implant would be missed).
     */
    @Test
    void aProgramStartedAfterThePollerIsMadeIsNewEvenBeforeThePollerRuns() throws Exception {
        BlockingQueue<ProcessEvent> events = new LinkedBlockingQueue<>();
        try (StubAgent stub = StubAgent.start(StubSupport.config(tmp));
             ListingPoller poller = new ListingPoller(stub, Duration.ofMillis(50), "test")) {
            try (Victim v = Victim.start("victim_marker")) {
                Thread t = new Thread(() -> poller.run(e -> events.add(e)), "listing-poller-test");
                t.start();
                List<ProcessEvent> seen = new ArrayList<>();
                ProcessEvent exec = null;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (exec == null && System.nanoTime() < deadline) {
                    ProcessEvent e = events.poll(100, TimeUnit.MILLISECONDS);
                    if (e != null && e.pid() == v.pid()) {
                        seen.add(e);
                        exec = e.kind() == ProcessEvent.Kind.EXEC ? e : null;
                    }
                }
                poller.stop();
                t.join(5000);
                assertTrue(exec != null, "no exec event for the victim started after the poller was made: " + seen);
                assertEquals(ProcessEvent.Kind.FORK, seen.get(0).kind(), seen.toString());
                assertEquals(ProcessHandle.current().pid(), exec.parentPid());
            }
        }
    }
}
