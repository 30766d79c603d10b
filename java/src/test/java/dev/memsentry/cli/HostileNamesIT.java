package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Victim;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A target that attacks the terminal through its names (victim_hostile_names): a command line and
 * a process name holding a newline and ANSI/OSC sequences, a mapped file named to clear the screen
 * and reverse the text after it. Every table and line the jar prints about it holds no raw control
 * character, only their escapes.
 */
class HostileNamesIT {
    @TempDir
    Path dir;

    @BeforeAll
    static void nativeRequired() {
        NativeSupport.requireNative();
    }

    /** Fails on any C0 control but the line ends, DEL, C1 control or bidirectional override. */
    private static void assertNoRawControls(String what, String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean raw = (c < 0x20 && c != '\n') || (c >= 0x7f && c <= 0x9f) || (c >= '\u202a' && c <= '\u202e')
                || (c >= '\u2066' && c <= '\u2069');
            if (raw) {
                fail(what + ": raw U+" + String.format("%04X", (int) c) + " at " + i + " in:\n" + text);
            }
        }
    }

    private static CliIT.Run jar(String... args) throws Exception {
        CliIT.Run r = CliIT.jar(List.of(), args);
        assertNoRawControls(String.join(" ", args) + " (stdout)", r.out());
        assertNoRawControls(String.join(" ", args) + " (stderr)", r.err());
        return r;
    }

    @Test
    void regionsScanKillAndDumpPrintOnlyEscapes() throws Exception {
        try (Victim v = Victim.start("victim_hostile_names", dir.toString())) {
            String pid = String.valueOf(v.pid());
            CliIT.Run regions = jar("regions", "--pid", pid);
            assertEquals(0, regions.code(), regions.err());
            assertTrue(regions.out().contains(dir + "/esc\\x1b[2J\\x1b[H\\u202e"), regions.out());
            assertTrue(regions.out().contains(dir + "/name\\xff"), "the byte 0xff: " + regions.out());
            assertTrue(regions.out().contains(dir + "/name\u00ff"), "the character U+00FF: " + regions.out());
            assertTrue(regions.out().contains(dir + "/name\\\\xff"), "the text \\xff: " + regions.out());

            CliIT.Run scan = jar("scan", "--pid", pid);
            assertEquals(ExitCodes.FINDINGS, scan.code(), scan.err());
            assertTrue(scan.out().contains("\\x1b[2J"), scan.out());

            CliIT.Run kill = jar("kill", "--pid", pid, "--dry-run");
            assertEquals(0, kill.code(), kill.err());
            assertTrue(kill.out().startsWith("pid " + pid + ": would-terminate"), kill.out());

            CliIT.Run dump = jar("dump", "--pid", pid, "--out", dir.resolve("d.core").toString());
            assertEquals(0, dump.code(), dump.err());
            assertTrue(dump.out().contains("\\x0a\\x1b[2J"), "the name, escaped: " + dump.out());
        }
    }

    @Test
    void aWarningThatNamesTheProcessIsOneEscapedLogLine() throws Exception {
        // Another tracer (strace) holds the target: dump --freeze dumps it running and says so in
        // a WARN that names it, and that name must not forge a second log line.
        try (Victim v = Victim.start("victim_hostile_names", dir.toString());
             ScanIT.Started strace = new ScanIT.Started("strace", "-o", "/dev/null", "-p", String.valueOf(v.pid()))) {
            ScanIT.waitForTracer(v.pid());
            assertTrue(strace.pid() > 0);
            CliIT.Run dump = jar("dump", "--pid", String.valueOf(v.pid()), "--freeze", "--out",
                dir.resolve("t.core").toString());
            assertEquals(0, dump.code(), dump.err());
            List<String> warnings = dump.err().lines().toList();
            assertEquals(1, warnings.size(), dump.err());
            assertTrue(warnings.get(0).startsWith("WARN pid " + v.pid() + " (n\\x0a\\x1b[2J\\x1b]0;t\\x07): cannot freeze it"),
                warnings.get(0));
        }
    }

    @Test
    void psTableHoldsOneRowPerProcessAndNoRawControls() throws Exception {
        // ps lists every process: in a PID namespace of its own, holding the victim and the jar only.
        String victim = Victim.directory().resolve("victim_hostile_names").toString();
        List<String> cmd = CliIT.jarCommand(List.of("unshare", "--pid", "--fork", "--mount-proc", "sh", "-c",
            "sleep 60 | \"$0\" \"$1\" > \"$1/ready\" & while ! grep -q READY \"$1/ready\" 2>/dev/null; do sleep 0.05; done; "
                + "shift; exec \"$@\"", victim, dir.toString()), List.of(), "ps");
        CliIT.Run ps = CliIT.run(cmd);
        assertEquals(0, ps.code(), ps.err());
        assertNoRawControls("ps", ps.out());
        assertNoRawControls("ps (stderr)", ps.err());
        List<String> evil = ps.out().lines().filter(l -> l.contains("FORGED ROW")).toList();
        assertEquals(1, evil.size(), ps.out());
        assertTrue(evil.get(0).contains("n\\x0a\\x1b[2J\\x1b]0;t\\x07"), "the name: " + evil.get(0));
        assertTrue(evil.get(0).contains("evil\\x0a\\x1b[31mFORGED ROW\\x1b]0;pwned\\x07\\x1b[2J"),
            "the command line: " + evil.get(0));
    }
}
