package dev.memsentry.agent;

import java.util.Locale;

/** ms_trace_end: why a trace ended. */
public enum TraceEnd {
    /** Every traced process exited. */
    EXITED,
    /** The duration elapsed. */
    DURATION,
    /** {@link TraceSession#stop()} (Ctrl-C, SIGTERM). */
    STOPPED,
    /** The listener asked to stop. */
    CALLBACK,
    /** The trace failed. */
    ERROR;

    private static final TraceEnd[] ALL = values();

    public static TraceEnd fromCode(long code) {
        return code >= 0 && code < ALL.length ? ALL[(int) code] : ERROR;
    }

    /** As ms_trace_end_name() gives it. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
