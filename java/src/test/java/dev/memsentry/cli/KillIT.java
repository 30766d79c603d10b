package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Victim;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** End to end: the built jar's kill command against real victims, its parent and PID 1 of a namespace. */
class KillIT {
    private static final int KILLED_BY_SIGTERM = 128 + 15;
    private static final int KILLED_BY_SIGKILL = 128 + 9;

    @BeforeEach
    void needsNative() {
        NativeSupport.requireNative();
    }

    private static CliIT.Run kill(String... args) throws Exception {
        return CliIT.jar(List.of(), args);
    }

    private static int exitValue(Victim v) throws InterruptedException {
        assertTrue(v.process().waitFor(10, TimeUnit.SECONDS), "victim still running");
        return v.process().exitValue();
    }

    @Test
    void victimThatIgnoresSigtermIsKilledAfterTheGrace() throws Exception {
        try (Victim v = Victim.start("victim_ignore_term")) {
            CliIT.Run r = kill("kill", "--pid", String.valueOf(v.pid()), "--grace", "300ms", "--json");
            assertEquals(0, r.code(), r.out() + r.err());
            JsonNode n = Json.mapper().readTree(r.out());
            assertEquals(v.pid(), n.get("pid").asLong());
            assertEquals("killed", n.get("result").asText());
            assertEquals(List.of("SIGTERM", "SIGKILL"), List.of(n.get("signals").get(0).asText(), n.get("signals").get(1).asText()));
            assertEquals(2, n.get("signals").size());
            assertTrue(n.get("elapsed_ms").asLong() >= 300, n.toString());
            assertEquals(KILLED_BY_SIGKILL, exitValue(v));
        }
    }

    @Test
    void victimThatExitsOnSigtermIsTerminatedAndTheTextSaysSo() throws Exception {
        try (Victim v = Victim.start("victim_exit_on_term")) {
            CliIT.Run r = kill("kill", "--pid", String.valueOf(v.pid()));
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.out().startsWith("pid " + v.pid() + ": terminated (SIGTERM; "), r.out());
            assertEquals(KILLED_BY_SIGTERM, exitValue(v));
        }
    }

    @Test
    void itsOwnParentIsRefusedWithAWarningAndExit3() throws Exception {
        // The jar's parent is this test JVM: an ancestor of the caller.
        long parent = ProcessHandle.current().pid();
        for (String mode : List.of("--grace=0", "--dry-run")) {
            CliIT.Run r = kill("kill", "--pid", String.valueOf(parent), mode, "--json");
            assertEquals(ExitCodes.FAILED, r.code(), r.out() + r.err());
            JsonNode n = Json.mapper().readTree(r.out());
            assertEquals("refused", n.get("result").asText(), mode);
            assertEquals("ancestor", n.get("protection").asText());
            assertEquals(0, n.get("signals").size());
            assertTrue(r.err().lines().anyMatch(l -> l.startsWith("WARN") && l.contains("refused")), r.err());
        }
    }

    @Test
    void pid1IsRefusedInsideAFreshPidNamespace() throws Exception {
        // The orchestrator itself is PID 1 there: nothing else is in the namespace.
        CliIT.Run r = CliIT.run(CliIT.jarCommand(List.of("unshare", "--pid", "--fork", "--mount-proc"), List.of(),
            "kill", "--pid", "1", "--json"));
        assertEquals(ExitCodes.FAILED, r.code(), r.out() + r.err());
        JsonNode n = Json.mapper().readTree(r.out());
        assertEquals(1, n.get("pid").asLong());
        assertEquals("refused", n.get("result").asText());
        assertEquals("init", n.get("protection").asText());
    }

    @Test
    void aVictimCopiedToSshdIsKilledForItIsNotTheSystemsSshd(@TempDir Path tmp) throws Exception {
        // "sshd" is on the default list; it protects the file at /usr/sbin/sshd, not any file named sshd.
        Path fake = Files.copy(Victim.directory().resolve("victim_exit_on_term"), tmp.resolve("sshd"));
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (Victim v = Victim.startExecutable(fake)) {
            CliIT.Run r = kill("kill", "--pid", String.valueOf(v.pid()), "--json");
            assertEquals(0, r.code(), r.out() + r.err());
            JsonNode n = Json.mapper().readTree(r.out());
            assertEquals("terminated", n.get("result").asText(), n.toString());
            assertEquals("none", n.get("protection").asText());
            assertEquals(KILLED_BY_SIGTERM, exitValue(v));
        }
    }

    @Test
    void aGenuineSystemBinaryOnTheListIsRefusedInsideAPidNamespace() throws Exception {
        // /usr/bin/sleep protected by name; started in the namespace, where it is the only other process.
        CliIT.Run r = CliIT.run(CliIT.jarCommand(List.of("unshare", "--pid", "--fork", "--mount-proc", "sh", "-c",
            "/usr/bin/sleep 30 & exec \"$0\" \"$@\""), List.of(), "kill", "--pid", "2", "--protect", "sleep", "--json"));
        assertEquals(ExitCodes.FAILED, r.code(), r.out() + r.err());
        JsonNode n = Json.mapper().readTree(r.out());
        assertEquals("refused", n.get("result").asText(), n.toString());
        assertEquals("name", n.get("protection").asText());
        assertEquals(0, n.get("signals").size());
    }

    @Test
    void dryRunSaysWhatWouldHappenAndSendsNothing() throws Exception {
        try (Victim v = Victim.start("victim_ignore_term")) {
            CliIT.Run r = kill("kill", "--pid", String.valueOf(v.pid()), "--dry-run", "--json");
            assertEquals(0, r.code(), r.out() + r.err());
            JsonNode n = Json.mapper().readTree(r.out());
            assertEquals("would-terminate", n.get("result").asText());
            assertEquals(0, n.get("signals").size());
            assertTrue(v.process().isAlive());
        }
    }

    @Test
    void missingPidIsNotFoundWithExit3() throws Exception {
        // Files.readString returns only the first byte of a sysctl file on JDK 17: read lines.
        long pidMax = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).get(0).trim());
        CliIT.Run r = kill("kill", "--pid", String.valueOf(pidMax), "--json");
        assertEquals(ExitCodes.FAILED, r.code(), r.out() + r.err());
        assertEquals("not-found", Json.mapper().readTree(r.out()).get("result").asText());
    }
}
