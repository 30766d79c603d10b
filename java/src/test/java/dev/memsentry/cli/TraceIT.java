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
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("READY pid=")), "the command shares stdout: " + r.out());
        List<JsonNode> docs = TraceCommandTest.lines(r.out());
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
            JsonNode sum = Json.MAPPER.readTree(lines.get(lines.size() - 1)).path("memsentry").path("summary");
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
