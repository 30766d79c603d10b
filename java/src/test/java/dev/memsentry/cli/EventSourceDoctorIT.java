package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import java.util.List;
import org.junit.jupiter.api.Test;

/** doctor names the process-event source watch would use, and why it fell back to the poller. */
class EventSourceDoctorIT {
    private static JsonNode processEvents(CliIT.Run r) throws Exception {
        assertEquals(0, r.code(), r.err());
        return Json.mapper().readTree(r.out()).get("capabilities").get("process_events");
    }

    @Test
    void theConnectorOnTheHostAndThePollerInAChildPidNamespace() throws Exception {
        NativeSupport.requireNative();
        JsonNode host = processEvents(CliIT.jar(List.of(), "doctor", "--json"));
        assertTrue(host.get("available").asBoolean(), host.toString());
        assumeTrue(host.get("check").asText().contains("netlink-connector"),
            "no process connector on this host: " + host);

        JsonNode inside = processEvents(CliIT.jarInPidNamespace(List.of(), "doctor", "--json"));
        assertTrue(inside.get("available").asBoolean(), inside.toString());
        String check = inside.get("check").asText();
        assertTrue(check.startsWith("ok (proc-poller: in a child PID namespace"), check);
        assertTrue(check.contains("initial namespace's pids"), check);
    }
}
