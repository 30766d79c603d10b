package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Victim;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * scan through the Python stub (issue 7): with the native library broken, the heuristics still run
 * through the stub, say so once, and find what the native backend finds, except the rules the
 * stub cannot feed, which the summary names with the reason.
 */
class ScanStubIT {
    @TempDir
    Path tmp;

    @BeforeAll
    static void nativeRequired() {
        NativeSupport.requireNative(); // the native scan is the oracle
    }

    /** The jar with MEMSENTRY_NATIVE_LIB pointing at a file that is no shared library. */
    private ScanIT.Scan scanWithBrokenLibrary(String... args) throws Exception {
        Path broken = tmp.resolve("libmemsentry.so");
        Files.writeString(broken, "this is not a shared object");
        List<String> all = new ArrayList<>(List.of("scan", "--json"));
        all.addAll(List.of(args));
        // env(1) sets the variable itself, as a user's shell would.
        return ScanIT.parse(CliIT.run(CliIT.jarCommand(List.of("env", "MEMSENTRY_NATIVE_LIB=" + broken), List.of(),
            all.toArray(String[]::new))));
    }

    private static ScanIT.Scan scanWithStub(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("--backend", "stub", "scan", "--json"));
        all.addAll(List.of(args));
        return ScanIT.parse(CliIT.jar(List.of(), all.toArray(String[]::new)));
    }

    /** rule@region-start of every alert: what two backends must agree on. */
    private static Set<String> found(ScanIT.Scan s) {
        return s.alerts().stream().map(a -> a.at("/rule/id").asText() + "@" + a.at("/memsentry/region/start").asText(""))
            .collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void brokenLibraryScanFindsTheRwxRegionThroughTheStubAndSaysSoOnce() throws Exception {
        try (Victim v = Victim.start("victim_rwx")) {
            ScanIT.Scan s = scanWithBrokenLibrary("--pid", Long.toString(v.pid()));
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            List<String> lines = s.err().strip().lines().toList();
            assertEquals(1, lines.size(), "exactly one line, the fallback warning: " + s.err());
            assertTrue(lines.get(0).startsWith("WARN"), s.err());
            assertTrue(lines.get(0).contains(tmp.resolve("libmemsentry.so").toString()), s.err());
            assertTrue(lines.get(0).contains("Python stub agent"), s.err());

            assertEquals(Set.of("memory.rwx"), s.rules(), s.out());
            JsonNode a = s.alert("memory.rwx");
            assertEquals(v.pid(), a.at("/process/pid").asLong());
            assertEquals(v.hex("rwx"), ScanIT.hex(a.at("/memsentry/region/start")));
            ScanIT.assertRegionHolds(a, v.hex("addr"));
            assertEquals("rwxp", a.at("/memsentry/region/perms").asText());
            assertEquals(64, a.at("/process/hash/sha256").asText().length());

            JsonNode unsupported = s.summary().get("rules_unsupported");
            assertEquals(Set.of("code.patched", "inject.library_runtime", "inject.library_writable"), names(unsupported),
                unsupported.toString());
            assertTrue(unsupported.get("code.patched").asText().contains("stub"), unsupported.toString());
            assertTrue(s.summary().get("yara").asText().startsWith("off"), s.summary().toString());
            assertEquals(1, s.summary().get("processes_scanned").asInt());
        }
    }

    private static Set<String> names(JsonNode object) {
        Set<String> out = new TreeSet<>();
        object.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"victim_shellcode", "victim_rwx", "victim_elf_anon", "victim_memfd_exec",
        "victim_deleted_exe", "victim_preload", "victim_tmpfs_lib", "victim_thread_anon", "victim_plain"})
    void theStubFindsWhatTheNativeBackendFinds(String victim) throws Exception {
        try (Victim v = Victim.start(victim)) {
            ScanIT.Scan viaNative = ScanIT.scan("--pid", Long.toString(v.pid()));
            ScanIT.Scan viaStub = scanWithStub("--pid", Long.toString(v.pid()));
            assertEquals(viaNative.code(), viaStub.code(), viaStub.err());
            // Rules the stub cannot feed (it says which) are left out of the comparison.
            Set<String> skipped = names(viaStub.summary().get("rules_unsupported"));
            Set<String> nativeFound = new TreeSet<>(found(viaNative));
            nativeFound.removeIf(f -> skipped.contains(f.substring(0, f.indexOf('@'))));
            assertEquals(nativeFound, found(viaStub), viaStub.out());
            assertEquals("", viaStub.err(), "a backend that was asked for is no fallback: nothing to warn about");
            for (JsonNode a : viaStub.alerts()) {
                assertEquals(v.pid(), a.at("/process/pid").asLong());
            }
        }
    }

    @Test
    void dumpResponsesThroughTheStubAreRawWithOneWarning() throws Exception {
        String marker = "IT-STUB-DUMP-" + System.nanoTime();
        Path evidence = tmp.resolve("ev");
        try (Victim v = Victim.start("victim_rwx", marker)) {
            ScanIT.Scan s = scanWithStub("--pid", Long.toString(v.pid()), "--respond", "dump", "--evidence-dir",
                evidence.toString());
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            List<String> warnings = s.err().lines().filter(l -> l.startsWith("WARN")).toList();
            assertEquals(1, warnings.size(), s.err());
            assertTrue(warnings.get(0).contains("raw"), s.err());
            JsonNode d = ScanIT.events(s, "dump").get(0);
            assertEquals("success", d.at("/event/outcome").asText(), d.toString());
            assertEquals("raw", d.at("/memsentry/response/format").asText());
            assertEquals(false, d.at("/memsentry/response/frozen").asBoolean());
            Path raw = Path.of(d.at("/memsentry/response/path").asText());
            assertTrue(raw.getFileName().toString().matches("victim_rwx\\." + v.pid() + "\\.\\d{8}T\\d{6}Z\\.raw"),
                raw.toString());
            try (Stream<Path> files = Files.list(evidence)) {
                assertEquals(Set.of(raw, Path.of(raw + ".json")), files.collect(Collectors.toSet()));
            }
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(raw)));

            // The manifest locates the marker's region in the data file.
            long addr = v.hex("addr");
            JsonNode manifest = Json.mapper().readTree(Path.of(raw + ".json").toFile());
            JsonNode region = null;
            for (JsonNode r : manifest.get("regions")) {
                if (Long.compareUnsigned(ScanIT.hex(r.get("start")), addr) <= 0
                    && Long.compareUnsigned(addr, ScanIT.hex(r.get("end"))) < 0) {
                    region = r;
                }
            }
            assertTrue(region != null, manifest.toString());
            byte[] got = new byte[marker.length()];
            try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "r")) {
                f.seek(region.get("file_offset").asLong() + addr - ScanIT.hex(region.get("start")));
                f.readFully(got);
            }
            assertArrayEquals(marker.getBytes(StandardCharsets.US_ASCII), got);
            assertTrue(v.process().isAlive());
        }
    }
}
