package dev.memsentry.agent;

/**
 * Hears a trace as it runs, on the tracing thread, while the traced thread waits: keep it quick
 * (hand output to a buffer, never block on I/O longer than needed). Returning false ends the
 * trace ({@link TraceEnd#CALLBACK}); so does an exception, which the trace call then rethrows.
 */
public interface TraceListener {
    TraceListener NONE = new TraceListener() {
    };

    /** Every event: monitored syscalls, threads and processes coming and going, signals, execs. */
    default boolean event(TraceEvent event) {
        return true;
    }

    /** An alert; {@link TraceAlert#event()} is the syscall that raised it. */
    default boolean alert(TraceAlert alert) {
        return true;
    }
}
