package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Tracees;
import dev.memsentry.testing.Victim;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The trace command in-process: parsing, exit codes, the JSON lines. This JVM is the tracer. */
class TraceCommandTest {
    private static void assertOneLine(String text) {
        assertEquals(1, text.strip().lines().count(), "expected exactly one line, got:\n" + text);
        assertFalse(text.contains("Exception") || text.contains("\tat "), "no stack traces: " + text);
    }

    static List<JsonNode> lines(String out) throws Exception {
        List<JsonNode> docs = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.startsWith("{")) {
                docs.add(Json.mapper().readTree(line));
            }
        }
        return docs;
    }

    static boolean isAlert(JsonNode n) {
        return n.path("event").path("kind").asText().equals("alert");
    }

    static boolean isSyscall(JsonNode n) {
        return n.path("event").path("action").asText().equals("syscall");
    }

    static JsonNode summary(List<JsonNode> docs) {
        JsonNode last = docs.get(docs.size() - 1);
        assertEquals("trace-summary", last.path("event").path("action").asText(), last.toString());
        return last.path("memsentry").path("summary");
    }

    @ParameterizedTest
    @ValueSource(strings = {"--pid=abc", "--pid=0", "--duration=5x", "--duration=-1s"})
    void badPidOrDurationIsAUsageErrorOnOneLine(String arg) {
        String[] args = arg.startsWith("--pid") ? new String[] {"trace", arg} : new String[] {"trace", "--pid", "1", arg};
        CliRun r = CliRun.of(args);
        assertEquals(ExitCodes.USAGE, r.exitCode(), r.err());
        assertOneLine(r.err());
        assertEquals("", r.out());
    }

    @Test
    void noTargetOrNoCommandIsAUsageError() {
        for (String[] args : List.of(new String[] {"trace"}, new String[] {"trace", "--json", "--"},
            new String[] {"trace", "--pid", "5", "--", "true"}, new String[] {"trace", "--pid", "5", "--no-seccomp"})) {
            CliRun r = CliRun.of(args);
            assertEquals(ExitCodes.USAGE, r.exitCode(), String.join(" ", args) + ": " + r.err());
            assertOneLine(r.err());
        }
    }

    @Test
    void unknownSyscallNameIsAUsageErrorOnOneLine() throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.startGrandchild("victim_plain")) {
            CliRun r = CliRun.of("trace", "--pid", String.valueOf(v.pid()), "--syscall", "nosuch", "--duration", "1s");
            assertEquals(ExitCodes.USAGE, r.exitCode(), r.err());
            assertOneLine(r.err());
            assertTrue(r.err().contains("nosuch"), r.err());
        }
    }

    @Test
    void listRulesShowsTheTraceRules() throws Exception {
        CliRun r = CliRun.of("trace", "--list-rules", "--json");
        assertEquals(ExitCodes.OK, r.exitCode());
        List<String> ids = lines(r.out()).stream().map(n -> n.get("id").asText()).toList();
        assertEquals(List.of("trace.wx_transition", "trace.map_wx", "trace.anon_exec", "trace.injector",
            "trace.proc_mem_write", "trace.untraced_thread"), ids);
    }

    @Test
    void ownProcessIsRefusedAsProtected() {
        NativeSupport.requireNative();
        long self = ProcessHandle.current().pid();
        CliRun r = CliRun.of("trace", "--pid", String.valueOf(self), "--duration", "1s");
        assertEquals(ExitCodes.FAILED, r.exitCode(), r.err());
        assertOneLine(r.err());
        assertTrue(r.err().startsWith("memsentry: refusing to trace PID " + self + " ("), r.err());
        assertTrue(r.err().strip().endsWith("): protected"), r.err());
    }

    @Test
    void wxVictimGivesEventsAndAnEcsAlertAndExit1(@TempDir Path dir) throws Exception {
        NativeSupport.requireNative();
        Path out = dir.resolve("trace.json");
        try (Victim v = Victim.startGrandchild("victim_wx_cycle", "2")) {
            CliRun r = CliRun.of("trace", "--pid", String.valueOf(v.pid()), "--duration", "1s", "--json", "--out",
                out.toString());
            assertEquals(ExitCodes.FINDINGS, r.exitCode(), r.err());
            List<JsonNode> docs = lines(r.out());
            JsonNode mprotect = docs.stream().filter(n -> isSyscall(n) && n.get("syscall").asText().equals("mprotect"))
                .findFirst().orElseThrow();
            for (String f : List.of("pid", "tid", "syscall", "addr", "len", "prot", "ret", "@timestamp")) {
                assertTrue(mprotect.has(f), f + " in " + mprotect);
            }
            assertEquals(v.pid(), mprotect.get("pid").asLong());
            assertTrue(mprotect.get("addr").asText().startsWith("0x"));
            JsonNode mmap = docs.stream().filter(n -> isSyscall(n) && n.get("syscall").asText().equals("mmap"))
                .findFirst().orElseThrow();
            assertTrue(mmap.has("flags") && mmap.has("fd"), mmap.toString());
            JsonNode alert = docs.stream().filter(TraceCommandTest::isAlert).findFirst().orElseThrow();
            assertEquals("trace.wx_transition", alert.get("rule").get("id").asText());
            assertEquals("Writable memory made executable", alert.get("rule").get("name").asText());
            assertFalse(alert.get("rule").get("description").asText().isBlank());
            assertEquals("T1055", alert.get("threat").get("technique").get("id").get(0).asText());
            assertEquals(73, alert.get("event").get("severity").asInt());
            assertEquals("high", alert.get("memsentry").get("severity").asText());
            assertEquals(v.pid(), alert.get("process").get("pid").asLong());
            assertEquals("victim_wx_cycle", alert.get("process").get("name").asText());
            JsonNode region = alert.get("memsentry").get("region");
            assertEquals("r-xp", region.get("perms").asText());
            assertEquals("anonymous", region.get("kind").asText());
            assertTrue(region.get("start").asText().startsWith("0x") && region.get("end").asText().startsWith("0x"));
            assertEquals("mprotect", alert.get("memsentry").get("syscall").get("syscall").asText());
            assertEquals(region.get("start").asText(), alert.get("memsentry").get("syscall").get("addr").asText());
            JsonNode sum = summary(docs);
            assertEquals("duration", sum.get("ended").asText());
            assertTrue(sum.get("alerts_by_rule").get("trace.wx_transition").asInt() >= 1, sum.toString());
            assertEquals(docs.stream().filter(TraceCommandTest::isSyscall).count(), sum.get("syscalls").asLong());
            // --out holds the same lines, in a 0600 file.
            assertEquals(r.out().strip().lines().filter(l -> l.startsWith("{")).count(), Files.readAllLines(out).size());
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
            Tracees.assertRunningAndUntraced(v);
        }
    }

    @Test
    void benignVictimExits0WithoutAlertsAndTextGoesToStdout() throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.startGrandchild("victim_plain")) {
            CliRun r = CliRun.of("trace", "--pid", String.valueOf(v.pid()), "--duration", "500ms");
            assertEquals(ExitCodes.OK, r.exitCode(), r.out() + r.err());
            assertFalse(r.out().contains("ALERT"), r.out());
            assertTrue(r.err().startsWith("trace of pid " + v.pid() + " ended (duration)"), r.err());
            assertTrue(r.err().contains(" 0 alerts"), r.err());
            Tracees.assertRunningAndUntraced(v);
        }
    }

    @Test
    void alertsOnlyLeavesOutTheEventsAndTextHighlightsAlerts() throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.startGrandchild("victim_wx_cycle", "1")) {
            CliRun r = CliRun.of("trace", "--pid", String.valueOf(v.pid()), "--duration", "500ms", "--alerts-only");
            assertEquals(ExitCodes.FINDINGS, r.exitCode(), r.err());
            assertFalse(r.out().isBlank());
            for (String line : r.out().strip().split("\n")) {
                assertTrue(line.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{6} ALERT high trace\\.wx_transition: mprotect in pid "
                    + v.pid() + " tid \\d+: writable memory made executable at 0x[0-9a-f]+-0x[0-9a-f]+ \\(rw-p -> r-xp\\)"),
                    line);
            }
        }
    }

    @Test
    void aJitRuntimeGetsTheAlertsAtLowSeverity(@TempDir Path dir) throws Exception {
        NativeSupport.requireNative();
        // The configuration names the victim a JIT runtime by its executable, as it could name a real one.
        Path cfg = dir.resolve("jit.yaml");
        Files.writeString(cfg, "jit:\n  runtimes:\n    - name: testjit\n      executables: [victim_wx_cycle]\n");
        try (Victim v = Victim.startGrandchild("victim_wx_cycle", "1")) {
            CliRun r = CliRun.of("trace", "--pid", String.valueOf(v.pid()), "--duration", "500ms", "--json",
                "--alerts-only", "--config", cfg.toString());
            assertEquals(ExitCodes.FINDINGS, r.exitCode(), r.err());
            JsonNode alert = lines(r.out()).stream().filter(TraceCommandTest::isAlert).findFirst().orElseThrow();
            assertEquals("low", alert.get("memsentry").get("severity").asText());
            assertEquals("testjit", alert.get("memsentry").get("details").get("jit_runtime").asText());
        }
    }

    @Test
    void launchModeTracesTheCommandAndReportsItsExitStatus() throws Exception {
        NativeSupport.requireNative();
        String victim = Victim.directory().resolve("victim_wx_cycle").toString();
        CliRun r = CliRun.of("trace", "--json", "--alerts-only", "--", "sh", "-c",
            "exec \"$0\" 1 2 </dev/null >/dev/null; exit 9", victim);
        assertEquals(ExitCodes.FINDINGS, r.exitCode(), r.err());
        JsonNode sum = summary(lines(r.out()));
        assertEquals("launch", sum.get("mode").asText());
        assertEquals("exited", sum.get("ended").asText());
        assertEquals(0, sum.get("command").get("exit_code").asInt(), "the victim's status, not sh's 9: " + sum);
        assertFalse(sum.get("command").get("killed_at_end").asBoolean());
    }

    @Test
    void outRefusesASymbolicLinkOrAnotherUsersFileAndAcceptsDevNull(@TempDir Path dir) throws Exception {
        NativeSupport.requireNative();
        Path target = dir.resolve("real.json");
        Files.writeString(target, "");
        Path link = Files.createSymbolicLink(dir.resolve("link.json"), target);
        try (Victim v = Victim.startGrandchild("victim_plain")) {
            CliRun refused = CliRun.of("trace", "--pid", String.valueOf(v.pid()), "--duration", "100ms", "--out",
                link.toString());
            assertEquals(ExitCodes.USAGE, refused.exitCode(), refused.err());
            assertOneLine(refused.err());
            assertTrue(refused.err().contains("symbolic link"), refused.err());
            assertEquals("", Files.readString(target), "nothing written through the link");
            // A file someone else owns: root would append to a file that user chose.
            Path theirs = Files.writeString(dir.resolve("theirs.json"), "");
            Files.setAttribute(theirs, "unix:uid", 65534);
            CliRun foreign = CliRun.of("trace", "--pid", String.valueOf(v.pid()), "--duration", "100ms", "--out",
                theirs.toString());
            assertEquals(ExitCodes.USAGE, foreign.exitCode(), foreign.err());
            assertOneLine(foreign.err());
            assertTrue(foreign.err().contains("is owned by uid 65534"), foreign.err());
            assertEquals("", Files.readString(theirs));
            CliRun devNull = CliRun.of("trace", "--pid", String.valueOf(v.pid()), "--duration", "100ms", "--out",
                "/dev/null");
            assertEquals(ExitCodes.OK, devNull.exitCode(), devNull.err());
            Tracees.assertRunningAndUntraced(v);
        }
    }
}
