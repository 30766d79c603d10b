package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Tracees;
import dev.memsentry.testing.Victim;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** End to end: the built jar's trace command against real victims, and signals to the jar mid-trace. */
class TraceIT {
    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static void assertOneLine(String text) {
        assertEquals(1, text.strip().lines().count(), "expected exactly one line, got:\n" + text);
        assertFalse(text.contains("Exception") || text.contains("\tat "), "no stack traces: " + text);
    }

    @Test
    void wxVictimGivesTheIssueFieldsAndAnEcsAlertAndExits1() throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.start("victim_wx_cycle", "3")) {
            CliIT.Run r = CliIT.jar(List.of(), "trace", "--pid", String.valueOf(v.pid()), "--duration", "2s", "--json");
            assertEquals(ExitCodes.FINDINGS, r.code(), r.err());
            assertEquals("", r.err(), "nothing on stderr with --json");
            List<JsonNode> docs = TraceCommandTest.lines(r.out());
            assertEquals(r.out().strip().lines().count(), docs.size(), "every line is JSON");
            JsonNode mmap = docs.stream().filter(n -> TraceCommandTest.isSyscall(n) && n.get("syscall").asText().equals("mmap"))
                .findFirst().orElseThrow();
            for (String f : List.of("pid", "tid", "syscall", "addr", "len", "prot", "flags", "fd", "ret")) {
                assertTrue(mmap.has(f), f + " in " + mmap);
            }
            assertTrue(mmap.get("len").asText().matches("0x[0-9a-f]+"), mmap.toString());
            JsonNode alert = docs.stream().filter(TraceCommandTest::isAlert).findFirst().orElseThrow();
            assertEquals("trace.wx_transition", alert.get("rule").get("id").asText());
            assertEquals("memsentry", alert.get("rule").get("ruleset").asText());
            assertEquals("T1055", alert.get("threat").get("technique").get("id").get(0).asText());
            assertEquals(v.pid(), alert.get("process").get("pid").asLong());
            JsonNode sum = TraceCommandTest.summary(docs);
            assertEquals("attach", sum.get("mode").asText());
            assertTrue(sum.get("threads").asInt() >= 4, sum.toString());
            Tracees.assertRunningAndUntraced(v);
        }
    }

    @Test
    void threadsStuckInVforkCannotHoldTheTraceOpen() throws Exception {
        NativeSupport.requireNative();
        // Four threads wait in vfork(), where no ptrace stop reaches them: the trace still ends
        // after its duration (plus the bounded wait for stops), and leaves no thread traced.
        try (Victim v = Victim.start("victim_vfork_stuck", "4")) {
            CliIT.Run r = CliIT.jar(List.of(), "trace", "--pid", String.valueOf(v.pid()), "--duration", "2s");
            assertEquals(ExitCodes.OK, r.code(), r.err());
            assertTrue(r.err().contains("did not stop within"), r.err());
            Tracees.assertRunningAndUntraced(v);
        }
    }

    @Test
    void benignVictimExits0WithNoAlert() throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.start("victim_plain")) {
            CliIT.Run r = CliIT.jar(List.of(), "trace", "--pid", String.valueOf(v.pid()), "--duration", "1s", "--json");
            assertEquals(ExitCodes.OK, r.code(), r.err());
            List<JsonNode> docs = TraceCommandTest.lines(r.out());
            assertTrue(docs.stream().noneMatch(TraceCommandTest::isAlert), r.out());
            assertEquals(0, TraceCommandTest.summary(docs).get("alerts").asInt());
            Tracees.assertRunningAndUntraced(v);
        }
    }

    @Test
    void launchModeTracesTheVictimItStarts() throws Exception {
        NativeSupport.requireNative();
        // The jar's stdin is closed: the victim does its cycles, reads EOF and exits 0.
        String victim = Victim.directory().resolve("victim_wx_cycle").toString();
        CliIT.Run r = CliIT.jar(List.of(), "trace", "--json", "--", victim, "2", "3");
        assertEquals(ExitCodes.FINDINGS, r.code(), r.err());
        // --json without --out: the command's own output goes to stderr, stdout holds JSON lines only.
        assertTrue(r.err().lines().anyMatch(l -> l.startsWith("READY pid=")), "the command's stdout: " + r.err());
        List<JsonNode> docs = TraceCommandTest.lines(r.out());
        assertEquals(r.out().strip().lines().count(), docs.size(), "a line on stdout that is not JSON: " + r.out());
        long wx = docs.stream().filter(n -> TraceCommandTest.isAlert(n)
            && n.get("rule").get("id").asText().equals("trace.wx_transition")).count();
        assertTrue(wx >= 6, "two threads, three cycles: " + wx);
        JsonNode sum = TraceCommandTest.summary(docs);
        assertEquals("launch", sum.get("mode").asText());
        assertEquals("exited", sum.get("ended").asText());
        assertTrue(sum.get("seccomp").asBoolean(), sum.toString());
        assertEquals(0, sum.get("command").get("exit_code").asInt(), sum.toString());
    }

    @Test
    void badInputsExit2WithOneLine() throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.start("victim_plain")) {
            String pid = String.valueOf(v.pid());
            for (String[] args : List.of(new String[] {"trace", "--pid", "abc"},
                new String[] {"trace", "--pid", pid, "--duration", "5x"},
                new String[] {"trace", "--pid", pid, "--syscall", "nosuch"},
                new String[] {"trace", "--json", "--"})) {
                CliIT.Run r = CliIT.jar(List.of(), args);
                assertEquals(ExitCodes.USAGE, r.code(), String.join(" ", args) + ": " + r.err());
                assertOneLine(r.err());
                assertEquals("", r.out());
            }
            Tracees.assertRunningAndUntraced(v);
        }
    }

    @Test
    void pid1IsRefusedInsideAFreshPidNamespace() throws Exception {
        NativeSupport.requireNative();
        // The orchestrator itself is PID 1 there.
        Process p = new ProcessBuilder("unshare", "--pid", "--fork", "--mount-proc", java(), "-jar",
            System.getProperty("memsentry.jar"), "trace", "--pid", "1", "--duration", "1s").start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(ExitCodes.FAILED, p.exitValue(), out + err);
        assertOneLine(err);
        assertTrue(err.startsWith("memsentry: refusing to trace PID 1 (") && err.contains("init"), err);
        assertTrue(err.strip().endsWith("): protected"), err);
    }

    @Test
    void stubBackendSaysTracingNeedsTheNativeAgent() throws Exception {
        CliIT.Run r = CliIT.jar(List.of(), "--backend", "stub", "trace", "--pid", String.valueOf(ProcessHandle.current().pid()));
        assertEquals(ExitCodes.FAILED, r.code(), r.err());
        assertTrue(r.err().strip().lines().anyMatch(l -> l.startsWith("memsentry: tracing needs the native agent")), r.err());
    }

    /** The word at addr in pid's memory, read through /proc/PID/mem. */
    private static long word(long pid, long addr) throws java.io.IOException {
        try (java.io.RandomAccessFile mem = new java.io.RandomAccessFile("/proc/" + pid + "/mem", "r")) {
            mem.seek(addr);
            return Long.reverseBytes(mem.readLong());
        }
    }

    private static List<JsonNode> injectorAlerts(String out, long target) throws Exception {
        return TraceCommandTest.lines(out).stream().filter(n -> TraceCommandTest.isAlert(n)
            && n.get("rule").get("id").asText().equals("trace.injector")
            && n.path("memsentry").path("details").path("target_pid").asLong() == target).toList();
    }

    @Test
    void launchedPtraceInjectorRaisesTraceInjectorWithTheTarget() throws Exception {
        NativeSupport.requireNative();
        String injector = Victim.directory().resolve("victim_trace_inject").toString();
        try (Victim target = Victim.start("victim_trace_evade")) {
            CliIT.Run r = CliIT.jar(List.of(), "trace", "--json", "--alerts-only", "--", injector, "ptrace",
                String.valueOf(target.pid()), target.fact("word"));
            assertEquals(ExitCodes.FINDINGS, r.code(), r.err());
            assertTrue(r.err().contains("injected ptrace pid=" + target.pid() + " ok=1"), r.err());
            assertEquals(0x4242, word(target.pid(), target.hex("word")), "the injector did not poke the word");
            List<JsonNode> alerts = injectorAlerts(r.out(), target.pid());
            assertEquals(2, alerts.size(), "PTRACE_ATTACH and PTRACE_POKEDATA: " + r.out());
            JsonNode poke = alerts.get(1);
            assertEquals("high", poke.path("memsentry").path("severity").asText());
            assertEquals("T1055.008", poke.get("threat").get("technique").get("id").get(0).asText());
            assertTrue(poke.get("message").asText().contains("PTRACE_POKEDATA of pid " + target.pid()), poke.toString());
            Tracees.assertRunningAndUntraced(target);
        }
    }

    @Test
    void attachedInjectorRaisesTraceInjectorWithTheTarget(@TempDir Path dir) throws Exception {
        NativeSupport.requireNative();
        try (Victim target = Victim.start("victim_trace_evade");
             Victim injector = Victim.start("victim_trace_inject", "procmem", String.valueOf(target.pid()),
                 target.fact("word"), "--wait")) {
            Path out = dir.resolve("trace.out");
            Process p = new ProcessBuilder(java(), "-jar", System.getProperty("memsentry.jar"), "trace", "--pid",
                String.valueOf(injector.pid()), "--json", "--alerts-only").redirectOutput(out.toFile())
                .redirectError(dir.resolve("trace.err").toFile()).start();
            Path status = Path.of("/proc", String.valueOf(injector.pid()), "status");
            while (java.nio.file.Files.readAllLines(status).stream().noneMatch(l -> l.startsWith("TracerPid:")
                && !l.endsWith("\t0"))) {
                assertTrue(p.isAlive(), "the jar ended before tracing");
                Thread.sleep(20); // polling for the attach; nothing is asserted about how long it takes
            }
            injector.process().getOutputStream().write("go\n".getBytes(StandardCharsets.US_ASCII));
            injector.process().getOutputStream().flush();
            assertTrue(injector.process().waitFor(60, TimeUnit.SECONDS));
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the trace did not end with its target");
            assertEquals(ExitCodes.FINDINGS, p.exitValue());
            assertEquals(0x4242, word(target.pid(), target.hex("word")));
            List<JsonNode> alerts = injectorAlerts(java.nio.file.Files.readString(out), target.pid());
            assertEquals(2, alerts.size(), "the open of /proc/PID/mem for writing, then the pwrite64");
            assertTrue(alerts.get(1).get("message").asText().contains("/mem into pid " + target.pid()), alerts.toString());
        }
    }

    @Test
    void knownDebuggersAreNotInjectors(@TempDir Path dir) throws Exception {
        NativeSupport.requireNative();
        // The injector under a debugger's file name (known_debuggers matches the executable's name), and strace.
        Path gdb = dir.resolve("gdb");
        java.nio.file.Files.copy(Victim.directory().resolve("victim_trace_inject"), gdb);
        try (Victim target = Victim.start("victim_trace_evade")) {
            String pid = String.valueOf(target.pid());
            CliIT.Run asGdb = CliIT.jar(List.of(), "trace", "--json", "--", gdb.toString(), "ptrace", pid, target.fact("word"));
            assertEquals(ExitCodes.OK, asGdb.code(), asGdb.out() + asGdb.err());
            assertTrue(asGdb.err().contains("ok=1"), asGdb.err());
            // timeout ends strace; --duration bounds the trace should a child strace forks at start-up
            // outlive it (a trace lasts until every traced process is gone).
            CliIT.Run strace = CliIT.jar(List.of(), "trace", "--json", "--duration", "30s", "--", "timeout", "-s", "INT",
                "3", "strace", "-qq", "-o", "/dev/null", "-e", "trace=none", "-p", pid);
            assertEquals(ExitCodes.OK, strace.code(), strace.out() + strace.err());
            assertTrue(TraceCommandTest.lines(strace.out()).stream().anyMatch(n -> TraceCommandTest.isSyscall(n)
                && n.get("syscall").asText().equals("ptrace")), "strace's attach was seen: " + strace.out());
            Tracees.assertRunningAndUntraced(target);
            // The same program under another name is an injector.
            Path other = dir.resolve("helper");
            java.nio.file.Files.move(gdb, other);
            CliIT.Run asOther = CliIT.jar(List.of(), "trace", "--json", "--", other.toString(), "ptrace", pid, target.fact("word"));
            assertEquals(ExitCodes.FINDINGS, asOther.code(), asOther.err());
            assertEquals(2, injectorAlerts(asOther.out(), target.pid()).size(), asOther.out());
            // The configuration's list and severities are scan's: re-rated, then that name listed.
            Path rerated = dir.resolve("rerated.yaml");
            java.nio.file.Files.writeString(rerated, "heuristics:\n  trace.injector: {severity: low}\n");
            CliIT.Run low = CliIT.jar(List.of(), "trace", "--json", "--config", rerated.toString(), "--", other.toString(),
                "ptrace", pid, target.fact("word"));
            List<JsonNode> lowAlerts = injectorAlerts(low.out(), target.pid());
            assertEquals(2, lowAlerts.size(), low.out());
            assertEquals("low", lowAlerts.get(0).path("memsentry").path("severity").asText());
            Path listed = dir.resolve("listed.yaml");
            java.nio.file.Files.writeString(listed, "known_debuggers: [helper]\n");
            CliIT.Run exempt = CliIT.jar(List.of(), "trace", "--json", "--config", listed.toString(), "--", other.toString(),
                "ptrace", pid, target.fact("word"));
            assertEquals(ExitCodes.OK, exempt.code(), exempt.out() + exempt.err());
            Tracees.assertRunningAndUntraced(target);
        }
    }

    /** The jar tracing a victim, its standard output and error in files. */
    private record Tracing(Process process, Path stdout, Path stderr) {
        List<String> lines() throws java.io.IOException {
            return java.nio.file.Files.readAllLines(stdout);
        }

        String err() throws java.io.IOException {
            return java.nio.file.Files.readString(stderr);
        }
    }

    /**
     * The jar tracing the victim, once its output holds an event (the trace is running). Its output
     * goes to files: the JDK closes a pipe it reaps while another thread still reads it.
     */
    private static Tracing traceUntilFirstEvent(Victim v, Path dir) throws Exception {
        Path stdout = dir.resolve("trace.out");
        Path stderr = dir.resolve("trace.err");
        Process p = new ProcessBuilder(java(), "-jar", System.getProperty("memsentry.jar"), "trace", "--pid",
            String.valueOf(v.pid()), "--json").redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        Tracing t = new Tracing(p, stdout, stderr);
        while (t.lines().stream().noneMatch(l -> l.contains("\"action\":\"syscall\""))) {
            assertTrue(p.isAlive(), "the jar ended before tracing: " + t.err());
            Thread.sleep(50); // polling for the trace to start; nothing is asserted about how long it takes
        }
        return t;
    }

    @Test
    void sigtermToTheOrchestratorDetachesAndLeavesTheVictimRunning(@TempDir Path dir) throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.start("victim_wx_cycle", "3")) {
            Tracing t = traceUntilFirstEvent(v, dir);
            t.process().destroy(); // SIGTERM
            assertTrue(t.process().waitFor(60, TimeUnit.SECONDS), "the jar did not exit after SIGTERM");
            Tracees.assertRunningAndUntraced(v);
            List<String> lines = t.lines();
            JsonNode sum = Json.mapper().readTree(lines.get(lines.size() - 1)).path("memsentry").path("summary");
            assertEquals("stopped", sum.path("ended").asText(), "the summary is written before the JVM goes: "
                + lines.get(lines.size() - 1) + "\nstderr: " + t.err());
            assertEquals("", t.err());
        }
    }

    @Test
    void sigkillToTheOrchestratorLeavesTheVictimRunningAndUntraced(@TempDir Path dir) throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.start("victim_wx_cycle", "3")) {
            Tracing t = traceUntilFirstEvent(v, dir);
            t.process().destroyForcibly(); // SIGKILL: the kernel detaches (no PTRACE_O_EXITKILL in attach mode)
            assertTrue(t.process().waitFor(60, TimeUnit.SECONDS));
            Tracees.assertRunningAndUntraced(v);
        }
    }
}
