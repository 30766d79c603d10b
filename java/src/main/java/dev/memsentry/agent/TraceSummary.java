package dev.memsentry.agent;

/**
 * How a trace went (ms_trace_summary).
 *
 * @param pid       the traced or launched process
 * @param syscalls  monitored syscalls reported
 * @param stops     ptrace stops handled: the cost of the trace to the target
 * @param signals   signals passed on to the tracees
 * @param threads   threads traced in all
 * @param processes processes traced in all
 * @param seccomp   whether a seccomp filter picked the stops (launch mode)
 * @param killed    launch mode: the command was killed because the trace ended first
 * @param exitCode  the main process's exit code, or -1 (still running, or killed by a signal)
 * @param exitSignal the signal that ended it, or 0
 */
public record TraceSummary(TraceEnd end, long pid, long durationNs, long syscalls, long alerts, long stops,
                           long signals, long threads, long processes, boolean seccomp, boolean killed, int exitCode,
                           int exitSignal) {
    /** From the 13 numbers the JNI glue fills, in the order of the components. */
    static TraceSummary of(long[] v) {
        return new TraceSummary(TraceEnd.fromCode(v[0]), v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9] != 0,
            v[10] != 0, (int) v[11], (int) v[12]);
    }
}
