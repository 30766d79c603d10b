package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Victim;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MainTest {
    private static void assertOneLine(String text) {
        assertEquals(1, text.strip().lines().count(), "expected exactly one line, got:\n" + text);
        assertFalse(text.contains("Exception") || text.contains("\tat "), "no stack traces: " + text);
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "-1", "0", "1.5", "99999999999", "", "0x10"})
    void badPidIsAUsageErrorOnOneLine(String pid) {
        CliRun r = CliRun.of("regions", "--pid", pid);
        assertEquals(ExitCodes.USAGE, r.exitCode(), r.err());
        assertOneLine(r.err());
        assertTrue(r.err().contains("--pid"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void missingRequiredOptionUnknownCommandAndNoCommandAreUsageErrors() {
        for (String[] args : List.of(new String[] {"regions"}, new String[] {"frobnicate"}, new String[] {},
            new String[] {"ps", "--no-such-option"}, new String[] {"--backend", "bogus", "ps"})) {
            CliRun r = CliRun.of(args);
            assertEquals(ExitCodes.USAGE, r.exitCode(), String.join(" ", args) + ": " + r.err());
            assertOneLine(r.err());
        }
    }

    @Test
    void helpAndVersionSucceed() {
        CliRun help = CliRun.of("--help");
        assertEquals(0, help.exitCode());
        assertTrue(help.out().contains("Exit codes:"), help.out());
        assertTrue(help.out().contains("regions"), help.out());
        CliRun regionsHelp = CliRun.of("regions", "--help");
        assertEquals(0, regionsHelp.exitCode());
        assertTrue(regionsHelp.out().contains("--pid"));
        CliRun version = CliRun.of("--version");
        assertEquals(0, version.exitCode());
        assertTrue(version.out().startsWith("memsentry "), version.out());
    }

    @Test
    void pidThatDoesNotExistFailsWithExitCode3OnOneLine() {
        NativeSupport.requireNative();
        CliRun r = CliRun.of("regions", "--pid", String.valueOf(Integer.MAX_VALUE));
        assertEquals(ExitCodes.FAILED, r.exitCode(), r.err());
        assertOneLine(r.err());
        assertTrue(r.err().contains("no such process"), r.err());
    }

    private static List<JsonNode> jsonLines(String out) throws Exception {
        List<JsonNode> nodes = new ArrayList<>();
        for (String line : out.split("\n")) {
            assertFalse(line.isBlank(), "no blank lines between JSON records");
            nodes.add(Json.mapper().readTree(line));
        }
        return nodes;
    }

    @Test
    void regionsJsonHasTheDocumentedShapeAndHoldsTheMarker() throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.start("victim_marker")) {
            CliRun r = CliRun.of("regions", "--pid", String.valueOf(v.pid()), "--json");
            assertEquals(0, r.exitCode(), r.err());
            long addr = v.hex("addr");
            boolean found = false;
            for (JsonNode n : jsonLines(r.out())) {
                for (String field : List.of("pid", "start", "end", "perms", "offset", "inode", "path", "kind")) {
                    assertTrue(n.has(field), "missing " + field + " in " + n);
                }
                assertTrue(n.get("start").asText().matches("0x[0-9a-f]+"), n.toString());
                assertTrue(n.get("end").asText().matches("0x[0-9a-f]+"), n.toString());
                assertTrue(n.get("perms").asText().matches("[r-][w-][x-][ps]"), n.toString());
                long start = Long.parseUnsignedLong(n.get("start").asText().substring(2), 16);
                long end = Long.parseUnsignedLong(n.get("end").asText().substring(2), 16);
                if (Long.compareUnsigned(start, addr) <= 0 && Long.compareUnsigned(addr, end) < 0) {
                    found = true;
                    assertEquals("anonymous", n.get("kind").asText());
                }
            }
            assertTrue(found, "no region holds the victim's marker address");
        }
    }

    @Test
    void doctorReportsTheNativeBackend() throws Exception {
        NativeSupport.requireNative();
        CliRun r = CliRun.of("doctor", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode d = Json.mapper().readTree(r.out());
        assertEquals("native", d.get("backend").asText());
        assertTrue(d.get("capabilities").get("memory_read").get("available").asBoolean(), d.toString());
        // A real trace of a launched 'true': its loader maps memory, so the tracer saw syscalls.
        JsonNode trace = d.get("capabilities").get("trace");
        assertTrue(trace.get("available").asBoolean(), trace.toString());
        assertTrue(trace.get("check").asText().matches("ok \\(traced 'true': [1-9][0-9]* memory syscalls, .*"),
            trace.toString());
    }

    @Test
    void doctorsCapabilityMatrixKeepsEveryNameApartFromItsColumns() {
        NativeSupport.requireNative();
        CliRun r = CliRun.of("doctor");
        assertEquals(0, r.exitCode(), r.err());
        List<String> lines = r.out().lines().toList();
        int from = -1;
        int to = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).strip().startsWith("capability matrix")) {
                from = i + 1;
            } else if (from >= 0 && to < 0 && lines.get(i).strip().startsWith("capabilities of the")) {
                to = i;
            }
        }
        assertTrue(from > 0 && to > from, r.out());
        int rows = 0;
        for (String line : lines.subList(from, to)) {
            for (dev.memsentry.agent.Capability c : dev.memsentry.agent.Capability.values()) {
                String body = line.strip();
                if (body.startsWith(c.description() + " ")) {
                    // The name is followed by at least two spaces, then the backends' "yes" / "-" columns.
                    String rest = body.substring(c.description().length());
                    assertTrue(rest.matches(" {2,}(yes|-)( +(yes|-))*"), "row runs into its columns: '" + line + "'");
                    rows++;
                }
            }
        }
        assertTrue(rows >= dev.memsentry.agent.Capability.values().length, r.out());
    }

    @Test
    void onlyTheInvokedCommandIsBuiltAndHelpStillListsEveryCommand() {
        assertEquals("scan", Main.neededCommand(new String[] {"--backend", "stub", "-v", "scan", "--all"}));
        assertEquals("ps", Main.neededCommand(new String[] {"--backend=native", "ps"}));
        assertEquals("", Main.neededCommand(new String[] {"--version"}));
        for (String[] all : List.of(new String[] {}, new String[] {"--help"}, new String[] {"help", "scan"},
            new String[] {"frobnicate"}, new String[] {"--no-such-option", "ps"})) {
            assertEquals(null, Main.neededCommand(all), String.join(" ", all));
        }
        assertEquals(1, Main.commandLine(new Main(), new String[] {"dump", "--pid", "1"}).getSubcommands().size());
        CliRun help = CliRun.of("--help");
        for (String command : Main.COMMANDS) {
            if (!command.equals("generate-completion")) {
                assertTrue(help.out().contains("  " + command + " "), command + " missing from --help:\n" + help.out());
            }
        }
        CliRun helpScan = CliRun.of("help", "scan");
        assertEquals(0, helpScan.exitCode(), helpScan.err());
        assertTrue(helpScan.out().contains("--evidence-dir"), helpScan.out());
    }
}
