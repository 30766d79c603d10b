package dev.memsentry.detect;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.ProcessInfo;
import dev.memsentry.agent.Region;
import dev.memsentry.agent.TraceAlert;
import dev.memsentry.agent.TraceAlertKind;
import dev.memsentry.agent.TraceEvent;
import dev.memsentry.config.JitRuntime;
import dev.memsentry.container.ContainerCatalog;
import dev.memsentry.container.ContainerResolver;
import dev.memsentry.output.Json;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Turns the agent's trace alerts into {@link Alert}s under the detection policy: rules switched
 * off in the configuration are dropped, severities re-rated, and in a JIT runtime (recognised as
 * {@code scan} recognises one) the alerts drop to the JIT severity. What each traced process is
 * (name, command line, JIT or not) is looked up on first use (TraceCommand asks for the target before attaching)
 * and again after it execs.
 * Used on the tracing thread only.
 */
public final class TraceDetector {
    private final Agent agent;
    private final DetectionPolicy policy;
    private final ContainerResolver containers;
    private final Map<Long, Known> processes = new HashMap<>();

    private record Known(ProcessRef ref, Optional<JitRuntime> jit) {
    }

    public TraceDetector(Agent agent, DetectionPolicy policy) {
        this.agent = agent;
        this.policy = policy;
        this.containers = new ContainerResolver(agent, ContainerCatalog.local());
    }

    public static Rule rule(TraceAlertKind kind) {
        return switch (kind) {
            case WX_TRANSITION -> BuiltinRules.TRACE_WX_TRANSITION;
            case MAP_WX -> BuiltinRules.TRACE_MAP_WX;
            case ANON_EXEC -> BuiltinRules.TRACE_ANON_EXEC;
        };
    }

    /** Forgets what a process was when it runs a new program or goes. */
    public void event(TraceEvent e) {
        switch (e.kind()) {
            case EXEC, PROCESS_EXITED -> processes.remove(e.pid());
            default -> {
            }
        }
    }

    /** The process as ECS process.* fields (pid only when it could not be read). */
    public ProcessRef process(long pid) {
        return known(pid).ref;
    }

    private Known known(long pid) {
        return processes.computeIfAbsent(pid, p -> {
            try {
                ProcessInfo info = agent.process(p);
                List<Region> regions = agent.regions(p);
                return new Known(ProcessRef.of(info, containers), ProcessContext.jitRuntime(policy.jitRuntimes(), info, regions));
            } catch (AgentException e) {
                return new Known(ProcessRef.pidOnly(p), Optional.empty());
            }
        });
    }

    /** The alert under the policy, or empty when its rule is switched off. */
    public Optional<Alert> alert(TraceAlert a) {
        Rule rule = rule(a.kind());
        if (!policy.enabled(rule)) {
            return Optional.empty();
        }
        Known k = known(a.event().pid());
        Severity severity = policy.severity(Finding.of(rule, null, ""), k.jit);
        TraceEvent e = a.event();
        ObjectNode details = Json.object();
        details.put("tid", e.tid());
        details.put("perms_before", a.permsBefore());
        details.put("perms_after", a.permsAfter());
        k.jit.ifPresent(rt -> details.put("jit_runtime", rt.name()));
        String message = e.syscall() + " in pid " + e.pid() + " tid " + e.tid() + ": " + what(a) + " at "
            + Json.hex(a.start()) + "-" + Json.hex(a.end()) + " (" + (a.permsBefore().isEmpty() ? "unmapped"
            : a.permsBefore()) + " -> " + a.permsAfter() + ")";
        AlertRegion region = new AlertRegion(a.start(), a.end(), a.permsAfter(), a.path(), a.regionKind().wireName());
        return Optional.of(new Alert(e.time(), rule, severity, k.ref, region, message, details, null));
    }

    private static String what(TraceAlert a) {
        return switch (a.kind()) {
            case WX_TRANSITION -> "writable memory made executable";
            case MAP_WX -> "memory asked writable and executable";
            case ANON_EXEC -> "anonymous memory made executable";
        };
    }
}
