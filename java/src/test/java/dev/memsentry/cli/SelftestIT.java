package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** `memsentry selftest` through the jar: every capability passes or is skipped for a reason, and nothing is left running. */
class SelftestIT {
    private static final Pattern PID = Pattern.compile("pid (\\d+)");

    private record Run(int exit, Map<String, JsonNode> checks, String err) {
    }

    private static Run selftest(Map<String, String> env, String... global) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-jar", System.getProperty("memsentry.jar")));
        cmd.addAll(List.of(global));
        cmd.addAll(List.of("selftest", "--json"));
        File err = File.createTempFile("selftest", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err);
            pb.environment().putAll(env);
            Process p = pb.start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "selftest did not end");
            Map<String, JsonNode> checks = new LinkedHashMap<>();
            for (String line : out.lines().toList()) {
                JsonNode n = Json.mapper().readTree(line);
                checks.put(n.get("capability").asText(), n);
            }
            return new Run(p.exitValue(), checks, Files.readString(err.toPath()));
        } finally {
            err.delete();
        }
    }

    /** Every implant named in a result has exited: selftest leaves nothing behind. */
    private static void noImplantLeft(Run run) {
        for (JsonNode c : run.checks().values()) {
            Matcher m = PID.matcher(c.get("detail").asText());
            while (m.find()) {
                assertFalse(Files.exists(Path.of("/proc/" + m.group(1) + "/exe")) && !zombie(m.group(1)),
                    "implant " + m.group(1) + " still runs after selftest: " + c);
            }
        }
    }

    private static boolean zombie(String pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/stat")).replaceFirst("^.*\\) ", "").startsWith("Z");
        } catch (java.io.IOException e) {
            return true;
        }
    }

    @Test
    void everyCapabilityPassesWithTheNativeAgent() throws Exception {
        NativeSupport.requireNative();
        Run run = selftest(Map.of());
        assertEquals(0, run.exit(), run.checks() + run.err());
        for (String capability : List.of("scan: shellcode made executable", "scan: RWX region",
            "scan: ELF image in anonymous memory", "scan: program run from a memfd", "yara", "dump", "trace", "kill",
            "protection")) {
            JsonNode c = run.checks().get(capability);
            assertTrue(c != null && c.get("result").asText().equals("pass"), capability + ": " + c + "\n" + run.err());
        }
        assertTrue(run.checks().get("trace").get("detail").asText().contains("trace.wx_transition"), run.checks().toString());
        noImplantLeft(run);
    }

    @Test
    void withoutLibyaraYaraIsSkippedAndTheRestStillPasses() throws Exception {
        NativeSupport.requireNative();
        Run run = selftest(Map.of("MEMSENTRY_LIBYARA", "libyara-memsentry-missing.so.0"));
        assertEquals(0, run.exit(), run.checks() + run.err());
        JsonNode yara = run.checks().get("yara");
        assertEquals("skip", yara.get("result").asText(), yara.toString());
        assertTrue(yara.get("detail").asText().contains("YARA is off"), yara.toString());
        assertEquals("pass", run.checks().get("dump").get("result").asText());
        noImplantLeft(run);
    }

    @Test
    void theStubBackendPassesWhatItCanAndSkipsTheRest() throws Exception {
        Run run = selftest(Map.of(), "--backend", "stub");
        assertEquals(0, run.exit(), run.checks() + run.err());
        assertEquals("pass", run.checks().get("scan: RWX region").get("result").asText(), run.checks().toString());
        assertEquals("pass", run.checks().get("kill").get("result").asText(), run.checks().toString());
        assertEquals("skip", run.checks().get("trace").get("result").asText(), run.checks().toString());
        noImplantLeft(run);
    }
}
