package dev.memsentry.agent;

import java.util.Locale;

/** ms_trace_event_kind, in the C enum's order. */
public enum TraceEventKind {
    /** A monitored syscall. */
    SYSCALL,
    /** A thread is traced now: at attach, a new thread, a followed child. */
    THREAD_ATTACHED,
    THREAD_EXITED,
    /** The process ran execve successfully: a new image. */
    EXEC,
    /** A signal was delivered to the thread (and passed on to it). */
    SIGNAL,
    /** The whole process exited. */
    PROCESS_EXITED,
    /** A thread found running untraced by the rescan of /proc/PID/task (seized next). */
    THREAD_FOUND;

    private static final TraceEventKind[] ALL = values();
    private final String wireName = name().toLowerCase(Locale.ROOT).replace('_', '-'); // made once: written per event

    public static TraceEventKind fromCode(long code) {
        return code >= 0 && code < ALL.length ? ALL[(int) code] : SYSCALL;
    }

    /** The lowercase name ms_trace_event_kind_name() gives: "thread-attached", ... */
    public String wireName() {
        return wireName;
    }
}
