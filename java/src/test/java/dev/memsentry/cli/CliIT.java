package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Victim;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** End to end: the built jar, run as a user runs it, against real processes. */
class CliIT {
    record Run(int code, String out, String err) {
    }

    static Run jar(List<String> jvmArgs, String... args) throws IOException, InterruptedException {
        return run(jarCommand(List.of(), jvmArgs, args));
    }

    /** prefix (a wrapper such as unshare, or nothing), then java JVM_ARGS -jar orchestrator.jar ARGS. */
    static List<String> jarCommand(List<String> prefix, List<String> jvmArgs, String... args) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        cmd.add("-jar");
        cmd.add(System.getProperty("memsentry.jar"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Runs cmd with no standard input; standard error is drained alongside, so neither pipe fills. */
    static Run run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> {
            try {
                return p.getErrorStream().readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "did not finish: " + cmd);
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err.join(), StandardCharsets.UTF_8));
    }

    @Test
    void regionsJsonListsTheRegionHoldingTheAddressTheVictimPrinted() throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.start("victim_marker")) {
            Run r = jar(List.of(), "regions", "--pid", String.valueOf(v.pid()), "--json");
            assertEquals(0, r.code(), r.err());
            long addr = v.hex("addr");
            boolean found = false;
            for (String line : r.out().split("\n")) {
                JsonNode n = Json.mapper().readTree(line);
                long start = Long.parseUnsignedLong(n.get("start").asText().substring(2), 16);
                long end = Long.parseUnsignedLong(n.get("end").asText().substring(2), 16);
                found |= Long.compareUnsigned(start, addr) <= 0 && Long.compareUnsigned(addr, end) < 0;
            }
            assertTrue(found, r.out());
            assertEquals("", r.err(), "nothing on stderr in a clean run");
        }
    }

    @Test
    void psListsEveryProcessOfItsPidNamespace() throws Exception {
        NativeSupport.requireNative();
        // A sweep of every process runs in a fresh PID namespace holding only what the test started:
        // sh becomes PID 1, starts sleep (PID 2) and replaces itself with the orchestrator.
        Run r = jarInPidNamespace(List.of(), "ps", "--json");
        assertEquals(0, r.code(), r.err());
        String out = r.out();
        List<JsonNode> procs = new ArrayList<>();
        for (String line : out.split("\n")) {
            procs.add(Json.mapper().readTree(line));
        }
        assertEquals(2, procs.size(), out);
        JsonNode self = procs.stream().filter(n -> n.get("pid").asLong() == 1).findFirst().orElseThrow();
        JsonNode sleep = procs.stream().filter(n -> n.get("pid").asLong() == 2).findFirst().orElseThrow();
        assertEquals("java", self.get("name").asText());
        assertEquals("sleep", sleep.get("name").asText());
        assertEquals(1, sleep.get("ppid").asLong());
        assertEquals("sleep 60", sleep.get("cmdline").asText());
        assertTrue(sleep.get("exe").asText().endsWith("/sleep"), sleep.toString());
        assertFalse(sleep.get("kernel_thread").asBoolean());
    }

    @Test
    void doctorSaysTheNativeBackendIsInUse() throws Exception {
        NativeSupport.requireNative();
        Run r = jar(List.of(), "doctor");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("backend          native"), r.out());
    }

    @Test
    void brokenLibraryFallsBackToTheStubWithOneWarningAndDoctorExplains(@TempDir Path tmp) throws Exception {
        Path broken = tmp.resolve("libmemsentry.so");
        Files.writeString(broken, "this is not a shared object");
        List<String> jvm = List.of("-Dmemsentry.native.path=" + broken);

        Run doctor = jar(jvm, "doctor");
        assertEquals(ExitCodes.OK, doctor.code(), doctor.out() + doctor.err());
        assertTrue(doctor.out().contains(broken.toString()), doctor.out());
        assertTrue(doctor.out().contains("backend          stub"), doctor.out());
        assertTrue(doctor.out().matches("(?s).*\\n    native +unusable .*"), doctor.out());
        assertTrue(doctor.out().matches("(?s).*\\n    stub +in use .*"), doctor.out());
        assertTrue(doctor.out().matches("(?s).*\\n    scan memory with YARA rules +- +-\\n.*"), doctor.out());
        assertTrue(doctor.out().matches("(?s).*\\n    list processes +- +yes\\n.*"), doctor.out());

        Run ps = jarInPidNamespace(jvm, "ps", "--json");
        assertEquals(ExitCodes.OK, ps.code(), ps.err());
        assertOneFallbackWarning(ps.err(), broken);
        boolean listed = false;
        for (String line : ps.out().split("\n")) {
            JsonNode n = Json.mapper().readTree(line);
            listed |= n.get("pid").asLong() == 2 && n.get("name").asText().equals("sleep") && n.get("ppid").asLong() == 1;
        }
        assertTrue(listed, "the namespace's sleep is listed through the stub: " + ps.out());

        try (Victim v = Victim.start("victim_marker")) {
            Run regions = jar(jvm, "regions", "--pid", String.valueOf(v.pid()), "--json");
            assertEquals(ExitCodes.OK, regions.code(), regions.err());
            assertOneFallbackWarning(regions.err(), broken);
            long addr = v.hex("addr");
            boolean found = false;
            for (String line : regions.out().split("\n")) {
                JsonNode n = Json.mapper().readTree(line);
                long start = Long.parseUnsignedLong(n.get("start").asText().substring(2), 16);
                long end = Long.parseUnsignedLong(n.get("end").asText().substring(2), 16);
                if (Long.compareUnsigned(start, addr) <= 0 && Long.compareUnsigned(addr, end) < 0) {
                    found = true;
                    assertEquals("anonymous", n.get("kind").asText());
                }
            }
            assertTrue(found, regions.out());
        }

        Run strict = jar(jvm, "--backend", "native", "ps");
        assertEquals(ExitCodes.FAILED, strict.code());
        assertEquals(1, strict.err().strip().lines().count(), strict.err());
    }

    /**
     * Runs the jar as PID 1 of a fresh PID namespace whose only other process is a sleep (PID 2), so
     * that a sweep of every process touches nothing the test did not start.
     */
    static Run jarInPidNamespace(List<String> jvmArgs, String... args) throws IOException, InterruptedException {
        return run(jarCommand(List.of("unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", "sleep 60 & exec \"$@\"", "sh"),
            jvmArgs, args));
    }

    private static void assertOneFallbackWarning(String err, Path broken) {
        List<String> lines = err.strip().lines().toList();
        assertEquals(1, lines.size(), "exactly one line, the fallback warning: " + err);
        assertTrue(lines.get(0).startsWith("WARN"), err);
        assertTrue(lines.get(0).contains(broken.toString()), err);
        assertTrue(lines.get(0).contains("Python stub agent") && lines.get(0).contains("capabilities off: yara, trace"), err);
    }

    @Test
    void withoutTheLibraryAndWithoutPythonOperationsFailWithOneWarningAndOneError(@TempDir Path tmp) throws Exception {
        Path broken = tmp.resolve("libmemsentry.so");
        Files.writeString(broken, "this is not a shared object");
        List<String> jvm = List.of("-Dmemsentry.native.path=" + broken, "-Dmemsentry.python=" + tmp.resolve("no-python"));

        Run doctor = jar(jvm, "doctor");
        assertEquals(ExitCodes.FAILED, doctor.code(), doctor.out() + doctor.err());
        assertTrue(doctor.out().contains("backend          none"), doctor.out());
        assertTrue(doctor.out().contains("no-python"), doctor.out());

        Run ps = jar(jvm, "ps");
        assertEquals(ExitCodes.FAILED, ps.code());
        List<String> lines = ps.err().strip().lines().toList();
        assertEquals(2, lines.size(), "one WARN line and one error line: " + ps.err());
        assertTrue(lines.get(0).startsWith("WARN") && lines.get(0).contains(broken.toString())
            && lines.get(0).contains("MEMSENTRY_PYTHON"), ps.err());
        assertFalse(ps.err().contains("\tat "), "no stack trace");
    }

    @Test
    void stubBackendCanBeForcedAndSaysNothingWhenAsked() throws Exception {
        NativeSupport.requireNative();
        try (Victim v = Victim.start("victim_marker")) {
            Run regions = jar(List.of(), "--backend", "stub", "regions", "--pid", String.valueOf(v.pid()));
            assertEquals(0, regions.code(), regions.err());
            assertEquals("", regions.err(), "a backend that was asked for is not a fallback");
            assertTrue(regions.out().contains("[stack]"), regions.out());
        }
        Run doctor = jar(List.of(), "--backend", "stub", "doctor", "--json");
        assertEquals(0, doctor.code(), doctor.err());
        JsonNode d = Json.mapper().readTree(doctor.out());
        assertEquals("stub", d.get("backend").asText());
        assertTrue(d.get("backends").get("native").get("available").asBoolean(), d.toString());
        assertFalse(d.get("backends").get("native").get("in_use").asBoolean());
        assertTrue(d.get("capabilities").get("terminate").get("available").asBoolean(), d.toString());
        assertTrue(d.get("capabilities").get("terminate").get("check").asText().contains("refused"), d.toString());
        assertFalse(d.get("capabilities").get("yara").get("available").asBoolean());
    }
}
