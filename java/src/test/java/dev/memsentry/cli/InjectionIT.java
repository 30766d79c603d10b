package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Victim;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Techniques of public injection tools, done for real by the test against victims it started: a
 * library injected over ptrace (the test's own injector, helpers/inject_dlopen, calls dlopen inside
 * the victim and detaches), a process that replaced its image with an anonymous ELF, and a YARA
 * marker in both a heap copy and the injected image.
 */
class InjectionIT {
    @BeforeAll
    static void nativeRequired() {
        NativeSupport.requireNative();
    }

    private static Path helper(String name) {
        return Victim.directory().resolveSibling("helpers").resolve(name);
    }

    /** Makes pid dlopen library over ptrace and checks that the library's constructor ran in it. */
    static void inject(long pid, Path library) throws Exception {
        Process p = new ProcessBuilder(helper("inject_dlopen").toString(), Long.toString(pid), library.toString())
            .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), out);
        assumeTrue(p.exitValue() != 77, "the injector runs on x86-64 only");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.startsWith("INJECTED handle=0x"), out);
        Path ran = Path.of(library + ".ran");
        assertEquals(Long.toString(pid), Files.readString(ran).strip(), "the library's constructor ran in the victim");
        String status = Files.readString(Path.of("/proc", Long.toString(pid), "status"));
        assertTrue(status.contains("TracerPid:\t0\n"), "the injector detached: " + status);
    }

    @Test
    void libraryInjectedOverPtraceFromAWorldWritableDirectoryIsHigh(@TempDir Path tmp) throws Exception {
        Path drop = Files.createDirectory(tmp.resolve("drop"));
        Files.setPosixFilePermissions(drop, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path lib = drop.resolve("libupdate.so");
        Files.copy(Victim.directory().resolve("libvictim_inject.so"), lib);
        try (Victim v = Victim.start("victim_plain")) {
            assertEquals(Set.of(), ScanIT.scan("--pid", Long.toString(v.pid())).rules(), "clean before");
            inject(v.pid(), lib);
            ScanIT.Scan s = ScanIT.scan("--pid", Long.toString(v.pid()));
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            assertEquals(Set.of("inject.library_runtime"), s.rules(), s.out());
            JsonNode a = s.alert("inject.library_runtime");
            assertEquals("high", a.at("/memsentry/severity").asText());
            assertEquals("T1055.001", a.at("/threat/technique/id/0").asText());
            assertEquals(lib.toString(), a.at("/memsentry/details/file").asText());
            assertEquals(lib.toString(), a.at("/memsentry/region/path").asText());
            assertTrue(a.at("/memsentry/region/perms").asText().contains("x"), a.toString());
            assertEquals("every user", a.at("/memsentry/details/writable_by/0").asText(), a.toString());
            assertTrue(a.at("/memsentry/details/loaded_at_run_time").asBoolean());
            assertTrue(a.at("/memsentry/details/path_verified").asBoolean());
            assertEquals(Files.getAttribute(lib, "unix:ino"), a.at("/memsentry/details/inode").asLong());
            assertTrue(a.at("/message").asText().contains(lib.toString()), a.toString());
            // Switched off and re-rated like every rule.
            Path cfg = tmp.resolve("cfg.yaml");
            Files.writeString(cfg, "heuristics:\n  inject.library_runtime: {severity: critical}\n");
            assertEquals("critical", ScanIT.scan("--pid", Long.toString(v.pid()), "--config", cfg.toString())
                .alert("inject.library_runtime").at("/memsentry/severity").asText());
            Files.writeString(cfg, "heuristics:\n  inject.library_runtime: off\n");
            ScanIT.Scan off = ScanIT.scan("--pid", Long.toString(v.pid()), "--config", cfg.toString());
            assertEquals(Set.of(), off.rules(), off.out());
            assertEquals(ExitCodes.OK, off.code(), off.err());
        }
    }

    @Test
    void aUsersProcessLoadingFromItsOwnHomeIsHighToo() throws Exception {
        assumeTrue(ScanIT.root(), "running a victim as nobody needs root");
        // A "home" owned by nobody, outside /tmp so that only its owner can write there.
        Path home = Victim.directory().resolveSibling("home-" + ProcessHandle.current().pid());
        Path cache = home.resolve(".cache");
        Path lib = cache.resolve("libhelper.so");
        try {
            Files.createDirectories(cache);
            Files.copy(Victim.directory().resolve("libvictim_inject.so"), lib);
            for (Path p : List.of(home, cache, lib)) {
                Files.setAttribute(p, "unix:uid", 65534);
            }
            try (Victim v = Victim.startExecutable(Path.of("/usr/bin/setpriv"), "--reuid=65534", "--regid=65534",
                "--clear-groups", Victim.directory().resolve("victim_plain").toString())) {
                inject(v.pid(), lib);
                ScanIT.Scan s = ScanIT.scan("--pid", Long.toString(v.pid()));
                JsonNode a = s.alert("inject.library_runtime");
                assertEquals("high", a.at("/memsentry/severity").asText(), a.toString());
                assertEquals("own user", a.at("/memsentry/details/writable_by/0").asText(), a.toString());
                assertEquals(home.toRealPath().toString(), a.at("/memsentry/details/writable_at").asText());
                assertEquals(65534, a.at("/memsentry/details/process_uid").asLong());
            }
        } finally {
            Files.deleteIfExists(Path.of(lib + ".ran"));
            Files.deleteIfExists(lib);
            Files.deleteIfExists(cache);
            Files.deleteIfExists(home);
        }
    }

    @Test
    void theSameLibraryInjectedFromASystemLibraryDirectoryIsQuiet() throws Exception {
        assumeTrue(ScanIT.root(), "writing to /usr/local/lib needs root");
        Path lib = Path.of("/usr/local/lib", "libmemsentry-test-" + UUID.randomUUID() + ".so");
        Path ran = Path.of(lib + ".ran");
        try (Victim v = Victim.start("victim_plain")) {
            Files.copy(Victim.directory().resolve("libvictim_inject.so"), lib);
            inject(v.pid(), lib);
            ScanIT.Scan s = ScanIT.scan("--pid", Long.toString(v.pid()));
            assertEquals(Set.of(), s.rules(), s.out());
            assertEquals(ExitCodes.OK, s.code(), s.err());
        } finally {
            Files.deleteIfExists(lib);
            Files.deleteIfExists(ran);
        }
    }

    @Test
    void aProcessThatBecameAnAnonymousElfSaysSoOnce() throws Exception {
        assumeTrue(Files.isExecutable(Victim.directory().resolve("victim_image_payload")), "x86-64 only");
        try (Victim v = Victim.start("victim_image_swap")) {
            ScanIT.Scan s = ScanIT.scan("--pid", Long.toString(v.pid()));
            assertEquals(Set.of("memory.exec_anonymous", "memory.reflective_elf", "thread.exec_anonymous",
                "process.image_mismatch"), s.rules(), s.out());
            assertEquals(1, s.alerts().stream().filter(a -> a.at("/rule/id").asText().equals("process.image_mismatch"))
                .count());
            JsonNode a = s.alert("process.image_mismatch");
            String exe = Victim.directory().resolve("victim_image_swap").toString();
            assertEquals("high", a.at("/memsentry/severity").asText());
            assertEquals(List.of("T1620"), List.of(a.at("/threat/technique/id/0").asText()));
            assertEquals(exe, a.at("/memsentry/details/exe").asText());
            assertEquals(exe, a.at("/process/executable").asText());
            assertEquals(v.hex("image"), ScanIT.hex(a.at("/memsentry/details/image_address")));
            assertEquals(v.hex("image"), ScanIT.hex(a.at("/memsentry/region/start")));
            assertEquals(v.hex("image_end"), ScanIT.hex(a.at("/memsentry/details/image_end")));
            assertEquals(v.hex("entry"), ScanIT.hex(a.at("/memsentry/details/entry")));
            assertEquals("executable", a.at("/memsentry/details/elf_type").asText());
            assertEquals(1, a.at("/memsentry/details/threads_in_image").asInt(), "the main thread runs the image");
            assertTrue(a.at("/message").asText().contains(exe) && a.at("/message").asText()
                .contains(a.at("/memsentry/details/image_address").asText()), a.toString());
        }
    }

    @Test
    void aYaraMarkerInTheHeapAndInTheInjectedImageIsAlertedInBoth() throws Exception {
        assumeTrue(Files.isExecutable(Victim.directory().resolve("victim_image_payload")), "x86-64 only");
        Path rules = Path.of("tests-native", "rules", "image", "image_marker.yar").toAbsolutePath();
        try (Victim v = Victim.start("victim_image_swap")) {
            ScanIT.Scan s = ScanIT.scan("--pid", Long.toString(v.pid()), "--rules", rules.toString(), "--no-heuristics");
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            List<JsonNode> hits = new ArrayList<>();
            Map<String, Set<String>> ours = new java.util.TreeMap<>();
            for (JsonNode a : s.alerts()) {
                assertEquals("yara.default.image_marker", a.at("/rule/id").asText());
                hits.add(a);
                Set<String> strings = ours.computeIfAbsent(a.at("/memsentry/yara/rule").asText(), k -> new TreeSet<>());
                a.at("/memsentry/yara/strings").forEach(m -> {
                    long addr = ScanIT.hex(m.get("address"));
                    ScanIT.assertRegionHolds(a, addr);
                    assertEquals(addr - ScanIT.hex(a.at("/memsentry/region/start")), m.get("offset").asLong());
                    strings.add(m.get("identifier").asText() + "@" + addr);
                });
            }
            // The image and the heap copy at least (a stack buffer may hold a third copy).
            assertTrue(hits.size() >= 2, s.out());
            for (JsonNode a : hits) {
                assertEquals(hits.size(), a.at("/memsentry/yara/regions_total").asInt(), a.toString());
            }
            JsonNode image = hits.get(0);
            assertEquals("r-xp", image.at("/memsentry/region/perms").asText(), "executable regions first: " + image);
            assertEquals("anonymous", image.at("/memsentry/region/kind").asText());
            long start = ScanIT.hex(image.at("/memsentry/region/start"));
            assertTrue(start >= v.hex("image") && start < v.hex("image_end"), image.toString());
            JsonNode heap = hits.stream().filter(a -> a.at("/memsentry/region/kind").asText().equals("heap")).findFirst()
                .orElseThrow(() -> new AssertionError("no heap alert in " + s.out()));
            assertEquals(v.hex("heap"), ScanIT.hex(heap.at("/memsentry/yara/strings/0/address")));
            assertFalse(image.at("/message").asText().equals(heap.at("/message").asText()));
            assertEquals(ScanIT.yaraCli(rules, v.pid()), ours, "the same strings as yara -s");
        }
    }
}
