package dev.memsentry.agent;

import java.util.List;

/**
 * A trace session (ms_trace): options and a listener, one trace at a time. The trace runs on the
 * thread that calls {@link #attach} or {@link #launch} (ptrace ties tracees to one thread), and
 * every listener call is made on it; {@link #stop()} may come from any thread, a shutdown hook
 * included. Whatever ends a trace, every traced thread is detached, not stopped, before the call
 * returns.
 */
public interface TraceSession extends AutoCloseable {

    /**
     * Traces a running process and its threads (and, with follow-forks, its children) until it
     * exits, the duration elapses, {@link #stop()} or the listener ends it.
     *
     * @throws AgentException PROTECTED (PID 1 of the namespace, a kernel thread, memsentry or one of
     *                        its ancestors), BUSY (another tracer holds it), ACCESS_DENIED,
     *                        NO_SUCH_PROCESS, UNSUPPORTED
     */
    TraceSummary attach(long pid);

    /**
     * Runs a command (argv[0] looked up in PATH) under the tracer, as a child of the calling
     * thread, with memsentry's standard streams. When the trace ends before the command does, the
     * command is killed (a seccomp-filtered process cannot run untraced) and the summary says so.
     */
    TraceSummary launch(List<String> argv);

    /** Ends the running trace as soon as possible ({@link TraceEnd#STOPPED}), or the next one at once. */
    void stop();

    /** Stops a running trace and waits for it to return, then frees the session. */
    @Override
    void close();
}
