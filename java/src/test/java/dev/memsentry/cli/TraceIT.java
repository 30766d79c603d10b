package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Tracees;
import dev.memsentry.testing.Victim;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

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
        assertTrue(err.startsWith("memsentry: refusing to trace PID 1 (java"), err);
        assertTrue(err.strip().endsWith("): protected"), err);
    }

    @Test
    void stubBackendSaysTracingNeedsTheNativeAgent() throws Exception {
        CliIT.Run r = CliIT.jar(List.of(), "--backend", "stub", "trace", "--pid", String.valueOf(ProcessHandle.current().pid()));
        assertEquals(ExitCodes.FAILED, r.code(), r.err());
        assertTrue(r.err().strip().lines().anyMatch(l -> l.startsWith("memsentry: tracing needs the native agent")), r.err());
    }

    /** The jar tracing a victim, and the thread reading its output to the end. */
    private record Tracing(Process process, Thread drain) {
    }

    /** The jar tracing the victim, once its first event line has been read (the trace is running). */
    private static Tracing traceUntilFirstEvent(Victim v, List<String> seen) throws Exception {
        Process p = new ProcessBuilder(java(), "-jar", System.getProperty("memsentry.jar"), "trace", "--pid",
            String.valueOf(v.pid()), "--json").redirectError(ProcessBuilder.Redirect.DISCARD).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null) {
            seen.add(line);
            if (line.contains("\"action\":\"syscall\"")) {
                break;
            }
        }
        assertTrue(line != null, "the trace printed no event: " + seen);
        Thread drain = new Thread(() -> {
            try {
                String l;
                while ((l = out.readLine()) != null) {
                    synchronized (seen) {
                        seen.add(l);
                    }
                }
            } catch (java.io.IOException ignored) {
                // the process is gone
            }
        });
        drain.start();
        return new Tracing(p, drain);
    }

    @Test
    void sigtermToTheOrchestratorDetachesAndLeavesTheVictimRunning() throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.start("victim_wx_cycle", "3")) {
            List<String> seen = new ArrayList<>();
            Tracing t = traceUntilFirstEvent(v, seen);
            t.process().destroy(); // SIGTERM
            assertTrue(t.process().waitFor(60, TimeUnit.SECONDS), "the jar did not exit after SIGTERM");
            Tracees.assertRunningAndUntraced(v);
            t.drain().join(TimeUnit.SECONDS.toMillis(30));
            synchronized (seen) {
                String last = seen.get(seen.size() - 1);
                JsonNode sum = Json.MAPPER.readTree(last).path("memsentry").path("summary");
                assertEquals("stopped", sum.path("ended").asText(), "the summary is written before the JVM goes: " + last);
            }
        }
    }

    @Test
    void sigkillToTheOrchestratorLeavesTheVictimRunningAndUntraced() throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.start("victim_wx_cycle", "3")) {
            Tracing t = traceUntilFirstEvent(v, new ArrayList<>());
            t.process().destroyForcibly(); // SIGKILL: the kernel detaches (no PTRACE_O_EXITKILL in attach mode)
            assertTrue(t.process().waitFor(60, TimeUnit.SECONDS));
            Tracees.assertRunningAndUntraced(v);
        }
    }
}
