package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Victim;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scan end to end: the built jar against victims that each leave one artifact. Every victim must
 * be found by exactly the rules its artifact calls for, at the pid and address it printed; benign
 * programs raise nothing high; sweeps of every process run in a PID namespace holding only what
 * the test started.
 */
class ScanIT {
    @BeforeAll
    static void nativeRequired() {
        NativeSupport.requireNative();
    }

    record Scan(int code, List<JsonNode> alerts, JsonNode summary, String out, String err) {
        Set<String> rules() {
            return alerts.stream().map(a -> a.at("/rule/id").asText()).collect(Collectors.toCollection(TreeSet::new));
        }

        JsonNode alert(String rule) {
            return alerts.stream().filter(a -> a.at("/rule/id").asText().equals(rule)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + rule + " alert in " + out + err));
        }
    }

    static Scan parse(CliIT.Run r) throws IOException {
        List<JsonNode> alerts = new ArrayList<>();
        JsonNode summary = null;
        for (String line : r.out().split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode n = Json.mapper().readTree(line);
            if (n.at("/event/kind").asText().equals("alert")) {
                alerts.add(n);
            } else if (n.at("/event/action").asText().equals("scan-summary")) {
                summary = n.at("/memsentry/summary");
            }
        }
        return new Scan(r.code(), alerts, summary, r.out(), r.err());
    }

    static Scan scan(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("scan", "--json"));
        all.addAll(List.of(args));
        return parse(CliIT.jar(List.of(), all.toArray(String[]::new)));
    }

    static long hex(JsonNode n) {
        return Long.parseUnsignedLong(n.asText().substring(2), 16);
    }

    static void assertRegionHolds(JsonNode alert, long addr) {
        long start = hex(alert.at("/memsentry/region/start"));
        long end = hex(alert.at("/memsentry/region/end"));
        assertTrue(Long.compareUnsigned(start, addr) <= 0 && Long.compareUnsigned(addr, end) < 0,
            "region " + alert.at("/memsentry/region") + " does not hold 0x" + Long.toHexString(addr));
    }

    private static Scan scanVictim(Victim v, Set<String> expectedRules) throws Exception {
        Scan s = scan("--pid", Long.toString(v.pid()));
        assertEquals(expectedRules, s.rules(), s.out() + s.err());
        assertEquals(expectedRules.isEmpty() ? ExitCodes.OK : ExitCodes.FINDINGS, s.code(), s.err());
        for (JsonNode a : s.alerts()) {
            assertEquals(v.pid(), a.at("/process/pid").asLong());
            assertEquals(64, a.at("/process/hash/sha256").asText().length(), "the executable's hash is part of the alert");
        }
        assertNotNull(s.summary());
        assertEquals(1, s.summary().get("processes_scanned").asInt());
        return s;
    }

    @Test
    void shellcodeMadeExecutableIsExecutableAnonymousMemory() throws Exception {
        try (Victim v = Victim.start("victim_shellcode")) {
            JsonNode a = scanVictim(v, Set.of("memory.exec_anonymous")).alert("memory.exec_anonymous");
            assertEquals(v.hex("addr"), hex(a.at("/memsentry/region/start")));
            assertEquals("r-xp", a.at("/memsentry/region/perms").asText());
            assertEquals("anonymous", a.at("/memsentry/region/kind").asText());
            assertEquals("high", a.at("/memsentry/severity").asText());
            assertEquals(73, a.at("/event/severity").asInt());
            assertEquals("T1055", a.at("/threat/technique/id/0").asText());
        }
    }

    @Test
    void aNamedAnonymousRegionIsStillAnonymous() throws Exception {
        try (Victim v = Victim.start("victim_shellcode", "libc.so.6")) {
            assumeTrue(v.fact("named").equals("1"), "kernel without CONFIG_ANON_VMA_NAME");
            JsonNode a = scanVictim(v, Set.of("memory.exec_anonymous")).alert("memory.exec_anonymous");
            assertEquals("[anon:libc.so.6]", a.at("/memsentry/region/path").asText());
            assertEquals("anonymous", a.at("/memsentry/region/kind").asText());
            assertEquals("[anon:libc.so.6]", a.at("/memsentry/details/anon_name").asText());
            assertEquals("high", a.at("/memsentry/severity").asText());
        }
    }

    @Test
    void rwxMappingIsReportedOnceAsRwx() throws Exception {
        try (Victim v = Victim.start("victim_rwx")) {
            JsonNode a = scanVictim(v, Set.of("memory.rwx")).alert("memory.rwx");
            assertEquals(v.hex("rwx"), hex(a.at("/memsentry/region/start")));
            assertRegionHolds(a, v.hex("addr"));
            assertEquals("rwxp", a.at("/memsentry/region/perms").asText());
        }
    }

    @Test
    void elfImageInAnonymousMemoryIsReflectiveLoading() throws Exception {
        try (Victim v = Victim.start("victim_elf_anon")) {
            JsonNode a = scanVictim(v, Set.of("memory.exec_anonymous", "memory.reflective_elf"))
                .alert("memory.reflective_elf");
            assertEquals(v.hex("addr"), hex(a.at("/memsentry/region/start")));
            assertEquals("elf", a.at("/memsentry/details/header").asText());
            assertTrue(a.at("/memsentry/details/executable").asBoolean());
            assertTrue(a.at("/memsentry/details/head").asText().startsWith("7f454c46"));
            assertEquals("T1620", a.at("/threat/technique/id/0").asText());
        }
    }

    @Test
    void programRunningFromAMemfd() throws Exception {
        try (Victim v = Victim.start("victim_memfd_exec")) {
            JsonNode a = scanVictim(v, Set.of("fileless.exe_memfd")).alert("fileless.exe_memfd");
            assertTrue(a.at("/process/executable").asText().startsWith("/memfd:memsentry-victim"), a.toString());
            assertEquals("memfd", a.at("/memsentry/region/kind").asText());
        }
    }

    @Test
    void programWhoseExecutableWasDeleted() throws Exception {
        try (Victim v = Victim.start("victim_deleted_exe")) {
            JsonNode a = scanVictim(v, Set.of("fileless.exe_deleted")).alert("fileless.exe_deleted");
            assertTrue(a.at("/process/executable").asText().endsWith(" (deleted)"), a.toString());
            assertFalse(a.at("/memsentry/details/replaced_on_disk").asBoolean());
            assertEquals("high", a.at("/memsentry/severity").asText());
        }
    }

    @Test
    void processStartedWithLdPreload() throws Exception {
        try (Victim v = Victim.start("victim_preload")) {
            // The library is not in the DT_NEEDED closure, but nobody else can write it and it lies next to the program.
            JsonNode a = scanVictim(v, Set.of("inject.ld_preload")).alert("inject.ld_preload");
            String lib = Victim.directory().resolve("libvictim_preload.so").toString();
            assertEquals(lib, a.at("/memsentry/details/value").asText());
            assertTrue(a.at("/memsentry/details/libraries/0/mapped").asBoolean());
            assertTrue(a.at("/memsentry/region").isMissingNode());
            assertEquals("medium", a.at("/memsentry/severity").asText());
        }
    }

    @Test
    void patchedByteInLibraryText() throws Exception {
        try (Victim v = Victim.start("victim_patch")) {
            JsonNode a = scanVictim(v, Set.of("code.patched")).alert("code.patched");
            assertRegionHolds(a, v.hex("addr"));
            assertTrue(a.at("/memsentry/region/path").asText().endsWith("/libvictim_code.so"));
            assertEquals(v.hex("addr"), hex(a.at("/memsentry/details/first_difference")));
            assertEquals(1, a.at("/memsentry/details/bytes_differing").asInt());
            assertEquals(v.fact("after"), a.at("/memsentry/details/samples/0/memory").asText().substring(0, 2));
            assertEquals(v.fact("before"), a.at("/memsentry/details/samples/0/file").asText().substring(0, 2));
        }
    }

    @Test
    void sleepingThreadInAnonymousCode() throws Exception {
        try (Victim v = Victim.start("victim_thread_anon")) {
            Scan s = scanVictim(v, Set.of("memory.exec_anonymous", "thread.exec_anonymous"));
            JsonNode a = s.alert("thread.exec_anonymous");
            assertEquals(v.hex("addr"), hex(a.at("/memsentry/region/start")));
            assertEquals(Long.parseLong(v.fact("tid")), a.at("/memsentry/details/tid").asLong());
            long pc = hex(a.at("/memsentry/details/pc"));
            assertTrue(pc >= v.hex("addr") && pc < v.hex("addr") + Long.parseLong(v.fact("len")));
            assertEquals(34, a.at("/memsentry/details/syscall").asInt(), "pause()");
        }
    }

    @Test
    void libraryMappedFromTmpfs() throws Exception {
        try (Victim v = Victim.start("victim_tmpfs_lib")) {
            Scan s = scanVictim(v, Set.of("fileless.map_tmpfs", "inject.library_runtime"));
            JsonNode a = s.alert("fileless.map_tmpfs");
            JsonNode runtime = s.alert("inject.library_runtime");
            assertEquals("high", runtime.at("/memsentry/severity").asText(), "dlopen()ed from /dev/shm, which all can write");
            assertEquals("/dev/shm", runtime.at("/memsentry/details/writable_at").asText());
            assertRegionHolds(runtime, v.hex("addr"));
            assertRegionHolds(a, v.hex("addr"));
            assertEquals(v.fact("path"), a.at("/memsentry/region/path").asText());
            assertEquals("0x1021994", a.at("/memsentry/details/fs_magic").asText());
        }
    }

    @Test
    void plainVictimIsClean() throws Exception {
        try (Victim v = Victim.start("victim_plain")) {
            scanVictim(v, Set.of());
        }
    }

    /** A long-lived benign program started by the test, ended by pid. */
    static final class Started implements AutoCloseable {
        final Process p;

        Started(String... cmd) throws IOException {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        }

        /** Waits for the first line of output (the program is up and has done its warm-up). */
        Started awaitLine() throws IOException {
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertNotNull(r.readLine(), "program exited early");
            return this;
        }

        long pid() {
            return p.pid();
        }

        @Override
        public void close() {
            p.destroy();
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    static Path sleeperSource(Path dir) throws IOException {
        Path src = dir.resolve("Sleeper.java");
        Files.writeString(src, """
            public class Sleeper {
                public static void main(String[] args) throws Exception {
                    long s = 0;
                    for (int i = 0; i < 30_000_000; i++) { s += i % 7; } // let the JIT compile something
                    System.out.println("up " + s);
                    Thread.sleep(600_000);
                }
            }
            """);
        return src;
    }

    private static void assertNothingHigh(Scan s) {
        for (JsonNode a : s.alerts()) {
            String sev = a.at("/memsentry/severity").asText();
            assertTrue(sev.equals("low") || sev.equals("medium"), "benign process raised " + a);
        }
    }

    @Test
    void benignSleepPythonAndJvmRaiseNothingHigh(@TempDir Path tmp) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        try (Started sleep = new Started("sleep", "600");
             Started python = new Started("python3", "-c", "import time; print('up', flush=True); time.sleep(600)").awaitLine();
             Started jvm = new Started(java, sleeperSource(tmp).toString()).awaitLine()) {
            Scan s = scan("--pid", Long.toString(sleep.pid()), "--pid", Long.toString(python.pid()), "--pid",
                Long.toString(jvm.pid()));
            assertEquals(3, s.summary().get("processes_scanned").asInt(), s.err());
            assertNothingHigh(s);
            for (JsonNode a : s.alerts()) {
                assertEquals(jvm.pid(), a.at("/process/pid").asLong(), "only the JVM makes code: " + a);
                assertEquals("jvm", a.at("/memsentry/details/jit_runtime").asText(), a.toString());
            }
            assertEquals(s.alerts().isEmpty() ? ExitCodes.OK : ExitCodes.FINDINGS, s.code());
        }
    }

    static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** Runs script with sh as PID 1 of a new PID namespace: when it ends, everything in it ends. */
    static CliIT.Run inNamespace(String script, String... extraUnshare) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("unshare", "--pid", "--fork", "--mount-proc"));
        cmd.addAll(List.of(extraUnshare));
        cmd.addAll(List.of("sh", "-c", script));
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        InputStream out = p.getInputStream();
        byte[] o = out.readAllBytes();
        byte[] e = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        String err = new String(e, StandardCharsets.UTF_8);
        int code = p.exitValue();
        String text = new String(o, StandardCharsets.UTF_8);
        int at = text.lastIndexOf("exit=");
        int scanCode = at >= 0 ? Integer.parseInt(text.substring(at + 5).trim()) : code;
        return new CliIT.Run(scanCode, at >= 0 ? text.substring(0, at) : text, err);
    }

    static String jarCommand(String args) {
        return Path.of(System.getProperty("java.home"), "bin", "java") + " -jar " + System.getProperty("memsentry.jar")
            + " " + args;
    }

    @Test
    void sweepOfAPidNamespaceFindsTheImplantAndNothingHighElse(@TempDir Path tmp) throws Exception {
        assumeTrue(root(), "PID namespaces need root");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String victims = Victim.directory().toString();
        String script = String.join("\n",
            "sleep 300 &",
            "python3 -c 'import time; time.sleep(300)' &",
            java + " " + sleeperSource(tmp) + " > " + tmp.resolve("jvm.out") + " &",
            "sleep 300 | " + victims + "/victim_shellcode > " + tmp.resolve("v.out") + " &",
            "while ! grep -q READY " + tmp.resolve("v.out") + " || ! grep -q up " + tmp.resolve("jvm.out")
                + "; do sleep 0.1; done",
            jarCommand("scan --all --json --no-progress"),
            "echo exit=$?");
        Scan s = parse(inNamespace(script));
        assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
        JsonNode implant = s.alert("memory.exec_anonymous");
        assertEquals("victim_shellcod", implant.at("/process/name").asText());
        for (JsonNode a : s.alerts()) {
            if (a != implant) {
                assertTrue(Set.of("low", "medium").contains(a.at("/memsentry/severity").asText()), "unexpected " + a);
            }
        }
        assertEquals(1, s.summary().at("/skipped/self").asInt(), "memsentry skips itself");
        assertTrue(s.summary().get("processes_scanned").asInt() >= 6, s.summary().toString());
    }

    @Test
    void ldSoPreloadInTheProcessRootIsReportedOnce(@TempDir Path tmp) throws Exception {
        assumeTrue(root(), "mount namespaces need root");
        // An overlay on /etc inside a private mount namespace: the host's /etc is never touched.
        Path upper = Files.createDirectories(tmp.resolve("upper"));
        Path work = Files.createDirectories(tmp.resolve("work"));
        String lib = Victim.directory().resolve("libvictim_preload.so").toString();
        String script = String.join("\n",
            "mount -t overlay overlay -o lowerdir=/etc,upperdir=" + upper + ",workdir=" + work + " /etc || exit 9",
            "printf '# test\\n" + lib + "\\n' > /etc/ld.so.preload || exit 9",
            "sleep 300 &",
            "sleep 300 &",
            "sleep 0.3",
            jarCommand("scan --all --json --no-progress"),
            "echo exit=$?");
        Scan s = parse(inNamespace(script, "--mount"));
        assertEquals(ExitCodes.FINDINGS, s.code(), s.out() + s.err());
        List<JsonNode> hits = s.alerts().stream().filter(a -> a.at("/rule/id").asText().equals("inject.ld_so_preload"))
            .toList();
        assertEquals(1, hits.size(), "one alert per file, not one per process: " + s.out());
        assertEquals(lib, hits.get(0).at("/memsentry/details/libraries/0/name").asText());
        // sh started before the file existed; everything started after it has the library mapped.
        boolean shell = hits.get(0).at("/process/name").asText().equals("sh");
        assertEquals(!shell, hits.get(0).at("/memsentry/details/libraries/0/mapped_here").asBoolean(), hits.get(0).toString());
    }

    @Test
    void tracerIsAnAlertUnlessItIsAKnownDebugger(@TempDir Path tmp) throws Exception {
        Path strace = Path.of("/usr/bin/strace");
        assumeTrue(Files.isExecutable(strace), "strace is installed by ci/install-deps.sh");
        Path renamed = tmp.resolve("helper-tool");
        Files.copy(strace, renamed);
        Files.setPosixFilePermissions(renamed, PosixFilePermissions.fromString("rwx------"));
        for (Path tracer : List.of(strace, renamed)) {
            try (Victim v = Victim.start("victim_plain");
                 Started t = new Started(tracer.toString(), "-o", "/dev/null", "-p", Long.toString(v.pid()))) {
                waitForTracer(v.pid());
                Scan s = scan("--pid", Long.toString(v.pid()));
                if (tracer == strace) {
                    assertEquals(Set.of(), s.rules(), "strace is a known debugger: " + s.out());
                } else {
                    JsonNode a = s.alert("inject.tracer");
                    assertEquals(t.pid(), a.at("/memsentry/details/tracer_pid").asLong());
                    assertEquals(renamed.toString(), a.at("/memsentry/details/tracer_executable").asText());
                    assertEquals("T1055.008", a.at("/threat/technique/id/0").asText());
                }
            }
        }
    }

    static void waitForTracer(long pid) throws Exception {
        for (int i = 0; i < 200; i++) {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("TracerPid:") && !line.substring(10).trim().equals("0")) {
                    return;
                }
            }
            Thread.sleep(25);
        }
        throw new AssertionError("tracer never attached");
    }

    @Test
    void allowlistByExecutableHashSuppressesAndCounts(@TempDir Path tmp) throws Exception {
        Path exe = Victim.directory().resolve("victim_shellcode");
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(exe)));
        Path cfg = tmp.resolve("allow.yaml");
        Files.writeString(cfg, "allowlist:\n  - sha256: " + sha + "\n    name: test implant\n");
        try (Victim v = Victim.start("victim_shellcode")) {
            Scan s = scan("--pid", Long.toString(v.pid()), "--config", cfg.toString());
            assertEquals(Set.of(), s.rules(), s.out());
            assertEquals(1, s.summary().get("suppressed_by_allowlist").asInt());
            assertEquals(ExitCodes.OK, s.code());
        }
    }

    @Test
    void jitListHeuristicSwitchesAndSeverityOverrides(@TempDir Path tmp) throws Exception {
        Path cfg = tmp.resolve("c.yaml");
        Files.writeString(cfg, """
            jit:
              runtimes: [{name: test-jit, executables: [victim_rwx]}]
            heuristics:
              memory.exec_anonymous: {severity: critical}
            """);
        try (Victim v = Victim.start("victim_rwx")) {
            JsonNode a = scan("--pid", Long.toString(v.pid()), "--config", cfg.toString()).alert("memory.rwx");
            assertEquals("low", a.at("/memsentry/severity").asText());
            assertEquals("test-jit", a.at("/memsentry/details/jit_runtime").asText());
        }
        Files.writeString(cfg, "heuristics:\n  memory.rwx: off\n  memory.exec_anonymous: {severity: critical}\n");
        try (Victim v = Victim.start("victim_rwx")) {
            Scan s = scan("--pid", Long.toString(v.pid()), "--config", cfg.toString());
            assertEquals(Set.of("memory.exec_anonymous"), s.rules(), "with rwx off the region is still anonymous code");
            assertEquals("critical", s.alert("memory.exec_anonymous").at("/memsentry/severity").asText());
        }
        Files.writeString(cfg, "heuristics:\n  memory.exec_anonymous: false\n");
        try (Victim v = Victim.start("victim_shellcode")) {
            Scan s = scan("--pid", Long.toString(v.pid()), "--config", cfg.toString());
            assertEquals(Set.of(), s.rules());
            assertEquals(ExitCodes.OK, s.code());
        }
    }

    @Test
    void malformedConfigIsExitTwoNamingTheKey(@TempDir Path tmp) throws Exception {
        Path cfg = tmp.resolve("bad.yaml");
        Files.writeString(cfg, "response:\n  min_severity: urgent\n");
        CliIT.Run r = CliIT.jar(List.of(), "scan", "--pid", "1", "--config", cfg.toString());
        assertEquals(ExitCodes.USAGE, r.code());
        assertEquals("memsentry: invalid configuration: " + cfg + ": response.min_severity: 'urgent' is not a severity"
            + " (low, medium, high, critical)", r.err().strip());
        assertEquals("", r.out());
    }

    @Test
    void usageErrors() throws Exception {
        for (String[] args : List.of(new String[] {"scan"}, new String[] {"scan", "--all", "--pid", "5"},
            new String[] {"scan", "--pid", "5", "--respond", "dump", "--dump-format", "elf"},
            new String[] {"scan", "--pid", "5", "--respond", "nuke"},
            new String[] {"scan", "--pid", "5", "--respond", "kill", "--respond-grace", "2h"},
            new String[] {"scan", "--pid", "5", "--min-severity", "huge"}, new String[] {"scan", "--pid", "5", "--threads", "0"})) {
            CliIT.Run r = CliIT.jar(List.of(), args);
            assertEquals(ExitCodes.USAGE, r.code(), String.join(" ", args) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }

    @Test
    void vanishedPidIsAWarningAndExitThree() throws Exception {
        long gone;
        try (Victim v = Victim.start("victim_plain")) {
            gone = v.pid();
        }
        try (Victim live = Victim.start("victim_shellcode")) {
            Scan s = scan("--pid", Long.toString(gone));
            assertEquals(ExitCodes.FAILED, s.code(), s.err());
            assertTrue(s.err().contains("WARN pid " + gone + ": exited before or during the scan"), s.err());
            assertEquals(1, s.summary().at("/skipped/vanished").asInt());
            Scan both = scan("--pid", Long.toString(gone), "--pid", Long.toString(live.pid()));
            assertEquals(ExitCodes.FINDINGS, both.code(), "findings win over a vanished process");
        }
    }

    @Test
    void accessDeniedIsAWarningACountAndExitThree() throws Exception {
        assumeTrue(root() && Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs root and setpriv to drop to nobody");
        try (Victim v = Victim.start("victim_shellcode")) {
            Process p = new ProcessBuilder("/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", System.getProperty("memsentry.jar"),
                "scan", "--json", "--pid", Long.toString(v.pid())).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            Scan s = parse(new CliIT.Run(p.exitValue(), out, err));
            assertEquals(ExitCodes.FAILED, s.code(), err);
            assertTrue(err.contains("WARN pid " + v.pid() + ": access denied"), err);
            assertEquals(1, s.summary().at("/skipped/denied").asInt());
            assertTrue(s.alerts().isEmpty());
        }
    }

    @Test
    void outFileIsPrivateAppendedAndNeverALink(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("alerts.ndjson");
        try (Victim v = Victim.start("victim_rwx")) {
            for (int i = 0; i < 2; i++) {
                CliIT.Run r = CliIT.jar(List.of(), "scan", "--pid", Long.toString(v.pid()), "--out", out.toString());
                assertEquals(ExitCodes.FINDINGS, r.code(), r.err());
                assertTrue(r.out().contains("memory.rwx"), "the table still goes to stdout: " + r.out());
            }
        }
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
        List<String> lines = Files.readAllLines(out);
        assertEquals(4, lines.size(), "alert and summary, twice: " + lines);
        for (String l : lines) {
            Json.mapper().readTree(l);
        }
        Path link = tmp.resolve("link.ndjson");
        Files.createSymbolicLink(link, out);
        CliIT.Run r = CliIT.jar(List.of(), "scan", "--pid", "1", "--out", link.toString());
        assertEquals(ExitCodes.USAGE, r.code());
        assertTrue(r.err().contains("symbolic link"), r.err());
        assertEquals(4, Files.readAllLines(out).size());
    }

    @Test
    void anOutFileThatIsNotOursAloneIsRefused(@TempDir Path tmp) throws Exception {
        // Someone else's file, one others may write, and a second name of another file: root must not append.
        Path foreign = Files.writeString(tmp.resolve("foreign.ndjson"), "theirs\n");
        Files.setAttribute(foreign, "unix:uid", 65534);
        Path shared = Files.writeString(tmp.resolve("shared.ndjson"), "theirs\n");
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rw-rw-r--"));
        Path target = Files.writeString(tmp.resolve("target"), "theirs\n");
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-------"));
        Path linked = Files.createLink(tmp.resolve("linked.ndjson"), target);
        Map<Path, String> why = Map.of(foreign, "is owned by uid 65534", shared, "is writable by group or others",
            linked, "has 2 hard links");
        try (Victim v = Victim.start("victim_rwx")) {
            for (Map.Entry<Path, String> e : why.entrySet()) {
                CliIT.Run r = CliIT.jar(List.of(), "scan", "--pid", Long.toString(v.pid()), "--out", e.getKey().toString());
                assertEquals(ExitCodes.USAGE, r.code(), r.err());
                assertEquals(1, r.err().strip().lines().count(), r.err());
                assertTrue(r.err().startsWith("memsentry: cannot write " + e.getKey()) && r.err().contains(e.getValue()),
                    r.err());
                assertEquals("", r.out(), "nothing is scanned");
                assertEquals("theirs\n", Files.readString(e.getKey()));
            }
        }
    }

    @Test
    void rulesWithoutYaraAreAFailureNotAQuietScan(@TempDir Path tmp) throws Exception {
        // The native library cannot be loaded: auto falls back to the stub, which has no YARA.
        Path rules = Path.of("tests-native", "rules", "good", "markers.yar").toAbsolutePath();
        try (Victim v = Victim.start("victim_yara")) {
            CliIT.Run r = CliIT.jar(List.of("-Dmemsentry.native.path=" + tmp.resolve("missing.so")), "scan", "--pid",
                Long.toString(v.pid()), "--rules", rules.toString());
            assertEquals(ExitCodes.FAILED, r.code(), r.err());
            assertTrue(r.err().lines().anyMatch(l -> l.startsWith("memsentry: YARA rules were given but YARA is not "
                + "available")), r.err());
            assertEquals("", r.out(), "nothing is scanned");
        }
    }

    @Test
    void compiledRulesNeedTheirOwnOption(@TempDir Path tmp) throws Exception {
        Path rules = Path.of("tests-native", "rules", "good", "markers.yar").toAbsolutePath();
        Path compiled = tmp.resolve("markers.yarc");
        Process yarac = new ProcessBuilder("yarac", rules.toString(), compiled.toString()).redirectErrorStream(true).start();
        assertEquals(0, yarac.waitFor(), new String(yarac.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        try (Victim v = Victim.start("victim_yara")) {
            CliIT.Run r = CliIT.jar(List.of(), "scan", "--pid", Long.toString(v.pid()), "--rules", compiled.toString());
            assertEquals(ExitCodes.USAGE, r.code(), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains("compiled rules") && r.err().contains("--allow-compiled-rules"), r.err());
            assertEquals("", r.out());
            Scan s = scan("--pid", Long.toString(v.pid()), "--rules", compiled.toString(), "--allow-compiled-rules");
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            assertTrue(s.rules().contains("yara.default.heap_alpha"), s.rules().toString());
        }
    }

    @Test
    void listRulesShowsEveryScanRule() throws Exception {
        CliIT.Run r = CliIT.jar(List.of(), "scan", "--list-rules", "--json");
        assertEquals(ExitCodes.OK, r.code());
        assertEquals(dev.memsentry.detect.BuiltinRules.SCAN.size(), r.out().strip().lines().count());
        for (dev.memsentry.detect.Rule rule : dev.memsentry.detect.BuiltinRules.SCAN) {
            assertTrue(r.out().contains("\"" + rule.id() + "\""), rule.id() + " missing from " + r.out());
        }
    }

    /** rule -> "identifier@address" of every string match, from `yara -s [OPTIONS] RULES PID`. */
    static java.util.Map<String, Set<String>> yaraCli(Path rules, long pid, String... options) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("yara", "-s"));
        cmd.addAll(List.of(options));
        cmd.addAll(List.of(rules.toString(), Long.toString(pid)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        java.util.Map<String, Set<String>> byRule = new java.util.TreeMap<>();
        String rule = null;
        for (String line : out.split("\n")) {
            if (line.startsWith("0x")) {
                String[] parts = line.split(":", 3);
                byRule.get(rule).add(parts[1] + "@" + Long.parseUnsignedLong(parts[0].substring(2), 16));
            } else if (!line.isBlank()) {
                rule = line.split(" ")[0];
                byRule.put(rule, new TreeSet<>());
            }
        }
        return byRule;
    }

    /** rule -> "identifier@address" of the YARA alerts of a scan. */
    private static java.util.Map<String, Set<String>> yaraAlerts(Scan s) {
        java.util.Map<String, Set<String>> ours = new java.util.TreeMap<>();
        for (JsonNode a : s.alerts()) {
            JsonNode y = a.at("/memsentry/yara");
            if (a.at("/rule/ruleset").asText().equals("yara")) {
                Set<String> strings = ours.computeIfAbsent(y.get("rule").asText(), k -> new TreeSet<>());
                y.get("strings").forEach(m -> strings.add(m.get("identifier").asText() + "@" + hex(m.get("address"))));
            }
        }
        return ours;
    }

    @Test
    void smallYaraBlocksGiveTheResultsOfYarasProcessMemoryChunk() throws Exception {
        Path rules = Path.of("tests-native", "rules", "good", "markers.yar").toAbsolutePath();
        try (Victim v = Victim.start("victim_yara")) {
            Scan s = scan("--pid", Long.toString(v.pid()), "--rules", rules.toString(), "--yara-max-block", "64K");
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            java.util.Map<String, Set<String>> ours = yaraAlerts(s);
            assertFalse(ours.containsKey("straddling_beta"), "the marker across the 64 KiB point is cut in two: " + ours);
            assertTrue(ours.containsKey("heap_alpha"), ours.toString());
            assertEquals(yaraCli(rules, v.pid(), "--max-process-memory-chunk=65536"), ours);
        }
    }

    @Test
    void yaraHitsAreAlertsEqualToTheYaraCommandLine() throws Exception {
        Path rules = Path.of("tests-native", "rules", "good", "markers.yar").toAbsolutePath();
        try (Victim v = Victim.start("victim_yara")) {
            Scan s = scan("--pid", Long.toString(v.pid()), "--rules", rules.toString());
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            java.util.Map<String, Set<String>> ours = new java.util.TreeMap<>();
            for (JsonNode a : s.alerts()) {
                if (!a.at("/rule/ruleset").asText().equals("yara")) {
                    continue;
                }
                JsonNode y = a.at("/memsentry/yara");
                assertEquals("yara." + y.get("namespace").asText() + "." + y.get("rule").asText(), a.at("/rule/id").asText());
                Set<String> strings = ours.computeIfAbsent(y.get("rule").asText(), k -> new TreeSet<>());
                // One alert per region: every string of the alert lies in its region.
                y.get("strings").forEach(m -> {
                    strings.add(m.get("identifier").asText() + "@" + hex(m.get("address")));
                    assertRegionHolds(a, hex(m.get("address")));
                });
            }
            // yara faults pages in (the memfd marker): it runs second.
            assertEquals(yaraCli(rules, v.pid()), ours);
            JsonNode alpha = s.alert("yara.default.heap_alpha");
            assertEquals(List.of("victim", "heap"), Json.mapper().convertValue(alpha.at("/memsentry/yara/tags"), List.class));
            assertEquals("the heap marker", alpha.at("/rule/description").asText());
            assertEquals("high", alpha.at("/memsentry/severity").asText(), "severity = 70 in the rule's metadata");
            assertEquals(v.hex("alpha"), hex(alpha.at("/memsentry/yara/strings/0/address")));
            assertTrue(s.summary().get("yara").asText().startsWith("on: 5 rules"), s.summary().toString());
            assertTrue(s.summary().get("bytes_scanned_yara").asLong() > 0);
        }
    }

    @Test
    void brokenRulesGiveFileLineAndMessageAndExitTwo() throws Exception {
        Path bad = Path.of("tests-native", "rules", "bad").toAbsolutePath();
        try (Victim v = Victim.start("victim_plain")) {
            CliIT.Run r = CliIT.jar(List.of(), "scan", "--pid", Long.toString(v.pid()), "--rules", bad.toString());
            assertEquals(ExitCodes.USAGE, r.code(), r.err());
            assertTrue(r.err().strip().matches("(?s)memsentry: rules error: .*/broken\\.yar\\(\\d+\\): .+"), r.err());
            assertEquals("", r.out(), "nothing is scanned with rules that do not compile");
            CliIT.Run missing = CliIT.jar(List.of(), "scan", "--pid", Long.toString(v.pid()), "--rules", "/no/such.yar");
            assertEquals(ExitCodes.USAGE, missing.code(), missing.err());
        }
    }

    static List<JsonNode> events(Scan s, String action) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : s.out().split("\n")) {
            if (!line.isBlank()) {
                JsonNode n = Json.mapper().readTree(line);
                if (n.at("/event/kind").asText().equals("event") && n.at("/event/action").asText().equals(action)) {
                    out.add(n);
                }
            }
        }
        return out;
    }

    @Test
    void respondKillTerminatesTheProcessAndLogsTheAction() throws Exception {
        try (Victim v = Victim.start("victim_shellcode"); Victim bystander = Victim.start("victim_preload")) {
            Scan s = scan("--pid", Long.toString(v.pid()), "--pid", Long.toString(bystander.pid()), "--respond", "kill",
                "--respond-min", "high", "--respond-grace", "2s");
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            List<JsonNode> kills = events(s, "kill");
            assertEquals(1, kills.size(), "only the process with a high alert: " + s.out());
            JsonNode k = kills.get(0);
            assertEquals(v.pid(), k.at("/process/pid").asLong());
            assertEquals("success", k.at("/event/outcome").asText());
            assertEquals("end", k.at("/event/type/0").asText());
            assertEquals("terminated", k.at("/memsentry/response/result").asText(), "it left on SIGTERM");
            assertEquals("SIGTERM", k.at("/memsentry/response/signals/0").asText());
            assertEquals("memory.exec_anonymous", k.at("/memsentry/response/trigger_rules/0").asText());
            assertTrue(v.process().waitFor(5, TimeUnit.SECONDS), "the victim is gone");
            assertTrue(bystander.process().isAlive(), "a medium alert is below --respond-min high");
            assertEquals(1, s.summary().at("/responses/kill terminated").asInt(), s.summary().toString());
        }
    }

    @Test
    void protectedProcessIsRefusedWithAWarningAndAFailedEvent(@TempDir Path tmp) throws Exception {
        Path cfg = tmp.resolve("c.yaml");
        Files.writeString(cfg, "protected: [" + Victim.directory().resolve("victim_shellcode")
            + "]\nresponse: {action: kill, min_severity: medium}\n");
        try (Victim v = Victim.start("victim_shellcode")) {
            Scan s = scan("--pid", Long.toString(v.pid()), "--config", cfg.toString());
            assertEquals(ExitCodes.FINDINGS, s.code(), s.err());
            JsonNode k = events(s, "kill").get(0);
            assertEquals("failure", k.at("/event/outcome").asText());
            assertEquals("refused", k.at("/memsentry/response/result").asText());
            assertEquals("path", k.at("/memsentry/response/protection").asText());
            assertTrue(s.err().contains("WARN kill pid " + v.pid()), s.err());
            assertTrue(v.process().isAlive(), "a protected process is never terminated");
        }
        try (Victim v = Victim.start("victim_shellcode")) {
            Scan s = scan("--pid", Long.toString(v.pid()), "--respond", "kill", "--respond-min", "critical");
            assertTrue(events(s, "kill").isEmpty());
            assertTrue(v.process().isAlive());
        }
    }
}
