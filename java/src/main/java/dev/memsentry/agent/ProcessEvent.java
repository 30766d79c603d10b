package dev.memsentry.agent;

/**
 * One process event from a {@link ProcessEventSource}. Pids are always in memsentry's own PID
 * namespace (a source that cannot guarantee that is not used). {@code timeNanos} is CLOCK_MONOTONIC
 * when the event was observed (kernel time for the connector, the poll time for the poller).
 *
 * <ul>
 *   <li>FORK: {@code pid} is the new process, {@code parentPid} its parent (threads are not reported);</li>
 *   <li>EXEC: {@code pid} ran a new program;</li>
 *   <li>EXIT: {@code pid} exited, {@code exitCode} as in waitpid's status;</li>
 *   <li>PTRACE: {@code parentPid} (the tracer) attached to {@code pid} ({@code exitCode} 0 attach,
 *       1 detach) where the source reports it;</li>
 *   <li>LOST: the source lost {@code lost} events (kernel buffer overflow, or unknown count -1):
 *       the consumer must resynchronise from a full process listing.</li>
 * </ul>
 */
public record ProcessEvent(Kind kind, long pid, long parentPid, long timeNanos, long lost, int exitCode) {
    public enum Kind { FORK, EXEC, EXIT, PTRACE, LOST }
}
