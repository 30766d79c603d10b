package dev.memsentry.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.testing.Victim;
import dev.memsentry.testing.WithNativeAgent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Termination through JNI against real victims; the oracle is how each victim died. */
class NativeTerminateTest extends WithNativeAgent {
    /** Java reports a child killed by signal N as exit value 128 + N. */
    private static final int KILLED_BY_SIGTERM = 128 + 15;
    private static final int KILLED_BY_SIGKILL = 128 + 9;

    private static int exitValue(Victim v) throws InterruptedException {
        assertTrue(v.process().waitFor(10, TimeUnit.SECONDS), "victim still running");
        return v.process().exitValue();
    }

    @Test
    void victimThatIgnoresSigtermIsKilledAfterTheGrace() throws Exception {
        try (Victim v = Victim.start("victim_ignore_term")) {
            TerminationReport r = agent.terminate(v.pid(), Duration.ofMillis(300), false);
            assertEquals(TerminationResult.KILLED, r.result(), r.reason());
            assertEquals(List.of("SIGTERM", "SIGKILL"), r.signals());
            assertEquals(Status.OK, r.status());
            assertEquals(v.pid(), r.pid());
            assertTrue(r.elapsedMs() >= 300, "SIGKILL only after the grace: " + r);
            assertEquals(KILLED_BY_SIGKILL, exitValue(v));
        }
    }

    @Test
    void victimThatExitsOnSigtermIsTerminated() throws Exception {
        try (Victim v = Victim.start("victim_exit_on_term")) {
            TerminationReport r = agent.terminate(v.pid(), Duration.ofSeconds(5), false);
            assertEquals(TerminationResult.TERMINATED, r.result(), r.reason());
            assertEquals(List.of("SIGTERM"), r.signals());
            assertEquals(KILLED_BY_SIGTERM, exitValue(v));
        }
    }

    @Test
    void dryRunSendsNothing() throws Exception {
        try (Victim v = Victim.start("victim_ignore_term")) {
            TerminationReport r = agent.terminate(v.pid(), Duration.ofSeconds(5), true);
            assertEquals(TerminationResult.WOULD_TERMINATE, r.result(), r.reason());
            assertEquals(List.of(), r.signals());
            assertTrue(r.reason().contains("would send SIGTERM"), r.reason());
            assertTrue(v.process().isAlive());
        }
    }

    @Test
    void ownProcessIsRefusedAndItsParentIsProtected() {
        long self = ProcessHandle.current().pid();
        TerminationReport r = agent.terminate(self, Duration.ofMillis(100), false);
        assertEquals(TerminationResult.REFUSED, r.result());
        assertEquals(ProtectionReason.SELF, r.protection());
        assertEquals(Status.PROTECTED, r.status());
        assertEquals(List.of(), r.signals());
        // The parent (the build tool) is only asked about, never sent anything.
        long parent = ProcessHandle.current().parent().orElseThrow().pid();
        Protection p = agent.protection(parent);
        assertEquals(ProtectionReason.ANCESTOR, p.reason(), p.detail());
        assertTrue(p.isProtected());
    }

    @Test
    void nonexistentPidIsNotFound() throws Exception {
        // Files.readString returns only the first byte of a sysctl file on JDK 17: read lines.
        long pidMax = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).get(0).trim());
        TerminationReport r = agent.terminate(pidMax, Duration.ofSeconds(5), false);
        assertEquals(TerminationResult.NOT_FOUND, r.result(), r.reason());
        assertEquals(Status.NO_SUCH_PROCESS, r.status());
        assertEquals(List.of(), r.signals());
        assertEquals(Status.NO_SUCH_PROCESS,
            assertThrows(AgentException.class, () -> agent.protection(pidMax)).status());
    }

    @Test
    void configuredPathIsRefusedUntilTheListIsCleared() throws Exception {
        try (Victim v = Victim.start("victim_exit_on_term")) {
            agent.protect("victim_exit_on_term");
            assertEquals(ProtectionReason.NONE, agent.protection(v.pid()).reason(), "a name is a system binary's");
            agent.protect(Victim.directory().resolve("victim_exit_on_term").toString());
            TerminationReport r = agent.terminate(v.pid(), Duration.ofSeconds(5), false);
            assertEquals(TerminationResult.REFUSED, r.result());
            assertEquals(ProtectionReason.PATH, r.protection());
            assertTrue(v.process().isAlive());
            agent.clearProtected();
            assertEquals(TerminationResult.TERMINATED, agent.terminate(v.pid(), Duration.ofSeconds(5), false).result());
            assertEquals(KILLED_BY_SIGTERM, exitValue(v));
        }
    }

    @Test
    void defaultListMatchesTheReadme() throws Exception {
        // The README documents the default list; the library applies it. Keep them equal.
        String readme = Files.readString(Path.of("README.md"));
        Matcher line = Pattern.compile("(?m)^Default protected list \\(Linux\\): (.*)$").matcher(readme);
        assertTrue(line.find(), "README has no 'Default protected list (Linux):' line");
        List<String> documented = new ArrayList<>();
        Matcher entry = Pattern.compile("`([^`]+)`").matcher(line.group(1));
        while (entry.find()) {
            documented.add(entry.group(1));
        }
        List<String> applied = agent.protectedEntries().stream().map(ProtectedEntry::entry).toList();
        assertEquals(documented, applied);
        assertFalse(agent.protectedEntries().stream().anyMatch(ProtectedEntry::path));
        agent.clearProtected();
        assertEquals(List.of(), agent.protectedEntries());
        agent.protect("/opt/vendor/bin/agent");
        agent.protectDefaults();
        assertEquals(new ProtectedEntry("/opt/vendor/bin/agent", true), agent.protectedEntries().get(0));
        assertEquals(documented.size() + 1, agent.protectedEntries().size());
    }

    @Test
    void badInputIsRejectedBeforeCrossingIntoC() {
        assertThrows(IllegalArgumentException.class, () -> agent.protect(""));
        assertThrows(IllegalArgumentException.class, () -> agent.protect("ss\0hd"));
        assertThrows(IllegalArgumentException.class, () -> agent.protect("x".repeat(4096)));
        assertThrows(IllegalArgumentException.class, () -> agent.terminate(1234, Duration.ofMillis(-1), true));
        assertThrows(IllegalArgumentException.class, () -> agent.terminate(1234, Duration.ofMinutes(61), true));
        AgentException e = assertThrows(AgentException.class, () -> agent.terminate(0, Duration.ZERO, true));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
    }

    @Test
    void namesFollowTheCLibrary() {
        assertEquals("not-found", TerminationResult.NOT_FOUND.wireName());
        assertEquals("would-terminate", TerminationResult.WOULD_TERMINATE.wireName());
        assertEquals(TerminationResult.FAILED, TerminationResult.fromCode(7));
        assertEquals("kernel-thread", ProtectionReason.KERNEL_THREAD.wireName());
        assertEquals(ProtectionReason.CRITICAL, ProtectionReason.fromCode(7));
    }
}
