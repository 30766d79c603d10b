package dev.memsentry.detect;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memsentry.output.Json;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeFormatter;

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

    /** An alert raised on a syscall stream by `trace`: the alert, plus the syscall under memsentry.syscall. */
    public ObjectNode traceAlert(Alert a, ObjectNode syscall) {
        ObjectNode doc = alert(a);
        ((ObjectNode) doc.get("memsentry")).set("syscall", syscall);
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
    }

    static String timestamp(Instant at) {
        return DateTimeFormatter.ISO_INSTANT.format(at);
    }
}
