package dev.memsentry.detect;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.CancelToken;
import dev.memsentry.agent.DumpListener;
import dev.memsentry.agent.DumpOptions;
import dev.memsentry.agent.DumpResult;
import dev.memsentry.agent.FreezeFallback;
import dev.memsentry.agent.ProcessPin;
import dev.memsentry.agent.Status;
import dev.memsentry.agent.TerminationReport;
import dev.memsentry.config.ResponseAction;
import dev.memsentry.output.EvidenceFiles;
import dev.memsentry.output.JsonFields;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The response policy: for a process with an alert at or above the minimum severity, do the
 * configured action once, and log what was done as an ECS event (event.kind "event", event.action
 * "dump" or "kill", event.outcome success or failure).
 *
 * <p>Dumps go through the agent's dump into the evidence directory (the bytes never enter the
 * JVM); the agent never replaces a file, so a name that exists is a failed event. dump-kill dumps
 * first and then kills, and kills even when the dump failed: containment comes before evidence.
 * Termination goes through the agent's protected termination, which refuses PID 1, kernel
 * threads, memsentry and its ancestors and the protected list; a refusal is a WARN and a failed
 * event, never a crash. With {@link ProcessPins} the kill goes through the pin taken when the
 * process's scan started, so a process that exited meanwhile is never confused with the one that
 * got its PID.
 */
public final class Responder {
    private static final Logger LOG = LoggerFactory.getLogger(Responder.class);

    /** Where and how the dump responses write: dir must exist (see {@link EvidenceFiles#prepareDirectory}). */
    public record Evidence(Path dir, DumpOptions options) {
    }

    private final Agent agent;
    private final ResponseAction action;
    private final Severity min;
    private final Duration grace;
    private final Evidence evidence;
    private final EcsWriter ecs;
    private final Consumer<EcsDocument> events;
    private final Map<String, Integer> counts = new TreeMap<>();
    private final CancelToken cancel = new CancelToken();
    private final ProcessPins pins;

    /** evidence may be null unless the action dumps. */
    public Responder(Agent agent, ResponseAction action, Severity min, Duration grace, Evidence evidence,
                     EcsWriter ecs, Consumer<EcsDocument> events) {
        this(agent, action, min, grace, evidence, ecs, events, null);
    }

    /** pins: the processes pinned when their scans started; a kill goes through the pin (null: by PID). */
    public Responder(Agent agent, ResponseAction action, Severity min, Duration grace, Evidence evidence,
                     EcsWriter ecs, Consumer<EcsDocument> events, ProcessPins pins) {
        if (action.dumps() && evidence == null) {
            throw new IllegalArgumentException(action.wireName() + " needs an evidence directory");
        }
        this.agent = agent;
        this.action = action;
        this.min = min;
        this.grace = grace;
        this.evidence = evidence;
        this.ecs = ecs;
        this.events = events;
        this.pins = pins;
    }

    public ResponseAction action() {
        return action;
    }

    /** The minimum severity that triggers the action. */
    public Severity min() {
        return min;
    }

    /**
     * Stops a dump in progress (it fails as interrupted, resumes a frozen target and leaves no
     * file) and returns once respond() has returned: for a shutdown hook on Ctrl-C.
     */
    public void cancelAndWait() {
        cancel.cancel();
        synchronized (this) {
            // respond() holds this monitor while it acts.
        }
    }

    /** Acts on one process's result; called on one thread. */
    public synchronized void respond(ProcessResult r) {
        if (action == ResponseAction.ALERT) {
            return;
        }
        List<Alert> triggers = r.alerts().stream().filter(a -> a.severity().atLeast(min)).toList();
        if (triggers.isEmpty() || r.process() == null) {
            return;
        }
        if (action.dumps()) {
            dump(r.process(), triggers);
        }
        if (action.kills()) {
            kill(r.process(), triggers);
        }
    }

    private JsonFields response(String name, List<Alert> triggers) {
        JsonFields response = new JsonFields();
        response.put("action", name);
        response.put("min_severity", min.wireName());
        JsonFields.Array rules = response.putArray("trigger_rules");
        triggers.stream().map(a -> a.rule().id()).distinct().forEach(rules::add);
        return response;
    }

    private void dump(ProcessRef p, List<Alert> triggers) {
        DumpOptions options = evidence.options();
        Path file = evidence.dir().resolve(EvidenceFiles.timestampedName(p.name(), p.pid(), Instant.now(),
            options.format()));
        JsonFields response = response("dump", triggers);
        response.put("path", file.toString());
        response.put("format", options.format().wireName());
        response.put("max_region_size", options.maxRegionSize());
        long started = System.nanoTime();
        String outcome;
        String message;
        try {
            FreezeFallback.Outcome o = FreezeFallback.dump(agent, p.pid(), file, options, DumpListener.NONE, cancel);
            DumpResult d = o.result();
            if (o.freezeFailed() != null) {
                LOG.warn("dump pid {} ({}): cannot freeze it ({}); dumped it running", p.pid(), p.name(),
                    o.freezeFailed());
                response.put("freeze_failed", o.freezeFailed());
            }
            response.put("status", Status.OK.wireName());
            response.put("bytes", d.fileSize());
            response.put("bytes_read", d.bytesRead());
            response.put("regions", d.regionsDumped());
            response.put("regions_truncated", d.regionsTruncated());
            response.put("regions_partial", d.regionsPartial());
            response.put("frozen", d.frozen());
            response.put("reason", "");
            outcome = "success";
            message = "dump pid " + p.pid() + " (" + p.name() + "): " + options.format().wireName() + " evidence in "
                + file + ", " + d.regionsDumped() + " regions, " + d.fileSize() + " bytes";
            count("dump written");
        } catch (AgentException e) {
            response.put("status", e.status().wireName());
            response.put("reason", e.getMessage());
            outcome = "failure";
            message = "dump pid " + p.pid() + " (" + p.name() + ") failed: " + e.getMessage();
            count("dump failed");
        }
        response.put("duration_ms", (System.nanoTime() - started) / 1_000_000);
        EcsDocument event = emit("dump", outcome, p, message, response, "creation");
        if (outcome.equals("success")) {
            event.file(file.toString());
        }
        events.accept(event);
    }

    private void kill(ProcessRef p, List<Alert> triggers) {
        JsonFields response = response("kill", triggers);
        response.put("grace_ms", grace.toMillis());
        String outcome;
        String message;
        ProcessPin pin = pins == null ? null : pins.take(p.pid());
        try (pin) {
            // Through the pin a process that exited during the scan is not-found, whoever has its PID now.
            TerminationReport t = pin != null ? agent.terminate(pin, grace, false)
                : agent.terminate(p.pid(), grace, false);
            response.put("result", t.result().wireName());
            JsonFields.Array signals = response.putArray("signals");
            t.signals().forEach(signals::add);
            response.put("elapsed_ms", t.elapsedMs());
            response.put("protection", t.protection().wireName());
            response.put("reason", t.reason());
            outcome = t.result().succeeded() ? "success" : "failure";
            message = "kill pid " + p.pid() + " (" + p.name() + "): " + t.result().wireName() + ": " + t.reason();
            count("kill " + t.result().wireName());
        } catch (AgentException e) {
            response.put("result", "failed");
            response.put("reason", e.getMessage());
            outcome = "failure";
            message = "kill pid " + p.pid() + " (" + p.name() + ") failed: " + e.getMessage();
            count("kill failed");
        }
        events.accept(emit("kill", outcome, p, message, response, "end"));
    }

    /**
     * Logs the action (a failure is a WARN) and builds its ECS event; a success gets successType
     * as its event.type ("creation" of evidence, "end" of a process).
     */
    private EcsDocument emit(String action, String outcome, ProcessRef p, String message, JsonFields response,
                            String successType) {
        boolean success = outcome.equals("success");
        if (success) {
            LOG.info("{}", message);
        } else {
            LOG.warn("{}", message);
        }
        JsonFields ms = new JsonFields();
        ms.set("response", response);
        EcsDocument event = ecs.event(Instant.now(), action, outcome, p, message, ms);
        if (success) {
            event.succeeded(successType);
        }
        return event;
    }

    private void count(String key) {
        counts.merge(key, 1, Integer::sum);
    }

    /** "kill killed" -> 2, "kill refused" -> 1, "dump written" -> 3, ... */
    public synchronized Map<String, Integer> counts() {
        return Map.copyOf(counts);
    }
}
