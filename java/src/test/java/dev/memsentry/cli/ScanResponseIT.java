package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.ElfCore;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Tracees;
import dev.memsentry.testing.Victim;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scan --respond dump and dump-kill end to end: the evidence the agent writes (read back by
 * gdb and by the tests' own core reader), the order of the actions, protection, thresholds and
 * evidence directories that must be refused.
 */
class ScanResponseIT {
    @TempDir
    Path tmp;

    @BeforeAll
    static void nativeRequired() {
        NativeSupport.requireNative();
    }

    private static List<Path> files(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    /** Every JSON line of the run in output order. */
    private static List<JsonNode> lines(ScanIT.Scan s) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : s.out().split("\n")) {
            if (!line.isBlank()) {
                out.add(Json.mapper().readTree(line));
            }
        }
        return out;
    }

    private static String gdb(String exe, Path core, long addr) throws Exception {
        Process p = new ProcessBuilder("gdb", "-nx", "-batch", exe, "-c", core.toString(), "-ex",
            "x/s 0x" + Long.toHexString(addr)).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "gdb did not finish");
        return out;
    }

    @Test
    void dumpWritesOnePrivateCoreHoldingTheImplantAndLeavesTheVictimRunning() throws Exception {
        String marker = "IT-RESPOND-" + System.nanoTime();
        Path evidence = tmp.resolve("evidence");
        try (Victim v = Victim.start("victim_rwx", marker)) {
            ScanIT.Scan s = ScanIT.scan("--pid", Long.toString(v.pid()), "--respond", "dump", "--evidence-dir",
                evidence.toString());
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(evidence)),
                "the evidence directory is created private");
            List<Path> written = files(evidence);
            assertEquals(1, written.size(), written.toString());
            Path core = written.get(0);
            assertTrue(core.getFileName().toString().matches("victim_rwx\\." + v.pid() + "\\.\\d{8}T\\d{6}Z\\.core"),
                core.toString());
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(core)));

            try (ElfCore elf = new ElfCore(core)) {
                assertArrayEquals(marker.getBytes(StandardCharsets.US_ASCII), elf.at(v.hex("addr"), marker.length()),
                    "the core holds the marker at the address the victim printed");
                assertTrue(elf.noteCount() > 0, "notes: the frozen threads' registers");
            }
            String exe = Victim.directory().resolve("victim_rwx").toString();
            assertTrue(gdb(exe, core, v.hex("addr")).contains("\"" + marker + "\""), "gdb reads the marker too");

            List<JsonNode> dumps = ScanIT.events(s, "dump");
            assertEquals(1, dumps.size(), s.out());
            JsonNode d = dumps.get(0);
            assertEquals("success", d.at("/event/outcome").asText());
            assertEquals(v.pid(), d.at("/process/pid").asLong());
            assertEquals(core.toString(), d.at("/memsentry/response/path").asText());
            assertEquals(core.toString(), d.at("/file/path").asText());
            assertEquals("core", d.at("/memsentry/response/format").asText());
            assertEquals("ok", d.at("/memsentry/response/status").asText());
            assertEquals(Files.size(core), d.at("/memsentry/response/bytes").asLong());
            assertTrue(d.at("/memsentry/response/regions").asInt() > 0, d.toString());
            assertTrue(d.at("/memsentry/response/frozen").asBoolean(), d.toString());
            assertTrue(d.at("/memsentry/response/duration_ms").isIntegralNumber(), d.toString());
            assertEquals("memory.rwx", d.at("/memsentry/response/trigger_rules/0").asText());
            assertEquals(1, s.summary().at("/responses/dump written").asInt(), s.summary().toString());

            assertTrue(v.process().isAlive(), "dump leaves the victim running");
            assertEquals("0", NativeDumpTestAccess.status(v.pid(), "TracerPid"), "and untraced");
            assertFalse(NativeDumpTestAccess.status(v.pid(), "State").startsWith("t"), "and not stopped");
        }
    }

    @Test
    void aTargetThatCannotBeFrozenIsDumpedRunningWithTheReasonInTheEvent() throws Exception {
        String marker = "IT-VFORK-" + System.nanoTime();
        Path evidence = tmp.resolve("evidence");
        try (Victim v = Victim.start("victim_vfork_stuck", "4", marker)) {
            ScanIT.Scan s = ScanIT.scan("--pid", Long.toString(v.pid()), "--respond", "dump", "--respond-min", "low",
                "--evidence-dir", evidence.toString());
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            List<JsonNode> dumps = ScanIT.events(s, "dump");
            assertEquals(1, dumps.size(), s.out());
            JsonNode d = dumps.get(0);
            assertEquals("success", d.at("/event/outcome").asText(), d.toString());
            assertFalse(d.at("/memsentry/response/frozen").asBoolean(), d.toString());
            assertTrue(d.at("/memsentry/response/freeze_failed").asText().contains("uninterruptible sleep"),
                d.toString());
            List<Path> written = files(evidence);
            assertEquals(1, written.size(), written.toString());
            try (ElfCore elf = new ElfCore(written.get(0))) {
                assertArrayEquals(marker.getBytes(StandardCharsets.US_ASCII), elf.at(v.hex("addr"), marker.length()));
            }
            Tracees.assertRunningAndUntraced(v);
        }
    }

    @Test
    void dumpKillDumpsFirstThenKills() throws Exception {
        Path evidence = tmp.resolve("ev");
        try (Victim v = Victim.start("victim_shellcode")) {
            ScanIT.Scan s = ScanIT.scan("--pid", Long.toString(v.pid()), "--respond", "dump-kill", "--evidence-dir",
                evidence.toString(), "--respond-grace", "2s");
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            List<String> actions = lines(s).stream().filter(n -> n.at("/event/kind").asText().equals("event"))
                .map(n -> n.at("/event/action").asText()).toList();
            assertEquals(List.of("dump", "kill", "scan-summary"), actions, "dump first, then kill");
            assertEquals(1, files(evidence).size());
            JsonNode dump = ScanIT.events(s, "dump").get(0);
            assertEquals("success", dump.at("/event/outcome").asText());
            try (ElfCore elf = new ElfCore(files(evidence).get(0))) {
                assertNotNull(elf.loadAt(v.hex("addr")), "the shellcode's region is in the core");
            }
            JsonNode kill = ScanIT.events(s, "kill").get(0);
            assertEquals("success", kill.at("/event/outcome").asText());
            assertTrue(v.process().waitFor(10, TimeUnit.SECONDS), "the victim is gone");
            assertEquals(1, s.summary().at("/responses/dump written").asInt(), s.summary().toString());
            assertEquals(1, s.summary().at("/responses/kill terminated").asInt(), s.summary().toString());
        }
    }

    @Test
    void aFailedDumpIsAFailedEventAndTheKillStillHappens() throws Exception {
        Path evidence = Files.createDirectory(tmp.resolve("taken"));
        try (Victim v = Victim.start("victim_shellcode")) {
            // Every name the dump could pick in the next two minutes exists: the agent never replaces evidence.
            DateTimeFormatter stamp = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
            Instant now = Instant.now();
            String name = NativeDumpTestAccess.status(v.pid(), "Name"); // the kernel's 15-character comm
            for (int sec = -2; sec < 120; sec++) {
                Files.writeString(evidence.resolve(name + "." + v.pid() + "." + stamp.format(now.plusSeconds(sec))
                    + ".core"), "earlier evidence");
            }
            int before = files(evidence).size();
            ScanIT.Scan s = ScanIT.scan("--pid", Long.toString(v.pid()), "--respond", "dump-kill", "--evidence-dir",
                evidence.toString(), "--respond-grace", "2s");
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            JsonNode dump = ScanIT.events(s, "dump").get(0);
            assertEquals("failure", dump.at("/event/outcome").asText());
            assertEquals("exists", dump.at("/memsentry/response/status").asText(), dump.toString());
            assertTrue(s.err().contains("WARN dump pid " + v.pid()), s.err());
            assertFalse(s.err().contains("\tat "), "no stack trace");
            assertEquals(before, files(evidence).size(), "nothing replaced, nothing added");
            for (Path f : files(evidence)) {
                assertEquals("earlier evidence", Files.readString(f));
            }
            assertEquals("success", ScanIT.events(s, "kill").get(0).at("/event/outcome").asText());
            assertTrue(v.process().waitFor(10, TimeUnit.SECONDS), "containment does not wait for evidence");
            assertEquals(1, s.summary().at("/responses/dump failed").asInt(), s.summary().toString());
        }
    }

    @Test
    void aProtectedProcessIsDumpedButNotKilled() throws Exception {
        Path evidence = tmp.resolve("ev");
        Path cfg = tmp.resolve("c.yaml");
        Files.writeString(cfg, "protected: [" + Victim.directory().resolve("victim_rwx")
            + "]\nresponse:\n  action: dump-kill\n  min_severity: medium\n"
            + "  evidence_dir: ev\n  dump_format: raw\n  max_region_size: 64K\n");
        try (Victim v = Victim.start("victim_rwx")) {
            ScanIT.Scan s = ScanIT.scan("--pid", Long.toString(v.pid()), "--config", cfg.toString());
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            JsonNode dump = ScanIT.events(s, "dump").get(0);
            assertEquals("success", dump.at("/event/outcome").asText());
            assertEquals("raw", dump.at("/memsentry/response/format").asText());
            assertEquals(65536, dump.at("/memsentry/response/max_region_size").asLong());
            Path raw = Path.of(dump.at("/memsentry/response/path").asText());
            assertEquals(evidence, raw.getParent(), "evidence_dir is relative to the configuration file");
            assertTrue(raw.getFileName().toString().endsWith(".raw"), raw.toString());
            assertTrue(Files.isRegularFile(Path.of(raw + ".json")), "the raw manifest");
            JsonNode kill = ScanIT.events(s, "kill").get(0);
            assertEquals("failure", kill.at("/event/outcome").asText());
            assertEquals("refused", kill.at("/memsentry/response/result").asText());
            assertTrue(s.err().contains("WARN kill pid " + v.pid()), s.err());
            assertTrue(v.process().isAlive(), "a protected process is never terminated");
        }
    }

    @Test
    void anImplantCopiedToSshdIsKilledForItIsNotTheSystemsSshd() throws Exception {
        // "sshd" is on the default list; it protects the file at /usr/sbin/sshd, not any file named sshd.
        Path fake = Files.copy(Victim.directory().resolve("victim_shellcode"), tmp.resolve("sshd"));
        Files.setPosixFilePermissions(fake, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        try (Victim v = Victim.startExecutable(fake)) {
            ScanIT.Scan s = ScanIT.scan("--pid", Long.toString(v.pid()), "--respond", "kill", "--respond-grace", "2s");
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            JsonNode kill = ScanIT.events(s, "kill").get(0);
            assertEquals("success", kill.at("/event/outcome").asText(), kill.toString());
            assertEquals("none", kill.at("/memsentry/response/protection").asText(), kill.toString());
            assertTrue(v.process().waitFor(10, TimeUnit.SECONDS), "the masquerading implant is gone");
        }
    }

    @Test
    void belowTheResponseMinimumNothingIsDumped() throws Exception {
        Path evidence = tmp.resolve("ev");
        try (Victim v = Victim.start("victim_shellcode")) {
            ScanIT.Scan s = ScanIT.scan("--pid", Long.toString(v.pid()), "--respond", "dump-kill", "--respond-min",
                "critical", "--evidence-dir", evidence.toString());
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            assertEquals(List.of("memory.exec_anonymous"), s.alerts().stream().map(a -> a.at("/rule/id").asText()).toList());
            assertTrue(ScanIT.events(s, "dump").isEmpty() && ScanIT.events(s, "kill").isEmpty(), s.out());
            assertEquals(List.of(), files(evidence));
            assertTrue(s.summary().at("/responses").isEmpty(), s.summary().toString());
            assertTrue(v.process().isAlive());
        }
    }

    @Test
    void anEvidenceDirectoryAnotherUserMadeOrMayWriteIsRefused() throws Exception {
        // Pre-created by another user (0755: only that user writes there), and one the group may write.
        Path foreign = Files.createDirectory(tmp.resolve("foreign"));
        Files.setAttribute(foreign, "unix:uid", 65534);
        Files.setPosixFilePermissions(foreign, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path shared = Files.createDirectory(tmp.resolve("shared"));
        Files.setPosixFilePermissions(shared, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwx---"));
        try (Victim v = Victim.start("victim_shellcode")) {
            for (Path bad : List.of(foreign, shared)) {
                CliIT.Run r = CliIT.jar(List.of(), "scan", "--pid", Long.toString(v.pid()), "--respond", "dump",
                    "--evidence-dir", bad.toString());
                assertEquals(ExitCodes.USAGE, r.code(), r.err());
                assertEquals(1, r.err().strip().lines().count(), r.err());
                assertTrue(r.err().startsWith("memsentry: evidence directory: " + bad + (bad == foreign
                    ? " is owned by uid 65534, not by the running user" : " is writable by group or others")), r.err());
                assertEquals("", r.out(), "nothing is scanned");
                assertEquals(List.of(), files(bad));
            }
            assertTrue(v.process().isAlive());
        }
    }

    @Test
    void anEvidenceDirectoryThatIsALinkAFileOrReadOnlyIsRefused() throws Exception {
        Path real = Files.createDirectory(tmp.resolve("real"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), real);
        Path file = Files.writeString(tmp.resolve("file"), "x");
        try (Victim v = Victim.start("victim_shellcode")) {
            for (Path bad : List.of(link, file)) {
                CliIT.Run r = CliIT.jar(List.of(), "scan", "--pid", Long.toString(v.pid()), "--respond", "dump",
                    "--evidence-dir", bad.toString());
                assertEquals(ExitCodes.USAGE, r.code(), r.err());
                assertEquals(1, r.err().strip().lines().count(), r.err());
                assertTrue(r.err().startsWith("memsentry: evidence directory: " + bad + " is "), r.err());
                assertEquals("", r.out(), "nothing is scanned");
            }
            assertEquals(List.of(), files(real), "nothing written through the link");
            // Read-only in a mount namespace of its own: not writable even for root.
            CliIT.Run ro = CliIT.run(CliIT.jarCommand(List.of("unshare", "--mount", "sh", "-c",
                "mount --bind -o ro \"$0\" \"$0\" && exec \"$@\"", real.toString()), List.of(), "scan", "--pid",
                Long.toString(v.pid()), "--respond", "dump", "--evidence-dir", real.toString()));
            assertEquals(ExitCodes.USAGE, ro.code(), ro.err());
            assertEquals("memsentry: evidence directory: " + real + " is not writable", ro.err().strip());
            CliIT.Run misplaced = CliIT.jar(List.of(), "scan", "--pid", Long.toString(v.pid()), "--evidence-dir",
                real.toString());
            assertEquals(ExitCodes.USAGE, misplaced.code(), misplaced.err());
            assertTrue(v.process().isAlive());
        }
    }
}
