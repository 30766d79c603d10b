package dev.memsentry.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.memsentry.agent.ContainerFacts;
import dev.memsentry.agent.TraceAbi;
import dev.memsentry.agent.TraceEvent;
import dev.memsentry.agent.TraceEventKind;
import dev.memsentry.container.Container;
import dev.memsentry.container.ContainerMetadata;
import dev.memsentry.detect.Alert;
import dev.memsentry.detect.AlertRegion;
import dev.memsentry.detect.BuiltinRules;
import dev.memsentry.detect.EcsDocument;
import dev.memsentry.detect.EcsWriter;
import dev.memsentry.detect.ProcessRef;
import dev.memsentry.detect.Rule;
import dev.memsentry.detect.Severity;
import dev.memsentry.output.JsonFields;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The streamed documents are byte for byte what the Jackson trees of EcsWriter wrote before them
 * (ecs-documents.txt was written by that code, from these same alerts and events): every ECS
 * shape, hostile strings, containers and pods, YARA matches, trace and watch extras, responses;
 * and each one's sink record (key, syslog severity, MSGID, host, time).
 */
class EcsDocumentTextTest {
    private static final UUID ID = UUID.fromString("0f0e0d0c-0b0a-4908-8706-050403020100");

    @Test
    void documentsAndSinkRecordsAreWhatTheTreesWrote() throws IOException {
        List<String> expected;
        try (InputStream in = EcsDocumentTextTest.class.getResourceAsStream("ecs-documents.txt")) {
            expected = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        }
        List<String> got = new ArrayList<>();
        for (EcsDocument d : documents()) {
            d.identify(ID);
            got.add(d.json());
            SinkRecord r = SinkRecord.of(d);
            got.add(r.key() + "|" + r.severity() + "|" + r.msgid() + "|" + r.hostname() + "|" + r.timestamp());
            assertEquals(d.json(), r.json());
            // The record a spool replay reads back from the line is the one delivered live.
            assertEquals(r, SinkRecord.parse(r.json()), "replayed record of line " + (got.size() - 1));
        }
        assertEquals(expected.size(), got.size());
        for (int i = 0; i < got.size(); i++) {
            assertEquals(expected.get(i), got.get(i), "line " + (i + 1));
        }
    }

    private static List<EcsDocument> documents() {
        EcsWriter ecs = new EcsWriter("host-1");
        Instant t = Instant.parse("2026-01-02T03:04:05.678912345Z");
        ProcessRef host = new ProcessRef(42, "ngi\"nx\u0001", "/usr/sbin/nginx", List.of("nginx", "-g", "daemon off;\n"),
            "ab".repeat(32));
        String id = "8e2c4a6f0b1d3e5f7a9c8b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f";
        ContainerFacts facts = new ContainerFacts(ContainerFacts.ID | ContainerFacts.POD | ContainerFacts.NS_KNOWN
            | ContainerFacts.NSPID_KNOWN | ContainerFacts.OTHER_NS, id, "containerd",
            "2f1b4c7e-9a3d-4e51-8c2b-6d0e7f9a1b23", 7, 4026532177L, 4026532174L, 4026531837L);
        ProcessRef pod = new ProcessRef(4242, "nginx", "/usr/sbin/nginx", List.of("nginx"), null)
            .inContainer(new Container(facts, new ContainerMetadata("web", "docker.io/library/nginx:1.25", "web-7d9f",
                "shop")), true);
        ProcessRef bare = new ProcessRef(9, "x", "/x", List.of(), null).inContainer(new Container(
            new ContainerFacts(ContainerFacts.ID, "a".repeat(64), "docker", "", -1, 0, 0, 0), ContainerMetadata.NONE), false);
        ProcessRef nulls = new ProcessRef(5, null, null, List.of(), null);
        JsonFields details = new JsonFields().put("first_difference", "0x7f0000001100").put("pages", 3);
        details.putArray("samples").addObject().put("offset", 16).put("bytes", "9090");
        AlertRegion region = new AlertRegion(0x7f0000001000L, 0x7f0000003000L, "r-xp", "/usr/lib/libc.so.6", "file");
        JsonFields yara = new JsonFields().put("rule", "r1").put("namespace", "default");
        yara.putArray("tags").add("t1").add("t2");
        yara.putObject("meta").put("author", "me").put("score", 80).put("enabled", true);
        yara.putArray("strings").addObject().put("identifier", "$a").put("address", "0x7f0000001010").put("offset", 16)
            .put("length", 4);
        yara.put("regions_total", 2);
        Rule yr = new Rule("yara.default.r1", "r1", Severity.CRITICAL, null, null, List.of("malware"), "YARA rule r1", false);
        JsonFields summary = new JsonFields();
        summary.putObject("summary").put("processes_scanned", 3).putArray("x").add(1).add("y");
        JsonFields response = new JsonFields();
        response.putObject("response").put("action", "dump");
        return List.of(
            ecs.alert(new Alert(t, BuiltinRules.CODE_PATCHED, Severity.HIGH, host, region, "1 page(s) differ \u00e9\t",
                details, null)),
            ecs.alert(new Alert(t, yr, Severity.CRITICAL, pod, null, "YARA rule r1 matched", new JsonFields(), yara)),
            ecs.alert(new Alert(t, BuiltinRules.RWX, Severity.MEDIUM, bare, region, "rwx", new JsonFields(), null)),
            ecs.alert(new Alert(t, BuiltinRules.RWX, Severity.LOW, nulls, new AlertRegion(1, 2, "rwxp", null, "anonymous"),
                "rwx", new JsonFields(), null)),
            ecs.traceAlert(new Alert(t, BuiltinRules.TRACE_WX_TRANSITION, Severity.HIGH, host, region, "mprotect",
                new JsonFields().put("tid", 43).put("perms_before", "rw-p"), null), new TraceEvent(TraceEventKind.SYSCALL,
                1767323045678912345L, 42, 43, 10, TraceAbi.X86_64, "mprotect", new long[] {0x7f0000001000L, 0x2000, 5, 0, 0, 0},
                "PROT_READ|PROT_EXEC", "", true, 0, "", 0, 0, 0))
                .watch("trace", -1),
            ecs.alert(new Alert(t, BuiltinRules.RWX, Severity.HIGH, pod, region, "rwx", new JsonFields(), null))
                .watch("new-exec", 123456),
            ecs.event(t, "scan-summary", null, null, "scanned 3 processes", summary),
            ecs.event(t, "kill", "success", pod, "killed", null),
            ecs.event(t, "dump", "failure", bare, "dumped", null),
            ecs.event(t, "dump", "failure", host, "dumped", new JsonFields().put("k", "v")),
            ecs.event(t, "dump", "success", pod, "dump ok", response).succeeded("creation").file("/ev/x.core"),
            ecs.event(t, "kill", "success", host, "kill ok", new JsonFields()).succeeded("end"));
    }
}
