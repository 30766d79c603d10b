package dev.memsentry.agent;

/**
 * An alert the agent raised on the syscall stream (ms_trace_alert): memory made executable after
 * it was writable, asked writable and executable at once, or anonymous memory made executable;
 * code written through the process's own /proc/PID/mem; an injection into another process; a
 * thread found running untraced.
 *
 * @param event       the syscall that raised it (successful, but for an injector's attempt), or the
 *                    thread-found event
 * @param start       the page-aligned range it concerns
 * @param permsBefore "rw-p" as /proc/PID/maps had it before; "" when nothing was mapped
 * @param regionKind  what that memory was before (anonymous for a new mapping)
 * @param path        its path before; "" when anonymous; a mapped fd's or a /proc/PID/mem's target
 * @param targetPid   {@link TraceAlertKind#INJECTOR}: the process injected into, as the tracee named it; else 0
 */
public record TraceAlert(TraceAlertKind kind, TraceEvent event, long start, long end, String permsBefore,
                         String permsAfter, RegionKind regionKind, String path, long targetPid) {
    public String ruleId() {
        return kind.ruleId();
    }
}
