package dev.memsentry.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Victim;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The kill response of a process that exited during its scan, whose PID was then given to another
 * process (through ns_last_pid, in a PID namespace of the test's own): it hits nothing, and the one
 * event says the process is gone.
 */
class ResponderPinTest {
    @ParameterizedTest
    @ValueSource(strings = {"native", "stub"})
    void aRecycledPidIsNeverHitByTheKillResponse(String backend) throws Exception {
        NativeSupport.requireNative();
        List<String> cmd = new ArrayList<>(List.of("unshare", "--pid", "--fork", "--mount-proc",
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
            "-cp", System.getProperty("java.class.path"), "-Dmemsentry.victims.dir=" + Victim.directory(),
            RecycledPidResponse.class.getName(), backend));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), out);
        assertEquals(0, p.exitValue(), out);
        assumeTrue(!out.contains("RECYCLED false"), "the PID could not be recycled here:\n" + out);
        assertTrue(out.contains("RECYCLED true"), out);
        List<JsonNode> events = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.startsWith("EVENT ")) {
                events.add(Json.mapper().readTree(line.substring(6)));
            }
        }
        assertEquals(1, events.size(), out);
        JsonNode e = events.get(0);
        assertEquals("kill", e.at("/event/action").asText(), out);
        assertEquals("failure", e.at("/event/outcome").asText(), out);
        assertEquals("not-found", e.at("/memsentry/response/result").asText(), out);
        assertEquals(0, e.at("/memsentry/response/signals").size(), out);
        assertTrue(out.lines().anyMatch(l -> l.contains("WARN") && l.contains("kill pid")), out);
        assertTrue(out.contains("HEIR_ALIVE true"), "the process that inherited the PID was hit:\n" + out);
    }
}
