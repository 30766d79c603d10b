package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Victim;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.TypeConversionException;

/** The kill command in-process: parsing, exit codes, JSON shape. This JVM is the "calling process". */
class KillCommandTest {
    private static void assertOneLine(String text) {
        assertEquals(1, text.strip().lines().count(), "expected exactly one line, got:\n" + text);
        assertFalse(text.contains("Exception") || text.contains("\tat "), "no stack traces: " + text);
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "-1s", "5x", "", "1.0001s", "0.5ms", "2h", "61m"})
    void badGraceIsAUsageErrorOnOneLine(String grace) {
        CliRun r = CliRun.of("kill", "--pid", "12345", "--grace", grace, "--dry-run");
        assertEquals(ExitCodes.USAGE, r.exitCode(), r.err());
        assertOneLine(r.err());
        assertTrue(r.err().contains("grace"), r.err());
        assertEquals("", r.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "-1", "0", "99999999999"})
    void badPidIsAUsageError(String pid) {
        CliRun r = CliRun.of("kill", "--pid", pid);
        assertEquals(ExitCodes.USAGE, r.exitCode(), r.err());
        assertOneLine(r.err());
    }

    @Test
    void durationsParse() {
        DurationConverter c = new DurationConverter();
        assertEquals(Duration.ofSeconds(5), c.convert("5s"));
        assertEquals(Duration.ofSeconds(5), c.convert("5"));
        assertEquals(Duration.ofMillis(250), c.convert("250ms"));
        assertEquals(Duration.ofMillis(1500), c.convert("1.5s"));
        assertEquals(Duration.ofMinutes(2), c.convert("2m"));
        assertEquals(Duration.ZERO, c.convert("0"));
        assertThrows(TypeConversionException.class, () -> c.convert("1.5ms"));
        assertThrows(TypeConversionException.class, () -> c.convert("s"));
    }

    @Test
    void killingOwnProcessIsRefusedWithExit3() throws Exception {
        NativeSupport.requireNative();
        long self = ProcessHandle.current().pid();
        CliRun r = CliRun.of("kill", "--pid", String.valueOf(self), "--grace", "0", "--json");
        assertEquals(ExitCodes.FAILED, r.exitCode(), r.out() + r.err());
        JsonNode n = Json.mapper().readTree(r.out());
        assertEquals(self, n.get("pid").asLong());
        assertEquals("refused", n.get("result").asText());
        assertEquals("self", n.get("protection").asText());
        assertTrue(n.get("signals").isArray() && n.get("signals").isEmpty(), n.toString());
        assertTrue(n.has("elapsed_ms"), n.toString());
        // Dropping the default list never drops the built-in rules.
        CliRun bare = CliRun.of("kill", "--pid", String.valueOf(self), "--no-default-protect", "--dry-run");
        assertEquals(ExitCodes.FAILED, bare.exitCode());
        assertTrue(bare.out().startsWith("pid " + self + ": refused (nothing sent;"), bare.out());
    }

    @Test
    void dryRunReportsWouldTerminateAndLeavesTheVictim() throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.start("victim_ignore_term")) {
            CliRun r = CliRun.of("kill", "--pid", String.valueOf(v.pid()), "--dry-run", "--json");
            assertEquals(ExitCodes.OK, r.exitCode(), r.out() + r.err());
            JsonNode n = Json.mapper().readTree(r.out());
            assertEquals("would-terminate", n.get("result").asText());
            assertTrue(n.get("dry_run").asBoolean());
            assertEquals(5000, n.get("grace_ms").asLong());
            assertTrue(v.process().isAlive());
        }
    }

    @Test
    void protectOptionRefusesByPathAndANameOnlyForTheSystemsFile() throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.start("victim_ignore_term")) {
            String exe = Victim.directory().resolve("victim_ignore_term").toString();
            CliRun r = CliRun.of("kill", "--pid", String.valueOf(v.pid()), "--protect", exe, "--json");
            assertEquals(ExitCodes.FAILED, r.exitCode(), r.out() + r.err());
            JsonNode n = Json.mapper().readTree(r.out());
            assertEquals("refused", n.get("result").asText());
            assertEquals("path", n.get("protection").asText());
            assertTrue(v.process().isAlive());
            // Its name is not a system binary's: it protects nothing here.
            CliRun byName = CliRun.of("kill", "--pid", String.valueOf(v.pid()), "--protect", "victim_ignore_term",
                "--dry-run", "--json");
            assertEquals(ExitCodes.OK, byName.exitCode(), byName.out() + byName.err());
            assertEquals("would-terminate", Json.mapper().readTree(byName.out()).get("result").asText());
            CliRun bad = CliRun.of("kill", "--pid", String.valueOf(v.pid()), "--protect", "", "--dry-run");
            assertEquals(ExitCodes.USAGE, bad.exitCode(), bad.err());
            assertOneLine(bad.err());
        }
    }
}
