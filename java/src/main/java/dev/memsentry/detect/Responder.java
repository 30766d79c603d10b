package dev.memsentry.detect;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.TerminationReport;
import dev.memsentry.config.ResponseAction;
import dev.memsentry.output.Json;
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
 * the action, event.outcome success or failure). Termination goes through the agent's protected
 * termination, which refuses PID 1, kernel threads, memsentry and its ancestors and the protected
 * list; a refusal is a WARN and a failed event, never a crash.
 *
 * <p>Dumping before the kill needs the acquisition support (issue 3); until it is part of the
 * build, {@link #available(ResponseAction)} says no for dump and dump-kill.
 */
public final class Responder {
    private static final Logger LOG = LoggerFactory.getLogger(Responder.class);

    private final Agent agent;
    private final ResponseAction action;
    private final Severity min;
    private final Duration grace;
    private final EcsWriter ecs;
    private final Consumer<ObjectNode> events;
    private final Map<String, Integer> counts = new TreeMap<>();

    public Responder(Agent agent, ResponseAction action, Severity min, Duration grace, EcsWriter ecs,
                     Consumer<ObjectNode> events) {
        if (!available(action)) {
            throw new IllegalArgumentException(action.wireName() + " is not available in this build");
        }
        this.agent = agent;
        this.action = action;
        this.min = min;
        this.grace = grace;
        this.ecs = ecs;
        this.events = events;
    }

    /** Whether this build can carry out the action. */
    public static boolean available(ResponseAction action) {
        return !action.dumps();
    }

    public ResponseAction action() {
        return action;
    }

    /** Acts on one process's result; called on one thread. */
    public void respond(ProcessResult r) {
        if (action == ResponseAction.ALERT) {
            return;
        }
        List<Alert> triggers = r.alerts().stream().filter(a -> a.severity().atLeast(min)).toList();
        if (triggers.isEmpty() || r.process() == null) {
            return;
        }
        if (action.kills()) {
            kill(r, triggers);
        }
    }

    private void kill(ProcessResult r, List<Alert> triggers) {
        ProcessRef p = r.process();
        ObjectNode response = Json.object();
        response.put("action", "kill");
        response.put("min_severity", min.wireName());
        ArrayNode rules = response.putArray("trigger_rules");
        triggers.stream().map(a -> a.rule().id()).distinct().forEach(rules::add);
        response.put("grace_ms", grace.toMillis());
        String outcome;
        String message;
        try {
            TerminationReport t = agent.terminate(p.pid(), grace, false);
            response.put("result", t.result().wireName());
            ArrayNode signals = response.putArray("signals");
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
        if (outcome.equals("success")) {
            LOG.info("{}", message);
        } else {
            LOG.warn("{}", message);
        }
        ObjectNode ms = Json.object();
        ms.set("response", response);
        ObjectNode event = ecs.event(Instant.now(), "kill", outcome, p, message, ms);
        if (outcome.equals("success")) {
            ((ArrayNode) event.at("/event/type")).removeAll().add("end");
        }
        events.accept(event);
    }

    private synchronized void count(String key) {
        counts.merge(key, 1, Integer::sum);
    }

    /** "kill killed" -> 2, "kill refused" -> 1, ... */
    public synchronized Map<String, Integer> counts() {
        return Map.copyOf(counts);
    }
}
