package dev.memsentry.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.memsentry.testing.WithNativeAgent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Process events through JNI (NativeAgent.processEvents) against processes the test starts. The
 * connector sees the whole host: every assertion looks only at the test's own children.
 */
class NativeWatchTest extends WithNativeAgent {
    private static final long SELF = ProcessHandle.current().pid();

    /** Runs a source on its own thread and keeps its events. */
    private static final class Running implements AutoCloseable {
        final ProcessEventSource source;
        final List<ProcessEvent> events = new ArrayList<>();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final Thread thread;

        Running(ProcessEventSource source) {
            this.source = source;
            thread = new Thread(() -> {
                try {
                    source.run(e -> {
                        synchronized (events) {
                            events.add(e);
                            events.notifyAll();
                        }
                        return true;
                    });
                } catch (Throwable t) {
                    failure.set(t);
                }
            }, "watch-test");
            thread.start();
        }

        List<ProcessEvent> awaitEvent(Predicate<ProcessEvent> wanted) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            synchronized (events) {
                while (events.stream().noneMatch(wanted)) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new AssertionError("event not seen in 10 s; failure: " + failure.get());
                    }
                    events.wait(Math.max(1, left / 1_000_000));
                }
                return List.copyOf(events);
            }
        }

        @Override
        public void close() {
            source.stop();
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            assertFalse(thread.isAlive(), "run did not end after stop");
            source.close();
        }
    }

    private static List<ProcessEvent> of(List<ProcessEvent> all, long pid) {
        return all.stream().filter(e -> e.pid() == pid).toList();
    }

    private static Process sh(String script) throws Exception {
        return new ProcessBuilder("sh", "-c", script).redirectErrorStream(true).start();
    }

    private ProcessEventSource connector(int receiveBuffer) {
        try {
            return agent.processEvents(new WatchOptions(WatchOptions.Source.CONNECTOR, Duration.ofMillis(100),
                receiveBuffer));
        } catch (AgentException e) {
            assumeTrue(false, "no process connector here: " + e.getMessage());
            throw e;
        }
    }

    @Test
    void connectorReportsForkExecAndExitOfAChildWithItsWaitStatus() throws Exception {
        ProcessEventSource source = connector(0);
        assertEquals("netlink-connector", source.name());
        assertFalse(source.reason().isEmpty());
        List<ProcessEvent> mine;
        long pid;
        try (Running r = new Running(source)) {
            Process p = sh("exit 7");
            pid = p.pid();
            assertEquals(7, p.waitFor());
            mine = of(r.awaitEvent(e -> e.pid() == pid && e.kind() == ProcessEvent.Kind.EXIT), pid);
        }
        assertEquals(ProcessEvent.Kind.FORK, mine.get(0).kind(), mine.toString());
        assertEquals(SELF, mine.get(0).parentPid());
        assertTrue(mine.stream().anyMatch(e -> e.kind() == ProcessEvent.Kind.EXEC), mine.toString());
        ProcessEvent exit = mine.get(mine.size() - 1);
        assertEquals(ProcessEvent.Kind.EXIT, exit.kind());
        assertEquals(7 << 8, exit.exitCode(), "waitpid's status");
        assertTrue(exit.timeNanos() >= mine.get(0).timeNanos());
    }

    @Test
    void pollerReportsAChildThatLivesAcrossPasses() throws Exception {
        ProcessEventSource source = agent.processEvents(new WatchOptions(WatchOptions.Source.POLLER,
            Duration.ofMillis(20), 0));
        assertEquals("proc-poller", source.name());
        assertEquals("the poller was asked for", source.reason());
        List<ProcessEvent> mine;
        long pid;
        try (Running r = new Running(source)) {
            Process p = sh("sleep 0.3");
            pid = p.pid();
            r.awaitEvent(e -> e.pid() == pid && e.kind() == ProcessEvent.Kind.FORK);
            assertEquals(0, p.waitFor());
            mine = of(r.awaitEvent(e -> e.pid() == pid && e.kind() == ProcessEvent.Kind.EXIT), pid);
        }
        assertEquals(ProcessEvent.Kind.FORK, mine.get(0).kind(), mine.toString());
        assertEquals(SELF, mine.get(0).parentPid());
        assertEquals(ProcessEvent.Kind.EXEC, mine.get(1).kind(), mine.toString());
        assertEquals(-1, mine.get(mine.size() - 1).exitCode(), "the poller cannot know it");
    }

    @Test
    void aTinyReceiveBufferAndABurstOfChildrenGiveALostCount() throws Exception {
        ProcessEventSource source = connector(1);
        // Nobody reads while the children come and go: their events overflow a queue of a few messages.
        Set<Long> children = new HashSet<>();
        for (int i = 0; i < 60; i++) {
            Process p = new ProcessBuilder("true").start();
            children.add(p.pid());
            p.waitFor();
        }
        try (Running r = new Running(source)) {
            List<ProcessEvent> all = r.awaitEvent(e -> e.kind() == ProcessEvent.Kind.LOST);
            ProcessEvent lost = all.stream().filter(e -> e.kind() == ProcessEvent.Kind.LOST).findFirst().orElseThrow();
            assertTrue(lost.lost() > 0, "the kernel's drop count: " + lost);
            assertTrue(all.stream().filter(e -> children.contains(e.pid())).count() < 4L * children.size(),
                "some of the children's events were dropped");
        }
    }

    @Test
    void stopFromAnotherThreadEndsRunAndCloseFrees() throws Exception {
        ProcessEventSource source = agent.processEvents(new WatchOptions(WatchOptions.Source.POLLER,
            Duration.ofMinutes(10), 0));
        CountDownLatch ended = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            source.run(e -> true);
            ended.countDown();
        });
        t.start();
        assertFalse(ended.await(200, TimeUnit.MILLISECONDS), "run returned before stop");
        source.stop();
        assertTrue(ended.await(5, TimeUnit.SECONDS), "run did not end after stop");
        source.stop(); // idempotent
        source.close();
        source.close();
        assertThrows(IllegalStateException.class, () -> source.run(e -> true));
    }

    @Test
    void aListenerThatReturnsFalseEndsRunAndItsExceptionPropagates() throws Exception {
        try (ProcessEventSource source = agent.processEvents(new WatchOptions(WatchOptions.Source.POLLER,
            Duration.ofMillis(20), 0))) {
            Process p = sh("sleep 0.2");
            List<ProcessEvent> seen = new ArrayList<>();
            source.run(e -> {
                seen.add(e);
                return false;
            });
            assertEquals(1, seen.size());
            IllegalStateException boom = new IllegalStateException("listener failed");
            Process q = sh("sleep 0.2");
            assertSame(boom, assertThrows(IllegalStateException.class, () -> source.run(e -> {
                throw boom;
            })));
            p.waitFor();
            q.waitFor();
        }
    }

    @Test
    void badOptionsAreRefusedBeforeCrossing() {
        assertThrows(IllegalArgumentException.class, () -> agent.processEvents(
            new WatchOptions(WatchOptions.Source.POLLER, Duration.ZERO, 0)));
        assertThrows(IllegalArgumentException.class, () -> agent.processEvents(
            new WatchOptions(WatchOptions.Source.AUTO, Duration.ofMillis(100), -1)));
    }
}
