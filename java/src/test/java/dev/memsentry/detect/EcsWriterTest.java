package dev.memsentry.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memsentry.output.Json;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class EcsWriterTest {
    private final EcsWriter ecs = new EcsWriter("host-1");

    private static Alert alert(AlertRegion region, ObjectNode yara) {
        ObjectNode details = Json.object().put("first_difference", "0x7f0000001100");
        return new Alert(Instant.parse("2026-01-02T03:04:05.678Z"), BuiltinRules.CODE_PATCHED, Severity.HIGH,
            new ProcessRef(42, "nginx", "/usr/sbin/nginx", List.of("nginx", "-g", "daemon off;"), "ab".repeat(32)),
            region, "1 page(s) differ", details, yara);
    }

    @Test
    void alertCarriesTheEcsFieldsTheIssueLists() throws Exception {
        JsonNode d = Json.MAPPER.readTree(Json.MAPPER.writeValueAsString(ecs.alert(alert(
            new AlertRegion(0x7f0000001000L, 0x7f0000003000L, "r-xp", "/usr/lib/libc.so.6", "file"), null))));
        assertEquals("2026-01-02T03:04:05.678Z", d.at("/@timestamp").asText());
        assertEquals("alert", d.at("/event/kind").asText());
        assertEquals(List.of("process", "intrusion_detection"), Json.MAPPER.convertValue(d.at("/event/category"), List.class));
        assertEquals(73, d.at("/event/severity").asInt());
        assertEquals("high", d.at("/memsentry/severity").asText());
        assertEquals("code.patched", d.at("/rule/id").asText());
        assertEquals(BuiltinRules.CODE_PATCHED.name(), d.at("/rule/name").asText());
        assertEquals(BuiltinRules.CODE_PATCHED.description(), d.at("/rule/description").asText());
        assertEquals("T1055", d.at("/threat/technique/id/0").asText());
        assertEquals(42, d.at("/process/pid").asLong());
        assertEquals("nginx", d.at("/process/name").asText());
        assertEquals("/usr/sbin/nginx", d.at("/process/executable").asText());
        assertEquals("nginx -g daemon off;", d.at("/process/command_line").asText());
        assertEquals("ab".repeat(32), d.at("/process/hash/sha256").asText());
        assertEquals("host-1", d.at("/host/hostname").asText());
        assertEquals("0x7f0000001000", d.at("/memsentry/region/start").asText());
        assertEquals("0x7f0000003000", d.at("/memsentry/region/end").asText());
        assertEquals("r-xp", d.at("/memsentry/region/perms").asText());
        assertEquals("/usr/lib/libc.so.6", d.at("/memsentry/region/path").asText());
        assertEquals("file", d.at("/memsentry/region/kind").asText());
        assertEquals("0x7f0000001100", d.at("/memsentry/details/first_difference").asText());
        assertTrue(d.at("/memsentry/yara").isMissingNode());
    }

    @Test
    void noRegionNoRegionObjectAndYaraIsKept() {
        ObjectNode yara = Json.object().put("rule", "r1").put("namespace", "default");
        ObjectNode d = ecs.alert(alert(null, yara));
        assertTrue(d.at("/memsentry/region").isMissingNode());
        assertEquals("r1", d.at("/memsentry/yara/rule").asText());
        assertEquals("yara", d.at("/rule/ruleset").asText());
    }

    @Test
    void eventsAreNotAlerts() {
        ObjectNode e = ecs.event(Instant.EPOCH, "scan-summary", null, null, "done", Json.object());
        assertEquals("event", e.at("/event/kind").asText());
        assertEquals("scan-summary", e.at("/event/action").asText());
        assertFalse(e.has("process"));
        assertEquals("1970-01-01T00:00:00Z", e.at("/@timestamp").asText());
    }
}
