package dev.memsentry.detect;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memsentry.agent.ContainerFacts;
import dev.memsentry.container.Container;
import dev.memsentry.container.ContainerMetadata;
import dev.memsentry.output.IsoInstant;
import dev.memsentry.output.JsonLine;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * One alert or event as an Elastic Common Schema document, from {@link EcsWriter}: what goes into
 * it is held here and written straight through {@link JsonLine} when the document goes out, field
 * by field in a fixed order, with no tree of nodes to build and walk per alert (on a traced launch
 * that tree was most of what the JIT compiled). Only the free-form parts (an alert's details and
 * YARA match, an event's memsentry payload) are Jackson trees. Add to a document (its event.id,
 * memsentry.watch, a dump's file) before its first {@link #json()}: the text is made once.
 * Not thread-safe.
 */
public final class EcsDocument {
    private final String hostname;
    private final Instant at;
    private final Alert alert; // null: an event
    private final String action; // events
    private final String outcome;
    private final ProcessRef process; // null: about no process (events only)
    private final String message;
    private final ObjectNode memsentry; // an event's memsentry.* payload, may be null
    private String syscall; // an alert's memsentry.syscall, a JSON object as it is
    private String watchScan; // memsentry.watch.scan
    private long watchStartTicks = -1; // memsentry.watch.process_start_ticks, -1: none
    private String successType; // event.type instead of "info"
    private String filePath; // file.path, and "file" in event.category
    private String id;
    private String json;

    private EcsDocument(String hostname, Instant at, Alert alert, String action, String outcome, ProcessRef process,
                        String message, ObjectNode memsentry) {
        this.hostname = hostname;
        this.at = at;
        this.alert = alert;
        this.action = action;
        this.outcome = outcome;
        this.process = process;
        this.message = message;
        this.memsentry = memsentry;
    }

    static EcsDocument alert(String hostname, Alert a) {
        return new EcsDocument(hostname, a.timestamp(), a, null, null, a.process(), a.message(), null);
    }

    static EcsDocument event(String hostname, Instant at, String action, String outcome, ProcessRef process,
                             String message, ObjectNode memsentry) {
        return new EcsDocument(hostname, at, null, action, outcome, process, message, memsentry);
    }

    /** memsentry.syscall of a trace's alert: a JSON object, written as it is. */
    EcsDocument syscall(String syscallJson) {
        this.syscall = syscallJson;
        return this;
    }

    /** memsentry.watch: which scan of `watch` raised the alert, and of which process instance (-1: not said). */
    public EcsDocument watch(String scan, long processStartTicks) {
        this.watchScan = scan;
        this.watchStartTicks = processStartTicks;
        return this;
    }

    /** A response that succeeded: event.type becomes type ("creation" of evidence, "end" of a process). */
    public EcsDocument succeeded(String type) {
        this.successType = type;
        return this;
    }

    /** Evidence written: "file" in event.category and file.path. */
    public EcsDocument file(String path) {
        this.filePath = path;
        return this;
    }

    /** Gives the document its event.id (a random UUID) unless it has one. */
    public void identify(UUID random) {
        if (id == null) {
            id = random.toString();
        }
    }

    public boolean identified() {
        return id != null;
    }

    /** event.id (null until identified). */
    public String id() {
        return id;
    }

    public boolean isAlert() {
        return alert != null;
    }

    /** memsentry.severity of an alert ("high"); null for an event. */
    public String severity() {
        return alert == null ? null : alert.severity().wireName();
    }

    /** event.action of an event; null for an alert. */
    public String action() {
        return action;
    }

    /** rule.id of an alert; null for an event. */
    public String ruleId() {
        return alert == null ? null : alert.rule().id();
    }

    public String hostname() {
        return hostname;
    }

    /** process.pid, or -1 for a document about no process. */
    public long pid() {
        return process == null ? -1 : process.pid();
    }

    public String timestamp() {
        return IsoInstant.format(at);
    }

    public String message() {
        return message;
    }

    /** An event's memsentry payload, to add to before it goes out (null: none). */
    public ObjectNode memsentry() {
        return memsentry;
    }

    /** The document as one line of JSON (made once). */
    public String json() {
        if (json == null) {
            JsonLine g = new JsonLine();
            write(g);
            json = g.toString();
        }
        return json;
    }

    /** Writes the document into g (its own text if it has been made already). */
    public void write(JsonLine g) {
        if (json != null) {
            g.raw(json);
            return;
        }
        g.startObject();
        text(g, "@timestamp", timestamp());
        if (alert != null) {
            writeAlert(g);
        } else {
            writeEvent(g);
        }
        g.endObject();
    }

    private void writeAlert(JsonLine g) {
        Alert a = alert;
        Rule r = a.rule();
        g.name("event").startObject();
        g.field("kind", "alert");
        strings(g, "category", r.categories());
        g.name("type").startArray().string("info").endArray();
        g.field("severity", a.severity().score());
        eventTail(g);
        g.name("rule").startObject();
        text(g, "id", r.id());
        text(g, "name", r.name());
        text(g, "description", r.description());
        g.field("ruleset", a.yara() != null ? "yara" : "memsentry");
        g.endObject();
        if (r.techniqueId() != null) {
            g.name("threat").startObject();
            g.field("framework", "MITRE ATT&CK");
            g.name("technique").startObject();
            g.name("id").startArray().string(r.techniqueId()).endArray();
            if (r.techniqueName() != null) {
                g.name("name").startArray().string(r.techniqueName()).endArray();
            }
            g.endObject().endObject();
        }
        process(g, process);
        hostAndMessage(g);
        g.name("memsentry").startObject();
        g.field("severity", a.severity().wireName());
        processExtras(g, process);
        if (a.region() != null) {
            AlertRegion region = a.region();
            g.name("region").startObject();
            g.name("start").hex(region.start());
            g.name("end").hex(region.end());
            g.field("size", region.end() - region.start());
            text(g, "perms", region.perms());
            text(g, "path", region.path());
            text(g, "kind", region.kind());
            g.endObject();
        }
        if (!a.details().isEmpty()) {
            g.name("details").tree(a.details());
        }
        if (a.yara() != null) {
            g.name("yara").tree(a.yara());
        }
        if (syscall != null) {
            g.name("syscall").raw(syscall);
        }
        watch(g);
        g.endObject();
    }

    private void writeEvent(JsonLine g) {
        g.name("event").startObject();
        g.field("kind", "event");
        g.name("category").startArray().string("process");
        if (filePath != null) {
            g.string("file");
        }
        g.endArray();
        g.name("type").startArray().string(successType != null ? successType : "info").endArray();
        text(g, "action", action);
        if (outcome != null) {
            g.field("outcome", outcome);
        }
        eventTail(g);
        if (process != null) {
            process(g, process);
        }
        hostAndMessage(g);
        boolean extras = process != null && (process.hostExecutable() != null || process.container() != null);
        if (memsentry != null || extras || watchScan != null) {
            g.name("memsentry").startObject();
            if (memsentry != null) {
                for (Map.Entry<String, JsonNode> member : memsentry.properties()) {
                    g.name(member.getKey()).tree(member.getValue());
                }
            }
            if (extras) {
                processExtras(g, process);
            }
            watch(g);
            g.endObject();
        }
        if (filePath != null) {
            g.name("file").startObject();
            text(g, "path", filePath);
            g.endObject();
        }
    }

    private void eventTail(JsonLine g) {
        g.field("module", "memsentry");
        g.field("dataset", alert != null ? "memsentry.alert" : "memsentry.event");
        if (id != null) {
            g.field("id", id);
        }
        g.endObject();
    }

    private void hostAndMessage(JsonLine g) {
        g.name("host").startObject();
        text(g, "hostname", hostname);
        g.endObject();
        text(g, "message", message);
    }

    private void watch(JsonLine g) {
        if (watchScan != null) {
            g.name("watch").startObject();
            text(g, "scan", watchScan);
            if (watchStartTicks >= 0) {
                g.field("process_start_ticks", watchStartTicks);
            }
            g.endObject();
        }
    }

    private static void process(JsonLine g, ProcessRef p) {
        g.name("process").startObject();
        g.field("pid", p.pid());
        text(g, "name", p.name());
        text(g, "executable", p.executable());
        text(g, "command_line", p.commandLine());
        strings(g, "args", p.args());
        if (p.sha256() != null) {
            g.name("hash").startObject();
            g.field("sha256", p.sha256());
            g.endObject();
        }
        Container c = p.container();
        ContainerFacts f = c == null ? null : c.facts();
        if (f != null && f.has(ContainerFacts.NSPID_KNOWN) && f.nsPid() != p.pid()) {
            g.field("vpid", f.nsPid());
        }
        g.endObject();
        if (c != null) {
            container(g, c);
        }
    }

    /**
     * ECS container.* and, for a Kubernetes pod, orchestrator.*. Names the runtime's files did not
     * give are left out (the id alone).
     */
    private static void container(JsonLine g, Container c) {
        ContainerFacts f = c.facts();
        ContainerMetadata m = c.metadata();
        g.name("container").startObject();
        text(g, "id", f.id());
        text(g, "runtime", f.runtime());
        if (m.name() != null) {
            g.field("name", m.name());
        }
        if (m.imageName() != null) {
            g.name("image").startObject();
            g.field("name", m.imageName());
            g.endObject();
        }
        g.endObject();
        if (f.has(ContainerFacts.POD) || m.podName() != null) {
            g.name("orchestrator").startObject();
            g.field("type", "kubernetes");
            if (m.podNamespace() != null) {
                g.field("namespace", m.podNamespace());
            }
            g.name("resource").startObject();
            g.field("type", "pod");
            if (m.podName() != null) {
                g.field("name", m.podName());
            }
            if (f.has(ContainerFacts.POD)) {
                text(g, "id", f.podUid());
            }
            g.endObject().endObject();
        }
    }

    /** memsentry.host_executable and memsentry.namespaces: what ECS has no field for. */
    private static void processExtras(JsonLine g, ProcessRef p) {
        if (p.hostExecutable() != null) {
            g.field("host_executable", p.hostExecutable());
        }
        if (p.container() != null && p.container().facts().has(ContainerFacts.NS_KNOWN)) {
            ContainerFacts f = p.container().facts();
            g.name("namespaces").startObject();
            g.field("pid", f.pidNs());
            g.field("mnt", f.mntNs());
            g.field("user", f.userNs());
            g.endObject();
        }
    }

    /** A string member; null as JSON null. */
    private static void text(JsonLine g, String name, String value) {
        g.name(name);
        if (value == null) {
            g.nul();
        } else {
            g.string(value);
        }
    }

    private static void strings(JsonLine g, String name, List<String> values) {
        g.name(name).startArray();
        for (int i = 0, n = values.size(); i < n; i++) {
            String v = values.get(i);
            if (v == null) {
                g.nul();
            } else {
                g.string(v);
            }
        }
        g.endArray();
    }
}
