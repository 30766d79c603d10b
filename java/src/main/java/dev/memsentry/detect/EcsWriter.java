package dev.memsentry.detect;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import dev.memsentry.agent.ContainerFacts;
import dev.memsentry.container.Container;
import dev.memsentry.container.ContainerMetadata;
import dev.memsentry.output.IsoInstant;
import dev.memsentry.output.Json;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Alerts and events as Elastic Common Schema documents (nested objects, one per line when
 * written): event.kind "alert" for detections, "event" for what memsentry did (responses, the
 * scan summary). Field names follow ECS; memsentry's own fields live under memsentry.*.
 */
public final class EcsWriter {
    private final String hostname;

    public EcsWriter() {
        this(localHostname());
    }

    public EcsWriter(String hostname) {
        this.hostname = hostname;
    }

    /** The kernel's hostname: no DNS lookup, which may hang on a host under attack. */
    static String localHostname() {
        try {
            String h = Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
            if (!h.isEmpty()) {
                return h;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or /proc hidden: fall back
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

    public String hostname() {
        return hostname;
    }

    public ObjectNode alert(Alert a) {
        ObjectNode doc = Json.object();
        doc.put("@timestamp", timestamp(a.timestamp()));
        ObjectNode event = doc.putObject("event");
        event.put("kind", "alert");
        ArrayNode categories = event.putArray("category");
        a.rule().categories().forEach(categories::add);
        event.putArray("type").add("info");
        event.put("severity", a.severity().score());
        event.put("module", "memsentry");
        event.put("dataset", "memsentry.alert");
        ObjectNode rule = doc.putObject("rule");
        rule.put("id", a.rule().id());
        rule.put("name", a.rule().name());
        rule.put("description", a.rule().description());
        rule.put("ruleset", a.yara() != null ? "yara" : "memsentry");
        if (a.rule().techniqueId() != null) {
            ObjectNode threat = doc.putObject("threat");
            threat.put("framework", "MITRE ATT&CK");
            ObjectNode technique = threat.putObject("technique");
            technique.putArray("id").add(a.rule().techniqueId());
            if (a.rule().techniqueName() != null) {
                technique.putArray("name").add(a.rule().techniqueName());
            }
        }
        process(doc, a.process());
        doc.putObject("host").put("hostname", hostname);
        doc.put("message", a.message());
        ObjectNode ms = doc.putObject("memsentry");
        ms.put("severity", a.severity().wireName());
        processExtras(ms, a.process());
        if (a.region() != null) {
            AlertRegion r = a.region();
            ms.putObject("region")
                .put("start", Json.hex(r.start()))
                .put("end", Json.hex(r.end()))
                .put("size", r.end() - r.start())
                .put("perms", r.perms())
                .put("path", r.path())
                .put("kind", r.kind());
        }
        if (!a.details().isEmpty()) {
            ms.set("details", a.details());
        }
        if (a.yara() != null) {
            ms.set("yara", a.yara());
        }
        return doc;
    }

    /**
     * An alert raised on a syscall stream by `trace`: the alert, plus the syscall under memsentry.syscall
     * (a JSON object from TraceRecords.syscall, written as it is: no tree to build per alert).
     */
    public ObjectNode traceAlert(Alert a, String syscallJson) {
        ObjectNode doc = alert(a);
        ((ObjectNode) doc.get("memsentry")).putRawValue("syscall", new RawValue(syscallJson));
        return doc;
    }

    /**
     * Something memsentry did or observed that is not a detection: a response action, the scan
     * summary. outcome is "success", "failure" or null.
     */
    public ObjectNode event(Instant at, String action, String outcome, ProcessRef process, String message,
                            ObjectNode memsentry) {
        ObjectNode doc = Json.object();
        doc.put("@timestamp", timestamp(at));
        ObjectNode event = doc.putObject("event");
        event.put("kind", "event");
        event.putArray("category").add("process");
        event.putArray("type").add("info");
        event.put("action", action);
        if (outcome != null) {
            event.put("outcome", outcome);
        }
        event.put("module", "memsentry");
        event.put("dataset", "memsentry.event");
        if (process != null) {
            process(doc, process);
        }
        doc.putObject("host").put("hostname", hostname);
        doc.put("message", message);
        if (memsentry != null) {
            doc.set("memsentry", memsentry);
        }
        if (process != null && (process.hostExecutable() != null || process.container() != null)) {
            processExtras(doc.has("memsentry") ? (ObjectNode) doc.get("memsentry") : doc.putObject("memsentry"), process);
        }
        return doc;
    }

    private static void process(ObjectNode doc, ProcessRef p) {
        ObjectNode proc = doc.putObject("process");
        proc.put("pid", p.pid());
        proc.put("name", p.name());
        proc.put("executable", p.executable());
        proc.put("command_line", p.commandLine());
        ArrayNode args = proc.putArray("args");
        p.args().forEach(args::add);
        if (p.sha256() != null) {
            proc.putObject("hash").put("sha256", p.sha256());
        }
        if (p.container() != null) {
            container(doc, proc, p.container());
        }
    }

    /**
     * ECS container.* and, for a Kubernetes pod, orchestrator.*; the PID inside the container's
     * namespace as process.vpid. Names the runtime's files did not give are left out (the id alone).
     */
    private static void container(ObjectNode doc, ObjectNode proc, Container c) {
        ContainerFacts f = c.facts();
        ContainerMetadata m = c.metadata();
        if (f.has(ContainerFacts.NSPID_KNOWN) && f.nsPid() != proc.path("pid").asLong()) {
            proc.put("vpid", f.nsPid());
        }
        ObjectNode container = doc.putObject("container");
        container.put("id", f.id());
        container.put("runtime", f.runtime());
        if (m.name() != null) {
            container.put("name", m.name());
        }
        if (m.imageName() != null) {
            container.putObject("image").put("name", m.imageName());
        }
        if (f.has(ContainerFacts.POD) || m.podName() != null) {
            ObjectNode orch = doc.putObject("orchestrator");
            orch.put("type", "kubernetes");
            if (m.podNamespace() != null) {
                orch.put("namespace", m.podNamespace());
            }
            ObjectNode resource = orch.putObject("resource");
            resource.put("type", "pod");
            if (m.podName() != null) {
                resource.put("name", m.podName());
            }
            if (f.has(ContainerFacts.POD)) {
                resource.put("id", f.podUid());
            }
        }
    }

    /** memsentry.host_executable and memsentry.namespaces: what ECS has no field for. */
    private static void processExtras(ObjectNode ms, ProcessRef p) {
        if (p.hostExecutable() != null) {
            ms.put("host_executable", p.hostExecutable());
        }
        if (p.container() != null && p.container().facts().has(ContainerFacts.NS_KNOWN)) {
            ContainerFacts f = p.container().facts();
            ms.putObject("namespaces").put("pid", f.pidNs()).put("mnt", f.mntNs()).put("user", f.userNs());
        }
    }

    static String timestamp(Instant at) {
        return IsoInstant.format(at);
    }
}
