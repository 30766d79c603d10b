package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Victim;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end: the jar's watch command, scoped to a process tree the test owns (or alone in a PID
 * namespace), against victims that live for a moment, turn malicious late, or must not be touched.
 */
class WatchIT {
    private static final Duration ALERT_WAIT = Duration.ofSeconds(15);

    @TempDir
    Path tmp;

    private static String[] watch(ProcessTree tree, String... extra) {
        List<String> args = new ArrayList<>(List.of("watch", "--scope", "tree:" + tree.pid(), "--json",
            "--stats-interval", "1s"));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    private static String[] global(String backend, String[] watchArgs) {
        List<String> args = new ArrayList<>(List.of("--backend", backend));
        args.addAll(List.of(watchArgs));
        return args.toArray(String[]::new);
    }

    /** Short-lived victims: a 300 ms shellcode loader and a memfd program, each alerted with pid and region. */
    private void shortLivedVictimsAreAlerted(String backend) throws Exception {
        try (ProcessTree tree = new ProcessTree(tmp);
             Victim beside = Victim.start("victim_rwx");
             WatchRun w = WatchRun.start(tmp, List.of(), global(backend, watch(tree)))) {
            tree.run(ProcessTree.victim("victim_watch") + " shellcode 300 > sc.out &");
            tree.run("sleep 2 | " + ProcessTree.victim("victim_memfd_exec") + " > memfd.out &");
            Map<String, String> sc = tree.ready("sc.out", ALERT_WAIT);
            long pid = Long.parseLong(sc.get("pid"));
            JsonNode a = w.await(WatchRun.alertFor(pid, "memory.exec_anonymous"), ALERT_WAIT, "alert for the shellcode victim");
            assertEquals(ProcessTree.hex(sc.get("addr")), ProcessTree.hex(a.at("/memsentry/region/start").asText()), a.toString());
            assertEquals("victim_watch", a.at("/process/name").asText());
            long memfd = Long.parseLong(tree.ready("memfd.out", ALERT_WAIT).get("pid"));
            JsonNode m = w.await(WatchRun.alertFor(memfd, "fileless.exe_memfd"), ALERT_WAIT, "alert for the memfd program");
            assertTrue(m.at("/process/executable").asText().startsWith("/memfd:memsentry-victim"), m.toString());
            Thread.sleep(2500); // rescans and late scans come and go: nothing is reported twice
            assertEquals(0, w.terminate());
            List<JsonNode> alerts = w.alerts();
            Set<String> keys = alerts.stream().map(x -> x.at("/process/pid").asLong() + x.at("/rule/id").asText()
                + x.at("/memsentry/region/start").asText()).collect(Collectors.toSet());
            assertEquals(keys.size(), alerts.size(), "an alert reported twice: " + alerts);
            // The victim beside the tree holds RWX code: it was never scanned, so never alerted.
            assertTrue(alerts.stream().noneMatch(x -> x.at("/process/pid").asLong() == beside.pid()), alerts.toString());
            JsonNode stats = w.lastStats();
            assertTrue(stats.get("out_of_scope_seen").asLong() > 0, stats.toString());
            assertTrue(stats.get("processes_tracked").asLong() <= 3, stats.toString());
            assertTrue(stats.get("alerts").asLong() >= 2, stats.toString());
        }
    }

    @Test
    void shortLivedShellcodeAndMemfdVictimsAreAlertedAndNothingBesideIsScanned() throws Exception {
        NativeSupport.requireNative();
        shortLivedVictimsAreAlerted("native");
    }

    @Test
    void theStubBackendWatchesTheSameShortLivedVictims() throws Exception {
        shortLivedVictimsAreAlerted("stub");
    }

    @Test
    void aVictimThatTurnsMaliciousLaterIsFoundByTheRescan() throws Exception {
        NativeSupport.requireNative();
        try (ProcessTree tree = new ProcessTree(tmp);
             WatchRun w = WatchRun.start(tmp, List.of(), watch(tree, "--rescan", "1s", "--settle-late", "0"))) {
            tree.run("sleep 30 | " + ProcessTree.victim("victim_watch") + " late 2000 > late.out &");
            long pid = Long.parseLong(tree.ready("late.out", ALERT_WAIT).get("pid"));
            long addr = ProcessTree.hex(tree.line("late.out", "RWX", ALERT_WAIT).get("addr"));
            JsonNode a = w.await(WatchRun.alertFor(pid, "memory.rwx"), ALERT_WAIT, "rescan alert");
            assertEquals(addr, ProcessTree.hex(a.at("/memsentry/region/start").asText()));
            assertEquals("rescan", a.at("/memsentry/watch/scan").asText(), a.toString());
            assertEquals(0, w.terminate());
            assertTrue(w.lastStats().at("/scans/rescan").asLong() >= 1);
        }
    }

    @Test
    void aForkStormLosesNoMaliciousProcess() throws Exception {
        NativeSupport.requireNative();
        forkStorm(List.of());
    }

    @Test
    void aForcedConnectorOverflowIsCountedAndTheResyncStillFindsTheLoaders() throws Exception {
        NativeSupport.requireNative();
        JsonNode s = forkStorm(List.of("--events", "connector", "--receive-buffer", "1"));
        assertTrue(s.get("events_lost").asLong() > 0, "a 1-byte receive buffer must overflow: " + s);
        assertTrue(s.get("resyncs").asLong() > 0, s.toString());
    }

    /** 1000 short processes as fast as a shell starts them, every 200th a 300 ms loader: each loader alerted. */
    private JsonNode forkStorm(List<String> options) throws Exception {
        try (ProcessTree tree = new ProcessTree(tmp);
             WatchRun w = WatchRun.start(tmp, List.of(), watch(tree, options.toArray(String[]::new)))) {
            tree.run("for i in $(seq 1 1000); do /bin/true; if [ $((i % 200)) = 0 ]; then "
                + ProcessTree.victim("victim_watch") + " shellcode 300 > m$i.out & fi; done; wait; echo done 1 > storm.out");
            // The shell waits for its loaders: while one runs, its parent link leads into the tree even
            // when its fork and exec events were lost (a 1-byte receive buffer) and a resync finds it.
            tree.line("storm.out", "done", Duration.ofSeconds(60));
            for (int i = 200; i <= 1000; i += 200) {
                long pid = Long.parseLong(tree.ready("m" + i + ".out", ALERT_WAIT).get("pid"));
                w.await(WatchRun.alertFor(pid, "memory.exec_anonymous"), ALERT_WAIT, "alert for loader " + i);
            }
            assertEquals(0, w.terminate());
            JsonNode s = w.lastStats();
            assertTrue(s.get("execs").asLong() >= 5, s.toString());
            assertEquals(0, s.get("scans_dropped").asLong(), s.toString());
            return s;
        }
    }

    @Test
    void respondKillKillsTheMaliciousVictimButNeverAProtectedOne() throws Exception {
        NativeSupport.requireNative();
        Path cfg = tmp.resolve("c.yaml");
        // By path: a name protects only a binary of that name in a system directory.
        Files.writeString(cfg, "protected: [" + Victim.directory().resolve("victim_rwx") + "]\n");
        try (ProcessTree tree = new ProcessTree(tmp);
             WatchRun w = WatchRun.start(tmp, List.of(), watch(tree, "--config", cfg.toString(), "--respond", "kill",
                 "--respond-grace", "0"))) {
            tree.run("sleep 60 | " + ProcessTree.victim("victim_rwx") + " > p.out &");
            tree.run(ProcessTree.victim("victim_watch") + " shellcode 30000 > k.out &");
            long kept = Long.parseLong(tree.ready("p.out", ALERT_WAIT).get("pid"));
            long killed = Long.parseLong(tree.ready("k.out", ALERT_WAIT).get("pid"));
            JsonNode kill = w.await(d -> d.at("/event/action").asText().equals("kill")
                && d.at("/process/pid").asLong() == killed, ALERT_WAIT, "kill event");
            assertEquals("success", kill.at("/event/outcome").asText(), kill.toString());
            JsonNode refused = w.await(d -> d.at("/event/action").asText().equals("kill")
                && d.at("/process/pid").asLong() == kept, ALERT_WAIT, "refused kill event");
            assertEquals("failure", refused.at("/event/outcome").asText(), refused.toString());
            assertEquals("refused", refused.at("/memsentry/response/result").asText(), refused.toString());
            waitGone(killed);
            assertTrue(ProcessHandle.of(kept).map(ProcessHandle::isAlive).orElse(false), "protected victim killed");
            Thread.sleep(1500);
            assertEquals(1, w.events("kill").stream().filter(d -> d.at("/process/pid").asLong() == kept).count(),
                "one response per process instance");
            assertEquals(0, w.terminate());
        }
    }

    private static void waitGone(long pid) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (Files.exists(Path.of("/proc", Long.toString(pid), "stat"))) {
            String stat;
            try {
                stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            } catch (java.io.IOException e) {
                return;
            }
            if (stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z")) {
                return; // dead, waiting for its shell to reap it
            }
            assertTrue(System.nanoTime() < deadline, "pid " + pid + " still alive");
            Thread.sleep(50);
        }
    }

    private static String status(long pid, String key) throws java.io.IOException {
        return Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream()
            .filter(l -> l.startsWith(key)).findFirst().orElseThrow().substring(key.length()).trim();
    }

    private static void awaitTraced(long pid, WatchRun w) throws Exception {
        long deadline = System.nanoTime() + ALERT_WAIT.toNanos();
        while (status(pid, "TracerPid:").equals("0")) {
            assertTrue(System.nanoTime() < deadline, "never traced: " + w.err());
            Thread.sleep(20);
        }
    }

    @Test
    void traceOnHighSeesTheNextWxTransitionAndLeavesTheVictimRunningUntraced() throws Exception {
        NativeSupport.requireNative();
        Path fifo = tmp.resolve("cmd");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        try (ProcessTree tree = new ProcessTree(tmp);
             WatchRun w = WatchRun.start(tmp, List.of(), watch(tree, "--trace-on", "high", "--trace-for", "4s"))) {
            tree.run(ProcessTree.victim("victim_watch") + " cycle < cmd > cy.out &");
            try (var cmd = Files.newBufferedWriter(fifo)) {
                long pid = Long.parseLong(tree.ready("cy.out", ALERT_WAIT).get("pid"));
                w.await(WatchRun.alertFor(pid, "memory.exec_anonymous"), ALERT_WAIT, "scan alert");
                awaitTraced(pid, w);
                cmd.write("go\n");
                cmd.flush();
                long addr = ProcessTree.hex(tree.line("cy.out", "WX", ALERT_WAIT).get("addr"));
                JsonNode t = w.await(WatchRun.alertFor(pid, "trace.wx_transition"), ALERT_WAIT, "trace alert");
                assertEquals(addr, ProcessTree.hex(t.at("/memsentry/region/start").asText()), t.toString());
                assertEquals("trace", t.at("/memsentry/watch/scan").asText());
                long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
                while (!status(pid, "TracerPid:").equals("0")) {
                    assertTrue(System.nanoTime() < deadline, "still traced after --trace-for");
                    Thread.sleep(50);
                }
                String state = status(pid, "State:");
                assertFalse(state.startsWith("T") || state.startsWith("t"), state);
                assertEquals(0, w.terminate());
                assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "victim died");
                assertEquals(1, w.lastStats().get("traces_started").asLong());
            }
        }
    }

    @Test
    void sigtermMidTraceStopsWithinSecondsAndLeavesNothingTraced() throws Exception {
        NativeSupport.requireNative();
        try (ProcessTree tree = new ProcessTree(tmp);
             WatchRun w = WatchRun.start(tmp, List.of(), watch(tree, "--trace-on", "high", "--trace-for", "60s"))) {
            tree.run("sleep 60 | " + ProcessTree.victim("victim_watch") + " shellcode 60000 > t.out &");
            long pid = Long.parseLong(tree.ready("t.out", ALERT_WAIT).get("pid"));
            awaitTraced(pid, w);
            assertEquals(0, w.terminate());
            assertEquals("0", status(pid, "TracerPid:"));
            String state = status(pid, "State:");
            assertFalse(state.startsWith("T") || state.startsWith("t"), state);
        }
    }

    private static void awaitErr(WatchRun w, String text) throws Exception {
        long deadline = System.nanoTime() + ALERT_WAIT.toNanos();
        while (!w.err().contains(text)) {
            assertTrue(System.nanoTime() < deadline, w.err());
            Thread.sleep(50);
        }
    }

    @Test
    void sighupReloadsTheConfigurationAndABrokenOneKeepsTheOld() throws Exception {
        NativeSupport.requireNative();
        Path cfg = tmp.resolve("w.yaml");
        Files.writeString(cfg, "heuristics:\n  memory.exec_anonymous: off\n");
        try (ProcessTree tree = new ProcessTree(tmp);
             WatchRun w = WatchRun.start(tmp, List.of(), watch(tree, "--config", cfg.toString(), "--settle-late", "0"))) {
            String victim = ProcessTree.victim("victim_watch") + " shellcode 1500";
            tree.run(victim + " > a.out &");
            long a = Long.parseLong(tree.ready("a.out", ALERT_WAIT).get("pid"));
            w.await(d -> d.at("/event/action").asText().equals("watch-stats")
                && d.at("/memsentry/watch_stats/scans/exec").asLong() >= 1, ALERT_WAIT, "the first scan");
            Files.writeString(cfg, "heuristics:\n  memory.exec_anonymous: on\n");
            w.signal("HUP");
            awaitErr(w, "configuration reloaded");
            tree.run(victim + " > b.out &");
            long b = Long.parseLong(tree.ready("b.out", ALERT_WAIT).get("pid"));
            w.await(WatchRun.alertFor(b, "memory.exec_anonymous"), ALERT_WAIT, "alert after the reload");
            Files.writeString(cfg, "heuristics:\n  memory.exec_anonymous: maybe\n");
            w.signal("HUP");
            awaitErr(w, "ERROR");
            tree.run(victim + " > c.out &");
            long c = Long.parseLong(tree.ready("c.out", ALERT_WAIT).get("pid"));
            w.await(WatchRun.alertFor(c, "memory.exec_anonymous"), ALERT_WAIT, "alert under the kept configuration");
            assertEquals(0, w.terminate());
            assertTrue(w.alerts().stream().noneMatch(d -> d.at("/process/pid").asLong() == a), "rule was off");
            List<String> errors = w.err().lines().filter(l -> l.contains("ERROR")).toList();
            assertEquals(1, errors.size(), w.err());
            assertTrue(errors.get(0).contains("w.yaml"), errors.get(0));
        }
    }

    @Test
    void insideAPidNamespaceTheAlertCarriesTheNamespacesPid() throws Exception {
        NativeSupport.requireNative();
        // Alone in a fresh PID namespace: the watch (scope all) and one victim the script starts.
        String jar = String.join(" ", CliIT.jarCommand(List.of(), List.of(), "watch", "--json", "--duration", "20s",
            "--stats-interval", "0"));
        Path err = tmp.resolve("ns.err");
        String script = jar + " > " + tmp.resolve("ns.out") + " 2> " + err + " & "
            + "until grep -q watching " + err + "; do sleep 0.1; done; "
            + ProcessTree.victim("victim_watch") + " shellcode 1000 > " + tmp.resolve("v.out") + "; sleep 2; kill $!; wait";
        Process p = new ProcessBuilder("unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script)
            .redirectErrorStream(true).start();
        p.getOutputStream().close();
        String log = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), log);
        String ready = Files.readAllLines(tmp.resolve("v.out")).get(0);
        long pid = Long.parseLong(ready.replaceAll(".*pid=(\\d+).*", "$1"));
        assertTrue(pid < 100, "a pid of the new namespace: " + ready);
        List<JsonNode> docs = new ArrayList<>();
        for (String l : Files.readAllLines(tmp.resolve("ns.out"))) {
            docs.add(dev.memsentry.output.Json.mapper().readTree(l));
        }
        assertTrue(docs.stream().anyMatch(d -> WatchRun.alertFor(pid, "memory.exec_anonymous").test(d)),
            docs + Files.readString(tmp.resolve("ns.err")));
    }

    @Test
    void badOptionsExit2AndAMissingEventSourceExits3() throws Exception {
        for (String[] args : List.of(new String[] {"watch", "--scope", "tree:abc"},
            new String[] {"watch", "--scope", "pod:1"},
            new String[] {"watch", "--max-cpu", "0"},
            new String[] {"watch", "--config", tmp.resolve("missing.yaml").toString()})) {
            CliIT.Run r = CliIT.jar(List.of(), args);
            assertEquals(ExitCodes.USAGE, r.code(), String.join(" ", args) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertEquals("", r.out());
        }
        CliIT.Run r = CliIT.jar(List.of(), "--backend", "stub", "watch", "--events", "connector", "--duration", "1s");
        assertEquals(ExitCodes.FAILED, r.code(), r.err());
        assertTrue(r.err().strip().lines().anyMatch(l -> l.startsWith("memsentry: no process event source")), r.err());
    }

    @Test
    void aPtraceInjectorIsReportedAtItsAttachThoughItDetachedAtOnce() throws Exception {
        NativeSupport.requireNative();
        try (ProcessTree tree = new ProcessTree(tmp);
             WatchRun w = WatchRun.start(tmp, List.of(), watch(tree, "--events", "connector"))) {
            tree.run("sleep 60 | " + ProcessTree.victim("victim_plain") + " > plain.out &");
            long pid = Long.parseLong(tree.ready("plain.out", ALERT_WAIT).get("pid"));
            Path library = tmp.resolve("libplugin.so");
            java.nio.file.Files.copy(dev.memsentry.testing.Victim.directory().resolve("libvictim_inject.so"), library);
            InjectionIT.inject(pid, library); // attaches, runs dlopen in the victim, detaches: milliseconds
            JsonNode a = w.await(WatchRun.alertFor(pid, "inject.tracer"), ALERT_WAIT, "alert for the ptrace attach");
            assertEquals("ptrace-event", a.at("/memsentry/watch/scan").asText(), a.toString());
            assertTrue(a.at("/memsentry/details/tracer_pid").asLong() > 0, a.toString());
            // The injector may be exiting or gone when the event is handled (it detaches and exits in
            // milliseconds): its executable is then unknown, but never another program's.
            String exe = a.at("/memsentry/details/tracer_executable").asText("");
            assertTrue(exe.isEmpty() || exe.endsWith("/inject_dlopen"), a.toString());
            assertEquals(0, w.terminate());
            assertTrue(w.lastStats().get("ptrace_attaches").asLong() >= 1, w.lastStats().toString());
        }
    }
}
