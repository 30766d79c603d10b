package dev.memsentry.agent;

import java.time.Duration;

/** A {@link ProcessEventSource} on the C library's watch (ms_watch.h). */
final class NativeProcessEventSource implements ProcessEventSource {
    private static final int KIND_FORK = 0;
    private static final int KIND_EXEC = 1;
    private static final int KIND_EXIT = 2;
    private static final int KIND_PTRACE_ATTACH = 3;
    private static final int KIND_PTRACE_DETACH = 4;
    private static final int KIND_LOST = 5;
    private static final Duration MAX_POLL_INTERVAL = Duration.ofHours(1);

    private final String name;
    private final String reason;
    private final NativeRun run;

    private NativeProcessEventSource(long watch, String name, String reason) {
        this.run = new NativeRun("event source", watch, NativeBridge::watchStop);
        this.name = name;
        this.reason = reason;
    }

    static NativeProcessEventSource open(long agentHandle, WatchOptions options) {
        Duration poll = options.pollInterval();
        if (poll == null || poll.isNegative() || poll.isZero() || poll.compareTo(MAX_POLL_INTERVAL) > 0) {
            throw new IllegalArgumentException("poll interval must be between 1 ms and 1 h: " + poll);
        }
        if (options.receiveBufferBytes() < 0) {
            throw new IllegalArgumentException("negative receive buffer: " + options.receiveBufferBytes());
        }
        int source = switch (options.source()) {
            case AUTO -> 0;
            case CONNECTOR -> 1;
            case POLLER -> 2;
        };
        long[] out = new long[1];
        NativeAgent.check(NativeBridge.watchOpen(agentHandle, source, Math.max(1, poll.toMillis()),
            options.receiveBufferBytes(), out));
        long[] nums = new long[5];
        byte[] detail = NativeBridge.watchInfo(out[0], nums);
        return new NativeProcessEventSource(out[0], NativeBridge.watchSourceName((int) nums[0]),
            detail == null ? "" : BytesText.decode(detail));
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String reason() {
        return reason;
    }

    @Override
    public void run(ProcessEventListener listener) {
        java.util.Objects.requireNonNull(listener, "listener");
        long w = run.begin();
        int code;
        try {
            code = NativeBridge.watchRun(w, (kind, pid, ppid, tid, timeNanos, lost, exitCode) ->
                listener.onEvent(toEvent(kind, pid, ppid, timeNanos, lost, exitCode)));
        } finally {
            run.end();
        }
        if (Status.fromCode(code) != Status.STOPPED) { // STOPPED: the listener returned false, a normal end
            NativeAgent.check(code);
        }
    }

    private static ProcessEvent toEvent(int kind, long pid, long ppid, long timeNanos, long lost, int exitCode) {
        return switch (kind) {
            case KIND_FORK -> new ProcessEvent(ProcessEvent.Kind.FORK, pid, ppid, timeNanos, 0, 0);
            case KIND_EXEC -> new ProcessEvent(ProcessEvent.Kind.EXEC, pid, 0, timeNanos, 0, 0);
            case KIND_EXIT -> new ProcessEvent(ProcessEvent.Kind.EXIT, pid, 0, timeNanos, 0, exitCode);
            case KIND_PTRACE_ATTACH -> new ProcessEvent(ProcessEvent.Kind.PTRACE, pid, ppid, timeNanos, 0, 0);
            case KIND_PTRACE_DETACH -> new ProcessEvent(ProcessEvent.Kind.PTRACE, pid, ppid, timeNanos, 0, 1);
            case KIND_LOST -> new ProcessEvent(ProcessEvent.Kind.LOST, 0, 0, timeNanos, lost, 0);
            default -> throw new AgentException(Status.INTERNAL, "unknown process event kind " + kind);
        };
    }

    @Override
    public void stop() {
        run.stop();
    }

    @Override
    public void close() {
        run.close(NativeBridge::watchClose);
    }
}
