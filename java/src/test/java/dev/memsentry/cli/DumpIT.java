package dev.memsentry.cli;

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
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** End to end: the built jar's dump command against real victims, gdb and python-free oracles. */
class DumpIT {
    @TempDir
    Path dir;

    @BeforeEach
    void needsNative() {
        NativeSupport.requireNative();
    }

    private static CliIT.Run jar(String... args) throws Exception {
        return CliIT.jar(List.of(), args);
    }

    private static List<String> names(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Whether process pid holds a file in d open: the unnamed file of a dump shows as "d/#INODE (deleted)". */
    private static boolean writesInto(long pid, Path d) {
        try (Stream<Path> fds = Files.list(Path.of("/proc", String.valueOf(pid), "fd"))) {
            return fds.anyMatch(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().startsWith(d + "/");
                } catch (Exception gone) {
                    return false;
                }
            });
        } catch (Exception exited) {
            return false;
        }
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", cmd));
        return out;
    }

    @Test
    void coreDumpIsPrivateAndGdbReadsTheMarker() throws Exception {
        String marker = "IT-CORE-" + System.nanoTime();
        try (Victim v = Victim.start("victim_marker", marker)) {
            Path file = dir.resolve("m.core");
            CliIT.Run r = jar("dump", "--pid", String.valueOf(v.pid()), "--out", file.toString(), "--freeze");
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.out().startsWith("pid " + v.pid() + " (victim_marker): core dump in " + file), r.out());
            assertTrue(r.out().contains("1 thread, frozen"), r.out());
            assertEquals("", r.err());
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            assertEquals(List.of("m.core"), names(dir));
            String exe = Victim.directory().resolve("victim_marker").toString();
            String gdb = run("gdb", "-nx", "-batch", exe, "-c", file.toString(), "-ex",
                "x/s 0x" + Long.toHexString(v.hex("addr")));
            assertTrue(gdb.contains("\"" + marker + "\""), gdb);
            assertEquals("0", NativeDumpTestAccess.status(v.pid(), "TracerPid"));
        }
    }

    @Test
    void aKilledDumpsLeftoverInTheDirectoryIsNamedInAWarningAndKept() throws Exception {
        // What a dump killed on a file system without O_TMPFILE leaves (the native tests make a real one).
        Path leftover = dir.resolve(".old.core.0123abcd.partial");
        Files.write(leftover, new byte[8192]);
        try (Victim v = Victim.start("victim_marker")) {
            Path file = dir.resolve("m.core");
            CliIT.Run r = jar("dump", "--pid", String.valueOf(v.pid()), "--out", file.toString());
            assertEquals(0, r.code(), r.out() + r.err());
            List<String> lines = r.err().strip().lines().toList();
            assertEquals(1, lines.size(), r.err());
            assertTrue(lines.get(0).startsWith("WARN " + leftover + ": 8192 bytes left by a dump that was killed"),
                r.err());
            assertEquals(List.of(".old.core.0123abcd.partial", "m.core"), names(dir));
        }
    }

    @Test
    void aTargetThatCannotBeFrozenIsDumpedRunningAndSaysWhy() throws Exception {
        String marker = "IT-VFORK-" + System.nanoTime();
        try (Victim v = Victim.start("victim_vfork_stuck", "4", marker)) {
            Path file = dir.resolve("v.core");
            CliIT.Run r = jar("dump", "--pid", String.valueOf(v.pid()), "--out", file.toString(), "--freeze");
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.out().contains("5 threads, not frozen: thread "), r.out());
            assertTrue(r.out().contains("uninterruptible sleep"), r.out());
            assertTrue(r.err().contains("WARN") && r.err().contains("dumped it running"), r.err());
            try (ElfCore elf = new ElfCore(file)) {
                assertEquals(marker, new String(elf.at(v.hex("addr"), marker.length()), StandardCharsets.US_ASCII));
            }
            Tracees.assertRunningAndUntraced(v);
        }
    }

    @Test
    void rawDumpManifestLocatesTheMarkerAndItsDigestsHold() throws Exception {
        String marker = "IT-RAW-" + System.nanoTime();
        try (Victim v = Victim.start("victim_marker", marker)) {
            CliIT.Run r = jar("dump", "--pid", String.valueOf(v.pid()), "--out-dir", dir.toString(), "--format", "raw",
                "--json");
            assertEquals(0, r.code(), r.err());
            JsonNode rec = Json.mapper().readTree(r.out());
            Path data = Path.of(rec.get("file").asText());
            JsonNode manifest = Json.mapper().readTree(Path.of(data + ".json").toFile());
            byte[] bytes = Files.readAllBytes(data);
            assertEquals(bytes.length, manifest.get("totals").get("file_size").asLong());
            assertEquals(data.getFileName().toString(), manifest.get("data").asText());
            long addr = v.hex("addr");
            boolean found = false;
            for (JsonNode reg : manifest.get("regions")) {
                long start = Long.parseUnsignedLong(reg.get("start").asText().substring(2), 16);
                long end = Long.parseUnsignedLong(reg.get("end").asText().substring(2), 16);
                int off = reg.get("file_offset").asInt();
                int len = reg.get("bytes").asInt();
                if (len > 0) {
                    MessageDigest sha = MessageDigest.getInstance("SHA-256");
                    sha.update(bytes, off, len);
                    assertEquals(HexFormat.of().formatHex(sha.digest()), reg.get("sha256").asText(), reg.toString());
                }
                if (Long.compareUnsigned(start, addr) <= 0 && Long.compareUnsigned(addr, end) < 0) {
                    int at = (int) (off + addr - start);
                    assertEquals(marker, new String(bytes, at, marker.length(), StandardCharsets.US_ASCII));
                    found = true;
                }
            }
            assertTrue(found);
        }
    }

    @Test
    void regionOverTheCapIsCut() throws Exception {
        try (Victim v = Victim.start("victim_pages", "16", "1")) {
            Path file = dir.resolve("cap.core");
            CliIT.Run r = jar("dump", "--pid", String.valueOf(v.pid()), "--out", file.toString(), "--max-region-size",
                "1M", "--json");
            assertEquals(0, r.code(), r.err());
            assertTrue(Json.mapper().readTree(r.out()).get("regions_truncated").asInt() >= 1, r.out());
            try (ElfCore core = new ElfCore(file)) {
                ElfCore.Load l = core.loadAt(v.hex("map"));
                assertNotNull(l);
                assertEquals(16L << 20, l.memsz());
                assertEquals(1L << 20, l.filesz());
            }
        }
    }

    @Test
    void existingFileIsRefusedThenReplacedWithForce() throws Exception {
        try (Victim v = Victim.start("victim_marker")) {
            Path file = dir.resolve("e.core");
            Files.writeString(file, "keep");
            CliIT.Run r = jar("dump", "--pid", String.valueOf(v.pid()), "--out", file.toString());
            assertEquals(ExitCodes.FAILED, r.code());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains("already exists"), r.err());
            assertEquals("keep", Files.readString(file));
            r = jar("dump", "--pid", String.valueOf(v.pid()), "--out", file.toString(), "--force");
            assertEquals(0, r.code(), r.err());
            assertEquals(0x7f, Files.readAllBytes(file)[0]);
        }
    }

    /** A copy of the jar that user nobody can read (the build tree may not be). */
    private Path jarForNobody() throws Exception {
        Path shared = Files.createTempDirectory("memsentry-it");
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path jar = shared.resolve("orchestrator.jar");
        Files.copy(Path.of(System.getProperty("memsentry.jar")), jar);
        Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-r--r--"));
        return jar;
    }

    /** A private directory of nobody's under d (evidence goes only where its writer alone may write). */
    private static Path nobodysDirectory(Path d) throws Exception {
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwx--x--x"));
        Path mine = Files.createDirectory(d.resolve("nobody"));
        Files.setAttribute(mine, "unix:uid", 65534);
        Files.setAttribute(mine, "unix:gid", 65534);
        Files.setPosixFilePermissions(mine, PosixFilePermissions.fromString("rwx------"));
        return mine;
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    @Test
    void unprivilegedDumpOfARootProcessIsAccessDeniedWithExit3() throws Exception {
        try (Victim v = Victim.start("victim_marker")) {
            Path jar = jarForNobody();
            Path out = nobodysDirectory(dir);
            Process p = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", java(),
                "-jar", jar.toString(), "dump", "--pid", String.valueOf(v.pid()), "--out-dir", out.toString()).start();
            p.getOutputStream().close();
            String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(ExitCodes.FAILED, p.exitValue(), stdout + stderr);
            assertTrue(stderr.contains("access denied"), stderr);
            assertEquals("", stdout);
            assertEquals(List.of(), names(out));
        }
    }

    private static List<JsonNode> jsonLines(String out) throws Exception {
        List<JsonNode> all = new ArrayList<>();
        for (String line : out.strip().split("\n")) {
            all.add(Json.mapper().readTree(line));
        }
        return all;
    }

    @Test
    void outputDirectoriesAnotherUserControlsAreRefused() throws Exception {
        // Made by another user (0755), or writable by the group: that user could replace the evidence.
        Path foreign = Files.createDirectory(dir.resolve("foreign"));
        Files.setAttribute(foreign, "unix:uid", 65534);
        Files.setPosixFilePermissions(foreign, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwx---"));
        try (Victim v = Victim.start("victim_marker")) {
            for (Path bad : List.of(foreign, shared)) {
                for (List<String> where : List.of(List.of("--out-dir", bad.toString()),
                                                  List.of("--out", bad.resolve("x.core").toString()))) {
                    List<String> args = new ArrayList<>(List.of("dump", "--pid", String.valueOf(v.pid())));
                    args.addAll(where);
                    CliIT.Run r = jar(args.toArray(String[]::new));
                    assertEquals(ExitCodes.USAGE, r.code(), r.out() + r.err());
                    assertEquals(1, r.err().strip().lines().count(), r.err());
                    assertTrue(r.err().contains(bad + (bad == foreign ? " is owned by uid 65534"
                        : " is writable by group or others")), r.err());
                    assertEquals(List.of(), names(bad), "nothing written");
                }
            }
        }
    }

    @Test
    void allDumpsEveryProcessOfAFreshPidNamespace() throws Exception {
        // sh is PID 1: it starts a victim (its stdin a pipe from sleep) and a sleep, then becomes
        // the orchestrator. Nothing else lives in the namespace.
        Path out = dir.resolve("all");
        String script = "sleep 60 | \"$2\" NS-MARKER > /dev/null & sleep 60 & sleep 0.5; exec \"$0\" -jar \"$1\" dump --all "
            + "--out-dir \"$3\" --parallel 2 --freeze --json";
        Process p = new ProcessBuilder("unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script, java(),
            System.getProperty("memsentry.jar"), Victim.directory().resolve("victim_marker").toString(),
            out.toString()).start();
        p.getOutputStream().close();
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), stdout + stderr);
        List<JsonNode> records = jsonLines(stdout);
        JsonNode summary = records.get(records.size() - 1).get("summary");
        assertNotNull(summary, stdout);
        // java (PID 1, itself), the victim, its sleep, the other sleep.
        assertEquals(4, summary.get("processes").asInt(), stdout);
        assertEquals(3, summary.get("dumped").asInt(), stdout);
        assertEquals(1, summary.get("skipped_by_reason").get("memsentry itself").asInt(), stdout);
        assertEquals(0, summary.get("failed").asInt());
        List<String> files = names(out);
        assertEquals(3, files.size(), files.toString());
        assertTrue(files.stream().anyMatch(f -> f.startsWith("victim_marker.")), files.toString());
        assertEquals(2, files.stream().filter(f -> f.startsWith("sleep.")).count(), files.toString());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
        for (JsonNode r : records.subList(0, records.size() - 1)) {
            if (r.get("status").asText().equals("dumped")) {
                assertTrue(r.get("frozen").asBoolean(), r.toString());
            }
        }
    }

    @Test
    void allRunByNobodyWarnsAndSkipsWhatItMayNotRead() throws Exception {
        // Inside a fresh PID namespace: a root victim and one owned by nobody; the orchestrator
        // runs as nobody. The root one is skipped with a WARN, the other dumped, exit 0.
        Path jar = jarForNobody();
        Path out = nobodysDirectory(dir);
        String victim = Victim.directory().resolve("victim_marker").toString();
        String script = "sleep 60 | \"$2\" ROOT > /dev/null & "
            + "sleep 60 | setpriv --reuid=65534 --regid=65534 --clear-groups \"$2\" NOBODY > /dev/null & sleep 0.5; "
            + "exec setpriv --reuid=65534 --regid=65534 --clear-groups \"$0\" -jar \"$1\" dump --all --out-dir \"$3\"";
        Process p = new ProcessBuilder("unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script, java(),
            jar.toString(), victim, out.toString()).start();
        p.getOutputStream().close();
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), stdout + stderr);
        assertTrue(stderr.lines().anyMatch(l -> l.startsWith("WARN") && l.contains("access denied")
            && l.contains("victim_marker")), stderr);
        assertTrue(stdout.startsWith("dump --all: "), stdout);
        assertTrue(stdout.contains("access denied"), stdout);
        assertTrue(stdout.contains("0 failed"), stdout);
        List<String> files = names(out);
        assertEquals(1, files.stream().filter(f -> f.startsWith("victim_marker.")).count(), files.toString());
    }

    @Test
    void interruptedFrozenDumpResumesTheTargetAndLeavesNoFile() throws Exception {
        // Big enough that the dump is still running when SIGINT arrives: a descriptor of the JVM
        // on a file in the directory (unnamed, O_TMPFILE) says it has begun writing.
        try (Victim v = Victim.start("victim_pages", "768", "1")) {
            Process p = new ProcessBuilder(java(), "-jar", System.getProperty("memsentry.jar"), "dump", "--pid",
                String.valueOf(v.pid()), "--out-dir", dir.toString(), "--freeze", "--max-region-size", "0").start();
            p.getOutputStream().close();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            boolean started = false;
            while (!started && p.isAlive() && System.nanoTime() < deadline) {
                started = writesInto(p.pid(), dir);
                Thread.sleep(2);
            }
            if (!started) {
                p.waitFor(60, TimeUnit.SECONDS);
                org.junit.jupiter.api.Assumptions.assumeTrue(false,
                    "the dump finished before it could be interrupted on this machine");
            }
            run("kill", "-INT", String.valueOf(p.pid()));
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(130, p.exitValue(), stderr);
            assertEquals(List.of(), names(dir), "no file may stay behind");
            assertEquals("0", NativeDumpTestAccess.status(v.pid(), "TracerPid"));
            String state = NativeDumpTestAccess.status(v.pid(), "State");
            assertFalse(state.startsWith("t") || state.startsWith("T"), state);
        }
    }
}
