package dev.memsentry.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.testing.Tracees;
import dev.memsentry.testing.Victim;
import dev.memsentry.testing.WithNativeAgent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The tracer through JNI against real victims; the oracles are the victims' own tids and /proc. */
class NativeTraceTest extends WithNativeAgent {
    /** Collects what a trace delivers; stops it after `stopAfter` W^X alerts when that is positive. */
    private static final class Recorder implements TraceListener {
        final List<TraceEvent> events = new ArrayList<>();
        final List<TraceAlert> alerts = new ArrayList<>();

        @Override
        public boolean event(TraceEvent e) {
            events.add(e);
            return true;
        }

        @Override
        public boolean alert(TraceAlert a) {
            alerts.add(a);
            return true;
        }

        Set<Long> tidsOf(String syscall) {
            return events.stream().filter(e -> e.kind() == TraceEventKind.SYSCALL && e.syscall().equals(syscall))
                .map(TraceEvent::tid).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static Set<Long> tids(Victim v) {
        return Arrays.stream(v.fact("tids").split(",")).map(Long::parseLong).collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void attachSeesEveryThreadMakePagesExecutableAndRaisesWxAlerts() throws Exception {
        try (Victim v = Victim.startGrandchild("victim_wx_cycle", "3")) {
            Recorder r = new Recorder();
            TraceSummary s;
            try (TraceSession session = agent.openTrace(TraceOptions.defaults().withDuration(Duration.ofSeconds(2)), r)) {
                s = session.attach(v.pid());
            }
            assertEquals(TraceEnd.DURATION, s.end());
            assertEquals(v.pid(), s.pid());
            assertTrue(r.tidsOf("mprotect").containsAll(tids(v)), "mprotect from every cycling thread: "
                + r.tidsOf("mprotect") + " vs " + tids(v));
            assertTrue(r.tidsOf("mmap").containsAll(tids(v)), r.tidsOf("mmap").toString());
            assertTrue(r.tidsOf("munmap").containsAll(tids(v)), r.tidsOf("munmap").toString());
            assertEquals(s.syscalls(), r.events.stream().filter(e -> e.kind() == TraceEventKind.SYSCALL).count());
            assertTrue(s.threads() >= 4, "main thread and three workers: " + s);

            // Each W^X alert is an mprotect(PROT_READ|PROT_EXEC) of a page the same thread mapped rw-.
            List<TraceAlert> wx = r.alerts.stream().filter(a -> a.kind() == TraceAlertKind.WX_TRANSITION).toList();
            assertTrue(wx.size() >= 3, "one W^X alert per cycle at least: " + r.alerts.size());
            assertEquals(s.alerts(), r.alerts.size());
            for (TraceAlert a : wx) {
                TraceEvent e = a.event();
                assertEquals("mprotect", e.syscall());
                assertEquals("PROT_READ|PROT_EXEC", e.prot());
                assertEquals(0, e.ret());
                assertEquals(e.addr(), a.start());
                assertEquals("rw-p", a.permsBefore());
                assertEquals("r-xp", a.permsAfter());
                assertEquals(RegionKind.ANONYMOUS, a.regionKind());
                assertEquals("trace.wx_transition", a.ruleId());
                assertTrue(tids(v).contains(e.tid()), "raised by a worker: " + e);
            }
            TraceEvent mmap = r.events.stream().filter(e -> e.kind() == TraceEventKind.SYSCALL && e.isMmap()
                && tids(v).contains(e.tid())).findFirst().orElseThrow();
            assertEquals("PROT_READ|PROT_WRITE", mmap.prot());
            assertTrue(mmap.flags().contains("MAP_PRIVATE") && mmap.flags().contains("MAP_ANONYMOUS"), mmap.flags());
            assertEquals(-1, mmap.fd());
            Tracees.assertRunningAndUntraced(v);
        }
    }

    @Test
    void stopFromAnotherThreadEndsTheTraceAndDetaches() throws Exception {
        try (Victim v = Victim.startGrandchild("victim_wx_cycle", "2")) {
            CountDownLatch firstEvent = new CountDownLatch(1);
            TraceListener l = new TraceListener() {
                @Override
                public boolean event(TraceEvent e) {
                    firstEvent.countDown();
                    return true;
                }
            };
            try (TraceSession session = agent.openTrace(TraceOptions.defaults(), l)) {
                Thread stopper = new Thread(() -> {
                    try {
                        firstEvent.await();
                        session.stop();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                stopper.start();
                TraceSummary s = session.attach(v.pid());
                stopper.join(TimeUnit.SECONDS.toMillis(30));
                assertEquals(TraceEnd.STOPPED, s.end());
            }
            Tracees.assertRunningAndUntraced(v);
        }
    }

    @Test
    void anExceptionInTheListenerEndsTheTraceAndIsRethrown() throws Exception {
        try (Victim v = Victim.startGrandchild("victim_wx_cycle", "1")) {
            TraceListener l = new TraceListener() {
                @Override
                public boolean event(TraceEvent e) {
                    throw new IllegalStateException("listener gave up");
                }
            };
            try (TraceSession session = agent.openTrace(TraceOptions.defaults(), l)) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> session.attach(v.pid()));
                assertEquals("listener gave up", e.getMessage());
            }
            Tracees.assertRunningAndUntraced(v);
        }
    }

    @Test
    void returningFalseEndsTheTraceWithCallback() throws Exception {
        try (Victim v = Victim.startGrandchild("victim_wx_cycle", "1")) {
            TraceListener l = new TraceListener() {
                @Override
                public boolean event(TraceEvent e) {
                    return e.kind() != TraceEventKind.SYSCALL;
                }
            };
            try (TraceSession session = agent.openTrace(TraceOptions.defaults(), l)) {
                assertEquals(TraceEnd.CALLBACK, session.attach(v.pid()).end());
            }
            Tracees.assertRunningAndUntraced(v);
        }
    }

    @Test
    void ownProcessAndItsParentAreProtected() {
        long self = ProcessHandle.current().pid();
        long parent = ProcessHandle.current().parent().orElseThrow().pid();
        try (TraceSession session = agent.openTrace(TraceOptions.defaults().withDuration(Duration.ofSeconds(1)), null)) {
            for (long pid : new long[] {self, parent}) {
                AgentException e = assertThrows(AgentException.class, () -> session.attach(pid));
                assertEquals(Status.PROTECTED, e.status(), "pid " + pid + ": " + e.getMessage());
            }
        }
    }

    @Test
    void unknownSyscallNamesAreRefusedAndKnownOnesAccepted() {
        AgentException e = assertThrows(AgentException.class,
            () -> agent.openTrace(TraceOptions.defaults().withExtraSyscalls(List.of("nosuch")), null));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.getMessage().contains("nosuch"), e.getMessage());
        agent.openTrace(TraceOptions.defaults().withExtraSyscalls(List.of("memfd_create", "execve")), null).close();
        assertThrows(IllegalArgumentException.class, () -> TraceOptions.defaults().withExtraSyscalls(List.of("mm ap")));
    }

    @Test
    void launchRunsTheCommandUnderTheFilterUntilItExits() throws Exception {
        // sh execs the victim with its standard streams away from the test JVM's (Surefire talks over them).
        String victim = Victim.directory().resolve("victim_wx_cycle").toString();
        Recorder r = new Recorder();
        TraceSummary s;
        try (TraceSession session = agent.openTrace(TraceOptions.defaults(), r)) {
            s = session.launch(List.of("sh", "-c", "exec \"$0\" 2 3 </dev/null >/dev/null", victim));
        }
        assertEquals(TraceEnd.EXITED, s.end());
        assertEquals(0, s.exitCode(), s.toString());
        assertEquals(0, s.exitSignal());
        assertTrue(s.seccomp(), "the seccomp filter picks the stops in launch mode: " + s);
        long wx = r.alerts.stream().filter(a -> a.kind() == TraceAlertKind.WX_TRANSITION).count();
        assertTrue(wx >= 6, "two threads, three cycles each: " + wx);
        assertTrue(r.events.stream().anyMatch(e -> e.kind() == TraceEventKind.EXEC), "sh exec'd the victim");
        assertTrue(r.events.stream().anyMatch(e -> e.kind() == TraceEventKind.PROCESS_EXITED && e.exitCode() == 0));
    }

    @Test
    void endNamesMatchTheLibrary() {
        for (TraceEnd end : TraceEnd.values()) {
            assertEquals(NativeBridge.traceEndName(end.ordinal()), end.wireName());
        }
    }
}
