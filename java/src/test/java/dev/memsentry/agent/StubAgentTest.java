package dev.memsentry.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.testing.StubSupport;
import dev.memsentry.testing.Victim;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The stub agent's process management and failure rules, against a real python3 and real victims. */
class StubAgentTest {
    @TempDir
    Path tmp;

    @Test
    void handshakeReportsVersionCapabilitiesAndWhatIsOff() throws Exception {
        try (StubAgent stub = StubAgent.start(StubSupport.config(tmp))) {
            assertEquals("stub", stub.backendName());
            assertEquals("0.1.0", stub.version());
            assertTrue(stub.implementation().startsWith("python 3."), stub.implementation());
            assertEquals(EnumSet.of(Capability.PROCESS_LIST, Capability.REGION_LIST, Capability.MEMORY_READ,
                Capability.DUMP, Capability.TERMINATE), stub.capabilities());
            assertEquals(List.of("yara", "trace"), List.copyOf(stub.unsupported().keySet()));
            assertEquals("yara, trace, inspect, process_events", stub.capabilitiesOff());
            assertTrue(stub.stubPid() > 0);
        }
        try (var files = Files.list(tmp)) {
            assertEquals(0, files.count(), "the extracted script and its directory are removed after the handshake");
        }
    }

    @Test
    void missingInterpreterIsOneClearError() {
        StubAgent.Config c = StubAgent.Config.withPython(tmp.resolve("no-such-python3").toString(), tmp, Duration.ofSeconds(5));
        AgentException e = assertThrows(AgentException.class, () -> StubAgent.start(c));
        assertEquals(Status.UNSUPPORTED, e.status());
        assertTrue(e.getMessage().contains("no-such-python3") && e.getMessage().contains("MEMSENTRY_PYTHON"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void interpreterThatIsNotPythonFailsTheHandshake() {
        StubAgent.Config c = StubAgent.Config.withPython("/bin/false", tmp, Duration.ofSeconds(5));
        AgentException e = assertThrows(AgentException.class, () -> StubAgent.start(c));
        assertTrue(e.getMessage().contains("handshake"), e.getMessage());
    }

    @Test
    void stubKilledMidRequestIsRestartedOnceThenTheBackendGivesUp() throws Exception {
        Path marker = Files.createFile(tmp.resolve("hang-once"));
        Path hung = Path.of(marker + ".hung");
        try (Victim v = Victim.start("victim_marker");
             StubAgent stub = StubAgent.start(StubSupport.faulty(tmp, "hang", "list_regions", marker, Duration.ofSeconds(60)))) {
            long first = stub.stubPid();
            CompletableFuture<List<Region>> listing = CompletableFuture.supplyAsync(() -> stub.regions(v.pid()));
            for (int i = 0; i < 600 && !Files.exists(hung); i++) {
                Thread.sleep(50);
            }
            assertTrue(Files.exists(hung), "the stub never received the request");
            assertFalse(listing.isDone(), "the request must still be in flight");
            ProcessHandle.of(first).orElseThrow().destroyForcibly();

            // The listing is repeated on a restarted stub and succeeds.
            List<Region> all = listing.get(60, TimeUnit.SECONDS);
            assertTrue(all.stream().anyMatch(r -> r.contains(v.hex("addr"))), "marker region missing from the repeated listing");
            assertEquals(1, stub.restarts());
            long second = stub.stubPid();
            assertTrue(second > 0);
            assertNotEquals(first, second);

            // A second death, even between requests: the backend gives up with one clear message.
            ProcessHandle secondStub = ProcessHandle.of(second).orElseThrow();
            secondStub.destroyForcibly();
            secondStub.onExit().get(10, TimeUnit.SECONDS);
            AgentException gone = assertThrows(AgentException.class, () -> stub.process(v.pid()));
            assertEquals(Status.UNSUPPORTED, gone.status());
            assertTrue(gone.getMessage().contains("disabled"), gone.getMessage());
            AgentException still = assertThrows(AgentException.class, () -> stub.regions(v.pid()));
            assertEquals(gone.getMessage(), still.getMessage());
            assertEquals(Collections.emptySet(), stub.capabilities());
            assertEquals(-1, stub.stubPid());
        }
    }

    @Test
    void stubDyingDuringATerminateIsRestartedButTheRequestIsNotRepeated() throws Exception {
        Path marker = Files.createFile(tmp.resolve("hang-once"));
        Path hung = Path.of(marker + ".hung");
        try (Victim v = Victim.start("victim_marker");
             StubAgent stub = StubAgent.start(StubSupport.faulty(tmp, "hang", "terminate", marker, Duration.ofSeconds(60)))) {
            long first = stub.stubPid();
            CompletableFuture<TerminationReport> kill =
                CompletableFuture.supplyAsync(() -> stub.terminate(v.pid(), Duration.ofSeconds(1), false));
            for (int i = 0; i < 600 && !Files.exists(hung); i++) {
                Thread.sleep(50);
            }
            ProcessHandle.of(first).orElseThrow().destroyForcibly();
            Exception e = assertThrows(Exception.class, () -> kill.get(60, TimeUnit.SECONDS));
            AgentException ae = (AgentException) e.getCause();
            assertEquals(Status.IO_ERROR, ae.status());
            assertTrue(ae.getMessage().contains("not repeated"), ae.getMessage());
            assertTrue(v.process().isAlive(), "the victim was never signalled");
            assertEquals(v.pid(), stub.process(v.pid()).pid(), "the restarted stub answers");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"malformed", "oversized", "wrong-id", "bad-item"})
    void badAnswerFailsThatRequestOnly(String fault) throws Exception {
        Path marker = Files.createFile(tmp.resolve("fault-once"));
        try (Victim v = Victim.start("victim_marker");
             StubAgent stub = StubAgent.start(StubSupport.faulty(tmp, fault, "list_regions", marker, Duration.ofSeconds(30)))) {
            long first = stub.stubPid();
            AgentException e = assertThrows(AgentException.class, () -> stub.regions(v.pid()));
            assertEquals(Status.MALFORMED, e.status(), e.getMessage());
            assertFalse(Files.exists(marker), "the fault was injected");
            // The next requests work, on a fresh stub; a bad answer is not a death.
            assertTrue(stub.regions(v.pid()).stream().anyMatch(r -> r.contains(v.hex("addr"))));
            assertEquals(v.pid(), stub.process(v.pid()).pid());
            assertNotEquals(first, stub.stubPid());
            assertEquals(0, stub.restarts());
        }
    }

    @Test
    void silentStubTimesOutThatRequestOnly() throws Exception {
        Path marker = Files.createFile(tmp.resolve("hang-once"));
        try (Victim v = Victim.start("victim_marker");
             StubAgent stub = StubAgent.start(StubSupport.faulty(tmp, "hang", "get_process", marker, Duration.ofSeconds(2)))) {
            AgentException e = assertThrows(AgentException.class, () -> stub.process(v.pid()));
            assertEquals(Status.TIMEOUT, e.status(), e.getMessage());
            assertEquals(v.pid(), stub.process(v.pid()).pid());
            assertEquals(0, stub.restarts());
        }
    }

    @Test
    void oversizedRequestIsRefusedBeforeItIsSent() {
        try (StubAgent stub = StubAgent.start(StubSupport.config(tmp))) {
            for (int i = 0; i < 5000; i++) {
                stub.protect(i + "x".repeat(1000));
            }
            AgentException e = assertThrows(AgentException.class, () -> stub.terminate(1, Duration.ZERO, true));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(stub.stubPid() > 0, "the stub is untouched");
        }
    }

    @Test
    void errorsCarryTheCApiStatusNames() throws Exception {
        try (StubAgent stub = StubAgent.start(StubSupport.config(tmp)); Victim v = Victim.start("victim_marker")) {
            assertEquals(Status.NO_SUCH_PROCESS, assertThrows(AgentException.class, () -> stub.process(Integer.MAX_VALUE)).status());
            assertEquals(Status.INVALID_ARGUMENT, assertThrows(AgentException.class, () -> stub.regions(0)).status());
            assertEquals(Status.PARTIAL_READ,
                assertThrows(AgentException.class, () -> stub.readMemory(v.pid(), 0x1000, new byte[8], 0, 8)).status());
        }
    }

    @Test
    void terminateEndsAVictimWithSigtermAndReportsIt() throws Exception {
        try (StubAgent stub = StubAgent.start(StubSupport.config(tmp)); Victim v = Victim.start("victim_marker")) {
            TerminationReport dry = stub.terminate(v.pid(), Duration.ofSeconds(5), true);
            assertEquals(Status.OK, dry.status());
            assertEquals(TerminationResult.WOULD_TERMINATE, dry.result());
            assertTrue(v.process().isAlive());

            TerminationReport r = stub.terminate(v.pid(), Duration.ofSeconds(5), false);
            assertEquals(Status.OK, r.status(), r.reason());
            assertEquals(TerminationResult.TERMINATED, r.result());
            assertEquals(List.of("SIGTERM"), r.signals());
            assertTrue(v.process().waitFor(10, TimeUnit.SECONDS));
            assertEquals(128 + 15, v.process().exitValue(), "ended by SIGTERM");

            TerminationReport again = stub.terminate(v.pid(), Duration.ofSeconds(5), false);
            assertEquals(Status.NO_SUCH_PROCESS, again.status());
            assertEquals(TerminationResult.NOT_FOUND, again.result());
        }
    }

    @Test
    void terminateWithoutGraceKills() throws Exception {
        try (StubAgent stub = StubAgent.start(StubSupport.config(tmp)); Victim v = Victim.start("victim_marker")) {
            TerminationReport r = stub.terminate(v.pid(), Duration.ZERO, false);
            assertEquals(TerminationResult.KILLED, r.result(), r.reason());
            assertEquals(List.of("SIGKILL"), r.signals());
            assertTrue(v.process().waitFor(10, TimeUnit.SECONDS));
            assertEquals(128 + 9, v.process().exitValue());
            assertThrows(IllegalArgumentException.class, () -> stub.terminate(v.pid(), Duration.ofHours(2), true));
        }
    }

    @Test
    void protectedProcessesAreRefusedAndNothingIsSent() throws Exception {
        try (StubAgent stub = StubAgent.start(StubSupport.config(tmp)); Victim v = Victim.start("victim_marker")) {
            long stubPid = stub.stubPid();
            for (long self : List.of(ProcessHandle.current().pid(), stubPid)) { // the orchestrator, the stub
                TerminationReport r = stub.terminate(self, Duration.ZERO, false);
                assertEquals(Status.PROTECTED, r.status(), r.reason());
                assertEquals(TerminationResult.REFUSED, r.result());
                assertEquals(ProtectionReason.SELF, r.protection(), r.reason());
                assertEquals(List.of(), r.signals());
                assertEquals(ProtectionReason.SELF, stub.protection(self).reason());
            }
            // The orchestrator's parent is an ancestor of the stub: decided before anything is sent.
            long parent = ProcessHandle.current().parent().orElseThrow().pid();
            assertEquals(ProtectionReason.ANCESTOR, stub.protection(parent).reason());
            assertEquals(ProtectionReason.NONE, stub.protection(v.pid()).reason());

            assertEquals(16, stub.protectedEntries().size(), "the C agent's default list");
            assertTrue(stub.protectedEntries().contains(new ProtectedEntry("sshd", false)));
            stub.protect("victim_marker");
            assertEquals(ProtectionReason.NONE, stub.protection(v.pid()).reason(),
                "a name protects the file of that name in a system directory, not a victim that shares it");
            stub.clearProtected();
            String exe = Victim.directory().resolve("victim_marker").toString();
            stub.protect("/elsewhere/victim_marker");
            assertEquals(ProtectionReason.NONE, stub.protection(v.pid()).reason(), "a path entry matches the full path only");
            stub.protect(exe);
            assertEquals(new ProtectedEntry(exe, true), stub.protectedEntries().get(1));
            TerminationReport byPath = stub.terminate(v.pid(), Duration.ZERO, false);
            assertEquals(ProtectionReason.PATH, byPath.protection(), byPath.reason());
            stub.protectDefaults();
            assertEquals(18, stub.protectedEntries().size());
            assertThrows(IllegalArgumentException.class, () -> stub.protect(""));
            assertThrows(IllegalArgumentException.class, () -> stub.protect("a\0b"));
            assertTrue(v.process().isAlive(), "a refused termination sends nothing");
        }
    }
}
