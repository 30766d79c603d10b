package dev.memsentry.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.agent.ContainerFacts;
import dev.memsentry.container.Container;
import dev.memsentry.container.ContainerMetadata;
import dev.memsentry.output.Json;
import dev.memsentry.output.JsonFields;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class EcsWriterTest {
    private final EcsWriter ecs = new EcsWriter("host-1");

    private static Alert alert(AlertRegion region, JsonFields yara) {
        JsonFields details = new JsonFields().put("first_difference", "0x7f0000001100");
        return new Alert(Instant.parse("2026-01-02T03:04:05.678Z"), BuiltinRules.CODE_PATCHED, Severity.HIGH,
            new ProcessRef(42, "nginx", "/usr/sbin/nginx", List.of("nginx", "-g", "daemon off;"), "ab".repeat(32)),
            region, "1 page(s) differ", details, yara);
    }

    /** The document as it is written, read back. */
    private static JsonNode tree(EcsDocument doc) throws Exception {
        return Json.mapper().readTree(doc.json());
    }

    @Test
    void alertCarriesTheEcsFieldsTheIssueLists() throws Exception {
        JsonNode d = tree(ecs.alert(alert(
            new AlertRegion(0x7f0000001000L, 0x7f0000003000L, "r-xp", "/usr/lib/libc.so.6", "file"), null)));
        assertEquals("2026-01-02T03:04:05.678Z", d.at("/@timestamp").asText());
        assertEquals("alert", d.at("/event/kind").asText());
        assertEquals(List.of("process", "intrusion_detection"), Json.mapper().convertValue(d.at("/event/category"), List.class));
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
    void noRegionNoRegionObjectAndYaraIsKept() throws Exception {
        JsonFields yara = new JsonFields().put("rule", "r1").put("namespace", "default");
        JsonNode d = tree(ecs.alert(alert(null, yara)));
        assertTrue(d.at("/memsentry/region").isMissingNode());
        assertEquals("r1", d.at("/memsentry/yara/rule").asText());
        assertEquals("yara", d.at("/rule/ruleset").asText());
    }

    @Test
    void eventsAreNotAlerts() throws Exception {
        JsonNode e = tree(ecs.event(Instant.EPOCH, "scan-summary", null, null, "done", new JsonFields()));
        assertEquals("event", e.at("/event/kind").asText());
        assertEquals("scan-summary", e.at("/event/action").asText());
        assertFalse(e.has("process"));
        assertEquals("1970-01-01T00:00:00Z", e.at("/@timestamp").asText());
    }

    @Test
    void kubernetesContainerGivesContainerAndOrchestratorFieldsOnAlertsAndEvents() throws Exception {
        String id = "8e2c4a6f0b1d3e5f7a9c8b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f";
        ContainerFacts facts = new ContainerFacts(ContainerFacts.ID | ContainerFacts.POD | ContainerFacts.NS_KNOWN
            | ContainerFacts.NSPID_KNOWN | ContainerFacts.OTHER_NS, id, "containerd",
            "2f1b4c7e-9a3d-4e51-8c2b-6d0e7f9a1b23", 7, 4026532177L, 4026532174L, 4026531837L);
        Container c = new Container(facts, new ContainerMetadata("web", "docker.io/library/nginx:1.25", "web-7d9f", "shop"));
        ProcessRef p = new ProcessRef(4242, "nginx", "/usr/sbin/nginx", List.of("nginx"), null).inContainer(c, true);
        Alert a = new Alert(Instant.now(), BuiltinRules.RWX, Severity.HIGH, p, null, "rwx", new JsonFields(), null);
        for (JsonNode d : List.of(tree(ecs.alert(a)), tree(ecs.event(Instant.now(), "kill", "success", p, "killed", null)))) {
            assertEquals(id, d.at("/container/id").asText());
            assertEquals("containerd", d.at("/container/runtime").asText());
            assertEquals("web", d.at("/container/name").asText());
            assertEquals("docker.io/library/nginx:1.25", d.at("/container/image/name").asText());
            assertEquals("kubernetes", d.at("/orchestrator/type").asText());
            assertEquals("shop", d.at("/orchestrator/namespace").asText());
            assertEquals("pod", d.at("/orchestrator/resource/type").asText());
            assertEquals("web-7d9f", d.at("/orchestrator/resource/name").asText());
            assertEquals("2f1b4c7e-9a3d-4e51-8c2b-6d0e7f9a1b23", d.at("/orchestrator/resource/id").asText());
            assertEquals("/usr/sbin/nginx", d.at("/process/executable").asText(), "the path the process sees");
            assertEquals("/proc/4242/root/usr/sbin/nginx", d.at("/memsentry/host_executable").asText());
            assertEquals(7, d.at("/process/vpid").asLong());
            assertEquals(4026532177L, d.at("/memsentry/namespaces/pid").asLong());
        }
    }

    @Test
    void containerWithoutMetadataIsTheIdAloneAndAHostProcessHasNoContainer() throws Exception {
        ContainerFacts facts = new ContainerFacts(ContainerFacts.ID, "a".repeat(64), "docker", "", -1, 0, 0, 0);
        ProcessRef p = new ProcessRef(9, "x", "/x", List.of(), null).inContainer(new Container(facts, ContainerMetadata.NONE), false);
        JsonNode d = tree(ecs.event(Instant.now(), "dump", "success", p, "dumped", null));
        assertEquals("a".repeat(64), d.at("/container/id").asText());
        assertTrue(d.at("/container/name").isMissingNode());
        assertTrue(d.at("/container/image").isMissingNode());
        assertTrue(d.at("/orchestrator").isMissingNode());
        assertTrue(d.at("/process/vpid").isMissingNode());
        assertEquals("/proc/9/root/x", d.at("/memsentry/host_executable").asText());
        JsonNode host = tree(ecs.alert(alert(null, null)));
        assertTrue(host.at("/container").isMissingNode());
        assertTrue(host.at("/memsentry/host_executable").isMissingNode());
    }
}
