package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.agent.DumpFormat;
import dev.memsentry.agent.Status;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Victim;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.TypeConversionException;

/** The dump command in-process: parsing, usage errors, naming, JSON shape. */
class DumpCommandTest {
    @TempDir
    Path dir;

    private static void assertUsage(CliRun r, String mention) {
        assertEquals(ExitCodes.USAGE, r.exitCode(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(mention), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void pidAndAllAreExclusiveAndOneIsRequired() {
        assertUsage(CliRun.of("dump", "--pid", "1", "--all", "--out-dir", dir.toString()), "mutually exclusive");
        assertUsage(CliRun.of("dump", "--out", "x"), "--all");
    }

    @Test
    void allNeedsAnOutputDirectoryAndNoSingleFile() {
        assertUsage(CliRun.of("dump", "--all"), "--out-dir");
        assertUsage(CliRun.of("dump", "--all", "--out-dir", dir.toString(), "--out", "f"), "--out-dir with --all");
        assertUsage(CliRun.of("dump", "--pid", "1", "--parallel", "2"), "--parallel");
        assertUsage(CliRun.of("dump", "--all", "--out-dir", dir.toString(), "--parallel", "0"), "--parallel");
        assertUsage(CliRun.of("dump", "--pid", "1", "--regions"), "--regions needs --json");
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "-1", "10X", "1.5M", "", "99999999999999999999"})
    void badSizesAreUsageErrors(String size) {
        assertUsage(CliRun.of("dump", "--pid", "1", "--max-region-size", size), "max-region-size");
    }

    @Test
    void badFormatAndPidAreUsageErrors() {
        assertUsage(CliRun.of("dump", "--pid", "1", "--format", "elf"), "--format");
        assertUsage(CliRun.of("dump", "--pid", "abc"), "process id");
        assertUsage(CliRun.of("dump", "--pid", "0"), "process id");
    }

    @ParameterizedTest
    @CsvSource({"0,0", "4096,4096", "512K,524288", "10M,10485760", "10MiB,10485760", "10mb,10485760", "1G,1073741824",
        "2T,2199023255552", "7b,7"})
    void sizesParse(String text, long bytes) {
        assertEquals(bytes, new SizeConverter().convert(text));
    }

    @Test
    void sizeOverflowIsRefused() {
        assertThrows(TypeConversionException.class, () -> new SizeConverter().convert("9000000000000T"));
        assertEquals("10 MiB", SizeConverter.format(10L << 20));
        assertEquals("1000 bytes", SizeConverter.format(1000));
    }

    @Test
    void fileNamesAreSafe() {
        assertEquals("nginx.12.core", DumpCommand.fileName("nginx", 12, DumpFormat.CORE));
        assertEquals("a_b_.._c.7.raw", DumpCommand.fileName("a/b/../c", 7, DumpFormat.RAW));
        assertEquals("process.hidden.3.core", DumpCommand.fileName(".hidden", 3, DumpFormat.CORE));
        assertEquals("process.4.core", DumpCommand.fileName("", 4, DumpFormat.CORE));
        assertEquals(64 + ".9.core".length(), DumpCommand.fileName("x".repeat(300), 9, DumpFormat.CORE).length());
        assertEquals("lsass.640.dmp", DumpCommand.fileName("lsass", 640, DumpFormat.MINIDUMP));
    }

    @Test
    void eachFormatIsWrittenWhereItsAgentWritesIt() {
        assertTrue(DumpFormat.MINIDUMP.writtenOn("Windows Server 2022"));
        assertFalse(DumpFormat.MINIDUMP.writtenOn("Linux"));
        assertTrue(DumpFormat.CORE.writtenOn("Linux"));
        assertFalse(DumpFormat.CORE.writtenOn("Windows 10"));
        assertTrue(DumpFormat.RAW.writtenOn("Linux") && DumpFormat.RAW.writtenOn("Windows 10"));
        DumpCommand.refuseFormatNotWrittenHere(DumpFormat.MINIDUMP, "Windows 11");
        var e = assertThrows(dev.memsentry.agent.AgentException.class,
            () -> DumpCommand.refuseFormatNotWrittenHere(DumpFormat.CORE, "Windows 11"));
        assertEquals(Status.UNSUPPORTED, e.status());
        assertTrue(e.getMessage().contains("raw or minidump"), e.getMessage());
    }

    /** On Linux, with either backend, for one process and for a sweep: one line, exit 3, no file. */
    @ParameterizedTest
    @CsvSource({"native,--pid", "stub,--pid", "native,--all", "stub,--all"})
    void minidumpIsRefusedOnLinuxWithOneLine(String backend, String target) throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.start("victim_marker")) {
            CliRun r = target.equals("--pid")
                ? CliRun.of("--backend", backend, "dump", "--pid", String.valueOf(v.pid()), "--out-dir", dir.toString(),
                    "--format", "minidump")
                : CliRun.of("--backend", backend, "dump", "--all", "--out-dir", dir.toString(), "--format", "MINIDUMP");
            assertEquals(ExitCodes.FAILED, r.exitCode(), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains("--format minidump is written on Windows only"), r.err());
            assertFalse(r.err().contains("Exception"), r.err());
            assertEquals("", r.out());
            try (var left = Files.list(dir)) {
                assertEquals(0, left.count());
            }
        }
    }

    @Test
    void sweepSkipsOnlyTheExpectedFailures() {
        assertEquals("vanished", DumpCommand.skipReason(Status.NO_SUCH_PROCESS));
        assertEquals("access denied", DumpCommand.skipReason(Status.ACCESS_DENIED));
        assertEquals("no user memory", DumpCommand.skipReason(Status.UNSUPPORTED));
        assertEquals(null, DumpCommand.skipReason(Status.IO_ERROR));
        assertEquals(null, DumpCommand.skipReason(Status.NO_SPACE));
        assertEquals(null, DumpCommand.skipReason(Status.EXISTS));
    }

    @Test
    void jsonRecordOfOneDumpWithItsRegions() throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.start("victim_marker")) {
            CliRun r = CliRun.of("dump", "--pid", String.valueOf(v.pid()), "--out-dir", dir.toString(), "--json",
                "--regions", "--format", "raw");
            assertEquals(0, r.exitCode(), r.err());
            String[] lines = r.out().strip().split("\n");
            JsonNode last = Json.mapper().readTree(lines[lines.length - 1]);
            assertEquals("dumped", last.get("status").asText());
            assertEquals(v.pid(), last.get("pid").asLong());
            assertEquals("raw", last.get("format").asText());
            Path file = Path.of(last.get("file").asText());
            assertEquals(dir.resolve("victim_marker." + v.pid() + ".raw"), file);
            assertEquals(Files.size(file), last.get("file_size").asLong());
            assertEquals(last.get("regions").asInt(), lines.length - 1, "one record per region before the summary");
            JsonNode region = Json.mapper().readTree(lines[0]);
            for (String key : new String[] {"start", "end", "perms", "kind", "path", "file_offset", "bytes", "bytes_read",
                "bytes_from_file", "bytes_hole", "status"}) {
                assertTrue(region.has(key), key + " in " + region);
            }
            assertTrue(region.get("start").asText().startsWith("0x"));
        }
    }
}
