package dev.memsentry.detect;

import dev.memsentry.output.JsonFields;
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
 * {@link #alert} and {@link #decide} are used on the tracing thread only; {@link #build} on any.
 */
public final class TraceDetector {
    private final Agent agent;
    private final DetectionPolicy policy;
    private final ContainerResolver containers;
    private final Map<Long, Known> processes = new HashMap<>();

    private record Known(ProcessRef ref, Optional<JitRuntime> jit, boolean debugger) {
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
            case INJECTOR -> BuiltinRules.TRACE_INJECTOR;
            case PROC_MEM_WRITE -> BuiltinRules.TRACE_PROC_MEM_WRITE;
            case UNTRACED_THREAD -> BuiltinRules.TRACE_UNTRACED_THREAD;
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
                return new Known(ProcessRef.of(info, containers), ProcessContext.jitRuntime(policy.jitRuntimes(), info, regions),
                    policy.knownDebugger(info));
            } catch (AgentException e) {
                return new Known(ProcessRef.pidOnly(p), Optional.empty(), false);
            }
        });
    }

    /**
     * An alert the policy lets through: what needs the stopped target (its process, looked up now)
     * is decided; the document's text is made by {@link #build}, on any thread.
     */
    public record Decision(TraceAlert raw, Rule rule, Severity severity, ProcessRef process, Optional<JitRuntime> jit) {
    }

    /**
     * The alert under the policy, or empty when its rule is switched off (or, for trace.injector,
     * when the traced program is a known debugger, as scan's inject.tracer excepts them).
     */
    public Optional<Alert> alert(TraceAlert a) {
        return decide(a).map(TraceDetector::build);
    }

    /** The policy's decision on the tracing thread (the alert itself: {@link #build}); empty as for {@link #alert}. */
    public Optional<Decision> decide(TraceAlert a) {
        Rule rule = rule(a.kind());
        if (!policy.enabled(rule)) {
            return Optional.empty();
        }
        Known k = known(a.event().pid());
        if (a.kind() == TraceAlertKind.INJECTOR && k.debugger) {
            return Optional.empty();
        }
        return Optional.of(new Decision(a, rule, policy.severity(Finding.of(rule, null, ""), k.jit), k.ref, k.jit));
    }

    /** The alert of a decision: message, details and region. Any thread. */
    public static Alert build(Decision d) {
        TraceAlert a = d.raw();
        Rule rule = d.rule();
        TraceEvent e = a.event();
        JsonFields details = new JsonFields();
        details.put("tid", e.tid());
        d.jit().ifPresent(rt -> details.put("jit_runtime", rt.name()));
        String message;
        AlertRegion region = null;
        switch (a.kind()) {
            case INJECTOR -> {
                details.put("target_pid", a.targetPid());
                if (a.end() > a.start()) {
                    details.put("target_start", Json.hex(a.start()));
                    details.put("target_end", Json.hex(a.end()));
                }
                if (!a.path().isEmpty()) {
                    details.put("target_file", a.path());
                }
                message = e.syscall() + " in pid " + e.pid() + " tid " + e.tid() + ": " + injection(a)
                    + (e.failed() ? " (failed: " + e.errorName() + ")" : "");
            }
            case UNTRACED_THREAD -> message = "thread " + e.tid() + " of pid " + e.pid()
                + " found running untraced (made with CLONE_UNTRACED), seized";
            default -> {
                details.put("perms_before", a.permsBefore());
                details.put("perms_after", a.permsAfter());
                message = e.syscall() + " in pid " + e.pid() + " tid " + e.tid() + ": " + what(a) + " at "
                    + Json.hex(a.start()) + "-" + Json.hex(a.end()) + " (" + (a.permsBefore().isEmpty() ? "unmapped"
                    : a.permsBefore()) + " -> " + a.permsAfter() + ")";
                region = new AlertRegion(a.start(), a.end(), a.permsAfter(), a.path(), a.regionKind().wireName());
            }
        }
        return new Alert(e.time(), rule, d.severity(), d.process(), region, message, details, null);
    }

    private static String what(TraceAlert a) {
        return switch (a.kind()) {
            case WX_TRANSITION -> "writable memory made executable";
            case MAP_WX -> "memory asked writable and executable";
            case ANON_EXEC -> switch (a.regionKind()) {
                case MEMFD -> "a memfd mapped executable";
                case DELETED -> "a deleted file mapped executable";
                case SHM -> "System V shared memory attached executable";
                case FILE -> "a tmpfs file mapped executable";
                default -> "anonymous memory made executable";
            };
            case PROC_MEM_WRITE -> "code written through /proc/self/mem";
            case INJECTOR, UNTRACED_THREAD -> a.kind().ruleId();
        };
    }

    /** What an injector did: "PTRACE_POKEDATA into pid 42 at 0x1000-0x1008". */
    private static String injection(TraceAlert a) {
        TraceEvent e = a.event();
        String how = switch (e.syscall()) {
            case "ptrace" -> ptraceRequest(e.arg(0)) + " of";
            case "process_vm_writev" -> "process_vm_writev into";
            case "open", "openat", "openat2", "creat" -> "opened " + a.path() + " for writing, the memory of";
            default -> "wrote through " + a.path() + " into";
        };
        String at = a.end() > a.start() ? " at " + Json.hex(a.start()) + "-" + Json.hex(a.end()) : "";
        return how + " pid " + a.targetPid() + at;
    }

    private static String ptraceRequest(long request) {
        return switch ((int) request) {
            case 4 -> "PTRACE_POKETEXT";
            case 5 -> "PTRACE_POKEDATA";
            case 6 -> "PTRACE_POKEUSER";
            case 13 -> "PTRACE_SETREGS";
            case 15 -> "PTRACE_SETFPREGS";
            case 16 -> "PTRACE_ATTACH";
            case 0x4205 -> "PTRACE_SETREGSET";
            case 0x4206 -> "PTRACE_SEIZE";
            default -> "ptrace request " + request;
        };
    }
}
