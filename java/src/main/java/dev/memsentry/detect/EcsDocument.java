package dev.memsentry.detect;

import dev.memsentry.agent.ContainerFacts;
import dev.memsentry.agent.TraceEvent;
import dev.memsentry.container.Container;
import dev.memsentry.container.ContainerMetadata;
import dev.memsentry.output.IsoInstant;
import dev.memsentry.output.JsonFields;
import dev.memsentry.output.JsonLine;
import dev.memsentry.output.TraceRecords;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * One alert or event as an Elastic Common Schema document, from {@link EcsWriter}: what goes into
 * it is held here and written straight through {@link JsonLine} when the document goes out, field
 * by field in a fixed order, with no tree of nodes to build and walk per alert (on a traced launch
 * that tree was most of what the JIT compiled); the free-form parts (an alert's details and YARA
 * match, an event's memsentry payload) are {@link JsonFields}. Add to a document (its event.id,
 * memsentry.watch, a dump's file) before its first {@link #json()}: the text is made once.
 * Not thread-safe.
 */
public final class EcsDocument {
    private static final JsonLine.Name TIMESTAMP = new JsonLine.Name("@timestamp");
    private static final JsonLine.Name ACTION = new JsonLine.Name("action");
    private static final JsonLine.Name ARGS = new JsonLine.Name("args");
    private static final JsonLine.Name CATEGORY = new JsonLine.Name("category");
    private static final JsonLine.Name COMMAND_LINE = new JsonLine.Name("command_line");
    private static final JsonLine.Name CONTAINER = new JsonLine.Name("container");
    private static final JsonLine.Name DATASET = new JsonLine.Name("dataset");
    private static final JsonLine.Name DESCRIPTION = new JsonLine.Name("description");
    private static final JsonLine.Name DETAILS = new JsonLine.Name("details");
    private static final JsonLine.Name END = new JsonLine.Name("end");
    private static final JsonLine.Name EVENT = new JsonLine.Name("event");
    private static final JsonLine.Name EXECUTABLE = new JsonLine.Name("executable");
    private static final JsonLine.Name FILE = new JsonLine.Name("file");
    private static final JsonLine.Name FRAMEWORK = new JsonLine.Name("framework");
    private static final JsonLine.Name HASH = new JsonLine.Name("hash");
    private static final JsonLine.Name HOST = new JsonLine.Name("host");
    private static final JsonLine.Name HOST_EXECUTABLE = new JsonLine.Name("host_executable");
    private static final JsonLine.Name HOSTNAME = new JsonLine.Name("hostname");
    private static final JsonLine.Name ID = new JsonLine.Name("id");
    private static final JsonLine.Name IMAGE = new JsonLine.Name("image");
    private static final JsonLine.Name KIND = new JsonLine.Name("kind");
    private static final JsonLine.Name MEMSENTRY = new JsonLine.Name("memsentry");
    private static final JsonLine.Name MESSAGE = new JsonLine.Name("message");
    private static final JsonLine.Name MNT = new JsonLine.Name("mnt");
    private static final JsonLine.Name MODULE = new JsonLine.Name("module");
    private static final JsonLine.Name NAME = new JsonLine.Name("name");
    private static final JsonLine.Name NAMESPACE = new JsonLine.Name("namespace");
    private static final JsonLine.Name NAMESPACES = new JsonLine.Name("namespaces");
    private static final JsonLine.Name ORCHESTRATOR = new JsonLine.Name("orchestrator");
    private static final JsonLine.Name OUTCOME = new JsonLine.Name("outcome");
    private static final JsonLine.Name PATH = new JsonLine.Name("path");
    private static final JsonLine.Name PERMS = new JsonLine.Name("perms");
    private static final JsonLine.Name PID = new JsonLine.Name("pid");
    private static final JsonLine.Name PROCESS = new JsonLine.Name("process");
    private static final JsonLine.Name PROCESS_START_TICKS = new JsonLine.Name("process_start_ticks");
    private static final JsonLine.Name REGION = new JsonLine.Name("region");
    private static final JsonLine.Name RESOURCE = new JsonLine.Name("resource");
    private static final JsonLine.Name RULE = new JsonLine.Name("rule");
    private static final JsonLine.Name RULESET = new JsonLine.Name("ruleset");
    private static final JsonLine.Name RUNTIME = new JsonLine.Name("runtime");
    private static final JsonLine.Name SCAN = new JsonLine.Name("scan");
    private static final JsonLine.Name SEVERITY = new JsonLine.Name("severity");
    private static final JsonLine.Name SHA256 = new JsonLine.Name("sha256");
    private static final JsonLine.Name SIZE = new JsonLine.Name("size");
    private static final JsonLine.Name START = new JsonLine.Name("start");
    private static final JsonLine.Name SYSCALL = new JsonLine.Name("syscall");
    private static final JsonLine.Name TECHNIQUE = new JsonLine.Name("technique");
    private static final JsonLine.Name THREAT = new JsonLine.Name("threat");
    private static final JsonLine.Name TYPE = new JsonLine.Name("type");
    private static final JsonLine.Name USER = new JsonLine.Name("user");
    private static final JsonLine.Name VPID = new JsonLine.Name("vpid");
    private static final JsonLine.Name WATCH = new JsonLine.Name("watch");
    private static final JsonLine.Name YARA = new JsonLine.Name("yara");
    private final String hostname;
    private final Instant at;
    private final Alert alert; // null: an event
    private final String action; // events
    private final String outcome;
    private final ProcessRef process; // null: about no process (events only)
    private final String message;
    private final JsonFields memsentry; // an event's memsentry.* payload, may be null
    private TraceEvent syscall; // a trace alert's memsentry.syscall
    private String watchScan; // memsentry.watch.scan
    private long watchStartTicks = -1; // memsentry.watch.process_start_ticks, -1: none
    private String successType; // event.type instead of "info"
    private String filePath; // file.path, and "file" in event.category
    private String id;
    private String json;

    private EcsDocument(String hostname, Instant at, Alert alert, String action, String outcome, ProcessRef process,
                        String message, JsonFields memsentry) {
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
                             String message, JsonFields memsentry) {
        return new EcsDocument(hostname, at, null, action, outcome, process, message, memsentry);
    }

    /** memsentry.syscall of a trace's alert: the event that raised it. */
    EcsDocument syscall(TraceEvent event) {
        this.syscall = event;
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
    public JsonFields memsentry() {
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
        text(g, TIMESTAMP, timestamp());
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
        g.name(EVENT).startObject();
        g.field(KIND, "alert");
        strings(g, CATEGORY, r.categories());
        g.name(TYPE).startArray().string("info").endArray();
        g.field(SEVERITY, a.severity().score());
        eventTail(g);
        g.name(RULE).startObject();
        text(g, ID, r.id());
        text(g, NAME, r.name());
        text(g, DESCRIPTION, r.description());
        g.field(RULESET, a.yara() != null ? "yara" : "memsentry");
        g.endObject();
        if (r.techniqueId() != null) {
            g.name(THREAT).startObject();
            g.field(FRAMEWORK, "MITRE ATT&CK");
            g.name(TECHNIQUE).startObject();
            g.name(ID).startArray().string(r.techniqueId()).endArray();
            if (r.techniqueName() != null) {
                g.name(NAME).startArray().string(r.techniqueName()).endArray();
            }
            g.endObject().endObject();
        }
        process(g, process);
        hostAndMessage(g);
        g.name(MEMSENTRY).startObject();
        g.field(SEVERITY, a.severity().wireName());
        processExtras(g, process);
        if (a.region() != null) {
            AlertRegion region = a.region();
            g.name(REGION).startObject();
            g.name(START).hex(region.start());
            g.name(END).hex(region.end());
            g.field(SIZE, region.end() - region.start());
            text(g, PERMS, region.perms());
            text(g, PATH, region.path());
            text(g, KIND, region.kind());
            g.endObject();
        }
        if (!a.details().isEmpty()) {
            g.name(DETAILS);
            a.details().write(g);
        }
        if (a.yara() != null) {
            g.name(YARA);
            a.yara().write(g);
        }
        if (syscall != null) {
            g.name(SYSCALL);
            TraceRecords.writeSyscall(g, syscall);
        }
        watch(g);
        g.endObject();
    }

    private void writeEvent(JsonLine g) {
        g.name(EVENT).startObject();
        g.field(KIND, "event");
        g.name(CATEGORY).startArray().string("process");
        if (filePath != null) {
            g.string("file");
        }
        g.endArray();
        g.name(TYPE).startArray().string(successType != null ? successType : "info").endArray();
        text(g, ACTION, action);
        if (outcome != null) {
            g.field(OUTCOME, outcome);
        }
        eventTail(g);
        if (process != null) {
            process(g, process);
        }
        hostAndMessage(g);
        boolean extras = process != null && (process.hostExecutable() != null || process.container() != null);
        if (memsentry != null || extras || watchScan != null) {
            g.name(MEMSENTRY).startObject();
            if (memsentry != null) {
                memsentry.writeMembers(g);
            }
            if (extras) {
                processExtras(g, process);
            }
            watch(g);
            g.endObject();
        }
        if (filePath != null) {
            g.name(FILE).startObject();
            text(g, PATH, filePath);
            g.endObject();
        }
    }

    private void eventTail(JsonLine g) {
        g.field(MODULE, "memsentry");
        g.field(DATASET, alert != null ? "memsentry.alert" : "memsentry.event");
        if (id != null) {
            g.field(ID, id);
        }
        g.endObject();
    }

    private void hostAndMessage(JsonLine g) {
        g.name(HOST).startObject();
        text(g, HOSTNAME, hostname);
        g.endObject();
        text(g, MESSAGE, message);
    }

    private void watch(JsonLine g) {
        if (watchScan != null) {
            g.name(WATCH).startObject();
            text(g, SCAN, watchScan);
            if (watchStartTicks >= 0) {
                g.field(PROCESS_START_TICKS, watchStartTicks);
            }
            g.endObject();
        }
    }

    private static void process(JsonLine g, ProcessRef p) {
        g.name(PROCESS).startObject();
        g.field(PID, p.pid());
        text(g, NAME, p.name());
        text(g, EXECUTABLE, p.executable());
        text(g, COMMAND_LINE, p.commandLine());
        strings(g, ARGS, p.args());
        if (p.sha256() != null) {
            g.name(HASH).startObject();
            g.field(SHA256, p.sha256());
            g.endObject();
        }
        Container c = p.container();
        ContainerFacts f = c == null ? null : c.facts();
        if (f != null && f.has(ContainerFacts.NSPID_KNOWN) && f.nsPid() != p.pid()) {
            g.field(VPID, f.nsPid());
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
        g.name(CONTAINER).startObject();
        text(g, ID, f.id());
        text(g, RUNTIME, f.runtime());
        if (m.name() != null) {
            g.field(NAME, m.name());
        }
        if (m.imageName() != null) {
            g.name(IMAGE).startObject();
            g.field(NAME, m.imageName());
            g.endObject();
        }
        g.endObject();
        if (f.has(ContainerFacts.POD) || m.podName() != null) {
            g.name(ORCHESTRATOR).startObject();
            g.field(TYPE, "kubernetes");
            if (m.podNamespace() != null) {
                g.field(NAMESPACE, m.podNamespace());
            }
            g.name(RESOURCE).startObject();
            g.field(TYPE, "pod");
            if (m.podName() != null) {
                g.field(NAME, m.podName());
            }
            if (f.has(ContainerFacts.POD)) {
                text(g, ID, f.podUid());
            }
            g.endObject().endObject();
        }
    }

    /** memsentry.host_executable and memsentry.namespaces: what ECS has no field for. */
    private static void processExtras(JsonLine g, ProcessRef p) {
        if (p.hostExecutable() != null) {
            g.field(HOST_EXECUTABLE, p.hostExecutable());
        }
        if (p.container() != null && p.container().facts().has(ContainerFacts.NS_KNOWN)) {
            ContainerFacts f = p.container().facts();
            g.name(NAMESPACES).startObject();
            g.field(PID, f.pidNs());
            g.field(MNT, f.mntNs());
            g.field(USER, f.userNs());
            g.endObject();
        }
    }

    /** A string member; null as JSON null. */
    private static void text(JsonLine g, JsonLine.Name name, String value) {
        g.name(name);
        if (value == null) {
            g.nul();
        } else {
            g.string(value);
        }
    }

    private static void strings(JsonLine g, JsonLine.Name name, List<String> values) {
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
