package dev.memsentry.agent;

/**
 * A stream of process events (fork, exec, exit) for {@code watch}: the netlink process connector
 * where it works and gives pids of memsentry's own namespace, otherwise a /proc poller.
 * {@link #run} blocks on the calling thread; {@link #stop()} may come from any thread.
 */
public interface ProcessEventSource extends AutoCloseable {

    /** "netlink-connector" or "proc-poller". */
    String name();

    /** Why this source was chosen (e.g. "connector refused: EPERM", "in a child PID namespace"). */
    String reason();

    /** Delivers events until {@link #stop()}, the listener returns false, or a failure (AgentException). */
    void run(ProcessEventListener listener);

    /** Ends {@link #run} soon; idempotent. */
    void stop();

    @Override
    void close();
}
