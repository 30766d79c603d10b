package dev.memsentry.agent;

/**
 * An alert the agent raised on the syscall stream (ms_trace_alert): memory made executable after
 * it was writable, asked writable and executable at once, or anonymous memory made executable.
 *
 * @param event       the successful syscall that raised it
 * @param start       the page-aligned range it concerns
 * @param permsBefore "rw-p" as /proc/PID/maps had it before; "" when nothing was mapped
 * @param regionKind  what that memory was before (anonymous for a new mapping)
 * @param path        its path before; "" when anonymous
 */
public record TraceAlert(TraceAlertKind kind, TraceEvent event, long start, long end, String permsBefore,
                         String permsAfter, RegionKind regionKind, String path) {
    public String ruleId() {
        return kind.ruleId();
    }
}
