package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.agent.ContainerFacts;
import dev.memsentry.agent.NativeAgent;
import dev.memsentry.agent.StubAgent;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Podman;
import dev.memsentry.testing.StubSupport;
import dev.memsentry.testing.Victim;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real containers (Podman, runc, images imported from a static busybox and static victims): alerts
 * name the container, a sweep scoped to one container scans it alone, and the checks that read files
 * use the container's files, not the host's at the same path. The sweeps run outside a PID namespace
 * (a container's processes are invisible from a sibling one): they read other processes' /proc
 * metadata only to decide the scope, and each test asserts from the summary that nothing else was
 * scanned, or from the watch statistics that nothing else was.
 */
class ContainerIT {
    private static final String LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    private static Podman.Image image;

    @BeforeAll
    static void podman() throws Exception {
        NativeSupport.requireNative();
        String why = Podman.unavailable();
        assumeTrue(why == null, "containers cannot run here: " + why);
        // The container's libc.so.6: the host's with bytes of its first page changed, so a comparison
        // with the host's file at the same path would differ where the container's does not.
        byte[] libc = Files.readAllBytes(Path.of(LIBC));
        for (int i = 0x200; i < 0x240; i++) {
            libc[i] ^= 0x5a;
        }
        image = Podman.Image.build(new Podman.RootFs()
            .add(Victim.directory().resolve("victim_rwx_static"), "/victims/victim_rwx_static")
            .add(Victim.directory().resolve("victim_map_library_static"), "/victims/victim_map_library_static")
            .add(Victim.directory().resolve("victim_wx_cycle_static"), "/victims/victim_wx_cycle_static")
            .write(LIBC, libc));
    }

    @AfterAll
    static void removeImage() {
        if (image != null) {
            image.close();
        }
    }

    private static void assertNamesContainer(JsonNode doc, Podman.Container c) {
        assertEquals(c.id(), doc.at("/container/id").asText(), doc.toString());
        assertEquals("podman", doc.at("/container/runtime").asText(), doc.toString());
        assertEquals(c.name(), doc.at("/container/name").asText(), doc.toString());
        assertEquals(image.tag(), doc.at("/container/image/name").asText(), doc.toString());
        assertEquals(c.hostPid(), doc.at("/process/pid").asLong());
    }

    @Test
    void rwxVictimInAContainerIsAlertedWithItsContainer() throws Exception {
        try (Podman.Container c = image.start("/victims/victim_rwx_static")) {
            assertEquals("1", c.fact("pid"), "the victim is PID 1 of its container");
            ScanIT.Scan s = ScanIT.scan("--pid", Long.toString(c.hostPid()));
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            JsonNode a = s.alert("memory.rwx");
            assertNamesContainer(a, c);
            assertEquals("/victims/victim_rwx_static", a.at("/process/executable").asText(), "the path the process sees");
            assertEquals("/proc/" + c.hostPid() + "/root/victims/victim_rwx_static",
                a.at("/memsentry/host_executable").asText());
            assertTrue(Files.isSameFile(Path.of(a.at("/memsentry/host_executable").asText()),
                Path.of("/proc/" + c.hostPid() + "/exe")), "the host path reaches the executable");
            assertEquals(1, a.at("/process/vpid").asLong());
            assertNotEquals(0, a.at("/memsentry/namespaces/pid").asLong());
            assertEquals(Map.of(c.id(), 1), Json.mapper().convertValue(s.summary().get("scanned_by_container"), Map.class));

            CliIT.Run ps = CliIT.jar(List.of(), "ps", "--json");
            JsonNode mine = ps.out().lines().map(l -> {
                try {
                    return Json.mapper().readTree(l);
                } catch (java.io.IOException e) {
                    throw new AssertionError(l, e);
                }
            }).filter(n -> n.get("pid").asLong() == c.hostPid()).findFirst().orElseThrow();
            assertEquals(c.id(), mine.at("/container/id").asText(), mine.toString());
            assertEquals(c.name(), mine.at("/container/name").asText(), mine.toString());
        }
    }

    @Test
    void bothBackendsReadTheSameContainerFacts(@TempDir Path tmp) throws Exception {
        try (Podman.Container c = image.start("/victims/victim_rwx_static");
             NativeAgent n = NativeAgent.open();
             StubAgent stub = StubAgent.start(StubSupport.config(tmp))) {
            ContainerFacts facts = n.containerFacts(c.hostPid());
            assertEquals(c.id(), facts.id());
            assertEquals("podman", facts.runtime());
            assertEquals(1, facts.nsPid());
            assertTrue(facts.has(ContainerFacts.OTHER_NS), facts.toString());
            assertEquals(facts, stub.containerFacts(c.hostPid()));
        }
    }

    @Test
    void scopeContainerScansThatContainerAndNothingElse() throws Exception {
        try (Podman.Container c = image.start("/victims/victim_rwx_static");
             Podman.Container other = image.start("/victims/victim_rwx_static")) {
            assertNotEquals(c.id(), other.id(), "a second container with the same artifact, to be left out");
            for (String scope : new String[] {c.id().substring(0, 12), c.name()}) {
                ScanIT.Scan s = ScanIT.scan("--all", "--scope", "container:" + scope);
                JsonNode sum = s.summary();
                assertEquals(ExitCodes.FINDINGS, s.code(), s.err() + sum);
                assertEquals(1, sum.get("processes_requested").asInt(), sum.toString());
                assertEquals(1, sum.get("processes_scanned").asInt(), sum.toString());
                assertEquals(Map.of(c.id(), 1), Json.mapper().convertValue(sum.get("scanned_by_container"), Map.class),
                    "nothing outside the container was scanned");
                assertEquals("container:" + scope, sum.get("scope").asText());
                assertTrue(sum.get("processes_out_of_scope").asInt() >= 2, "the other container and the host: " + sum);
                assertFalse(s.alerts().isEmpty());
                for (JsonNode a : s.alerts()) {
                    assertNamesContainer(a, c);
                }
            }
        }
    }

    @Test
    void traceAlertsAndSummaryNameTheContainer() throws Exception {
        try (Podman.Container c = image.start("/victims/victim_wx_cycle_static", "2")) {
            CliIT.Run r = CliIT.jar(List.of(), "trace", "--pid", Long.toString(c.hostPid()), "--duration", "1s", "--json");
            assertEquals(ExitCodes.FINDINGS, r.code(), r.err());
            List<JsonNode> docs = TraceCommandTest.lines(r.out());
            JsonNode alert = docs.stream().filter(TraceCommandTest::isAlert).findFirst().orElseThrow();
            assertEquals("trace.wx_transition", alert.at("/rule/id").asText());
            assertNamesContainer(alert, c);
            JsonNode summary = docs.stream().filter(n -> n.at("/event/action").asText().equals("trace-summary"))
                .findFirst().orElseThrow();
            assertNamesContainer(summary, c);
            String status = Files.readString(Path.of("/proc/" + c.hostPid() + "/status"));
            assertTrue(status.contains("TracerPid:\t0\n"), "detached: " + status);
        }
    }

    @Test
    void scopeNamingNoContainerScansNothing() throws Exception {
        ScanIT.Scan s = ScanIT.scan("--all", "--scope", "container:" + "0".repeat(64));
        assertEquals(ExitCodes.OK, s.code(), s.err());
        assertEquals(0, s.summary().get("processes_requested").asInt());
        assertEquals(0, s.summary().get("processes_scanned").asInt());
    }

    @Test
    void libraryIsComparedWithTheContainersFileNotTheHosts() throws Exception {
        assertFalse(Arrays.equals(Files.readAllBytes(Path.of(LIBC)), readFromImage(LIBC)),
            "the container's libc differs from the host's");
        try (Podman.Container c = image.start("/victims/victim_map_library_static", LIBC)) {
            ScanIT.Scan s = ScanIT.scan("--pid", Long.toString(c.hostPid()));
            assertEquals(Set.of(), s.rules(), "no false code.patched: " + s.out() + s.err());
            assertEquals(ExitCodes.OK, s.code(), s.err());
            assertTrue(s.summary().get("bytes_compared").asLong() >= 4096,
                "the page was compared with a file: " + s.summary());
        }
        // The control: one byte really changed in the same page is found, in the container's file.
        try (Podman.Container c = image.start("/victims/victim_map_library_static", LIBC, "patch")) {
            ScanIT.Scan s = ScanIT.scan("--pid", Long.toString(c.hostPid()));
            JsonNode a = s.alert("code.patched");
            assertNamesContainer(a, c);
            assertEquals(LIBC, a.at("/memsentry/region/path").asText());
        }
    }

    @Test
    void responsesAndTheirEvidenceNameTheContainer(@TempDir Path evidence) throws Exception {
        try (Podman.Container c = image.start("/victims/victim_rwx_static")) {
            CliIT.Run run = CliIT.jar(List.of(), "scan", "--json", "--pid", Long.toString(c.hostPid()), "--respond",
                "dump-kill", "--respond-min", "high", "--respond-grace", "0", "--dump-format", "raw", "--evidence-dir",
                evidence.resolve("ev").toString());
            assertEquals(ExitCodes.FINDINGS, run.code(), run.err());
            Map<String, JsonNode> events = new java.util.HashMap<>();
            for (String line : run.out().split("\n")) {
                JsonNode n = Json.mapper().readTree(line);
                if (n.at("/event/kind").asText().equals("event")) {
                    events.put(n.at("/event/action").asText(), n);
                }
            }
            for (String action : List.of("dump", "kill")) {
                JsonNode e = events.get(action);
                assertTrue(e != null, "a " + action + " event: " + run.out());
                assertNamesContainer(e, c);
                assertEquals("/proc/" + c.hostPid() + "/root/victims/victim_rwx_static",
                    e.at("/memsentry/host_executable").asText());
            }
            assertEquals("killed", events.get("kill").at("/memsentry/response/result").asText(), events.get("kill").toString());
            Path manifest = Path.of(events.get("dump").at("/file/path").asText() + ".json");
            JsonNode m = Json.mapper().readTree(Files.readString(manifest));
            assertEquals(c.id(), m.at("/process/container/id").asText(), m.toString());
            assertEquals("podman", m.at("/process/container/runtime").asText());
            assertEquals(1, m.at("/process/container/pid_in_namespace").asLong());
        }
    }

    @Test
    void dumpAndKillCommandsNameTheContainerWithEitherBackend(@TempDir Path tmp) throws Exception {
        try (Podman.Container c = image.start("/victims/victim_rwx_static")) {
            String pid = Long.toString(c.hostPid());
            for (String backend : List.of("native", "stub")) {
                Path file = tmp.resolve(backend + ".raw");
                CliIT.Run dump = CliIT.jar(List.of(), "--backend", backend, "dump", "--pid", pid, "--format", "raw",
                    "--out", file.toString(), "--json");
                assertEquals(ExitCodes.OK, dump.code(), dump.err());
                JsonNode record = Json.mapper().readTree(dump.out().strip().lines().reduce((a, b) -> b).orElseThrow());
                assertEquals(c.id(), record.at("/container/id").asText(), record.toString());
                assertEquals(c.name(), record.at("/container/name").asText(), record.toString());
                JsonNode m = Json.mapper().readTree(Files.readString(Path.of(file + ".json")));
                assertEquals(c.id(), m.at("/process/container/id").asText(), backend + ": " + m.at("/process"));
                assertEquals("podman", m.at("/process/container/runtime").asText());
                assertEquals(1, m.at("/process/container/pid_in_namespace").asLong());
            }
            CliIT.Run kill = CliIT.jar(List.of(), "kill", "--pid", pid, "--grace", "0", "--json");
            assertEquals(ExitCodes.OK, kill.code(), kill.err());
            JsonNode k = Json.mapper().readTree(kill.out().strip());
            assertEquals("killed", k.get("result").asText(), k.toString());
            assertEquals(c.id(), k.at("/container/id").asText(), k.toString());
            assertEquals(c.name(), k.at("/container/name").asText(), k.toString());
        }
    }

    private static byte[] readFromImage(String path) throws Exception {
        try (Podman.Container c = image.start("/victims/victim_map_library_static", path)) {
            return Files.readAllBytes(Path.of("/proc/" + c.hostPid() + "/root" + path));
        }
    }

    @Test
    void watchScopedToAContainerCatchesAShortLivedVictimStartedWithPodmanExec(@TempDir Path tmp) throws Exception {
        try (Podman.Container c = image.start("/victims/victim_rwx_static");
             Victim beside = Victim.start("victim_rwx");
             WatchRun w = WatchRun.start(tmp, List.of(), "watch", "--scope", "container:" + c.id().substring(0, 12),
                 "--json", "--stats-interval", "1s")) {
            Victim shortLived = c.exec("/victims/victim_rwx_static");
            Thread.sleep(1000); // it lives a second: the exec must be caught while it runs
            shortLived.close();
            JsonNode a = w.await(d -> d.at("/event/kind").asText().equals("alert")
                && d.at("/rule/id").asText().equals("memory.rwx") && d.at("/container/id").asText().equals(c.id())
                && d.at("/process/vpid").asLong() != 1, java.time.Duration.ofSeconds(15), "alert for the exec'd victim");
            assertEquals(c.name(), a.at("/container/name").asText(), a.toString());
            assertEquals("/victims/victim_rwx_static", a.at("/process/executable").asText());
            assertEquals(0, w.terminate());
            for (JsonNode alert : w.alerts()) {
                assertEquals(c.id(), alert.at("/container/id").asText(), "only the container's processes: " + alert);
                assertNotEquals(beside.pid(), alert.at("/process/pid").asLong());
            }
            assertTrue(w.lastStats().get("out_of_scope_seen").asLong() > 0, w.lastStats().toString());
        }
    }
}
