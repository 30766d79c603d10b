package dev.memsentry.watch;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.ProcessEvent;
import dev.memsentry.agent.ProcessEventListener;
import dev.memsentry.agent.ProcessEventSource;
import dev.memsentry.agent.ProcessInfo;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Process events from repeated process listings ({@link Agent#forEachProcess}): what every backend
 * can do, so it is how the stub backend watches and what watch falls back to when the backend has no
 * event source. Each round is compared with the one before by pid and start time: a new instance is
 * a FORK followed by an EXEC, a changed program (name, executable or command line) of the same
 * instance an EXEC, a missing one an EXIT (exit code unknown, -1). A process that lives and dies
 * between two rounds is not seen; the interval bounds that window. The first listing is taken when the
 * poller is made, before watch says it is watching, so a program started after that line is new.
 */
public final class ListingPoller implements ProcessEventSource {
    private final Agent agent;
    private final long intervalNanos;
    private final String reason;
    private final Object wake = new Object();
    private volatile boolean stopped;
    /** The listing taken when the poller was made; null when it failed (run then takes its own). */
    private Map<Long, Seen> baseline;

    private record Seen(long startTicks, long ppid, String program) {
    }

    public ListingPoller(Agent agent, Duration interval, String reason) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("poll interval must be positive");
        }
        this.agent = agent;
        this.intervalNanos = interval.toNanos();
        this.reason = reason;
        try {
            this.baseline = list(Map.of());
        } catch (AgentException e) {
            this.baseline = null; // the watch's own first listing fails too and says why
        }
    }

    @Override
    public String name() {
        return "listing-poller";
    }

    @Override
    public String reason() {
        return reason;
    }

    @Override
    public void run(ProcessEventListener listener) {
        long next = System.nanoTime();
        Map<Long, Seen> before = baseline != null ? baseline : list(Map.of());
        baseline = null;
        while (!stopped) {
            // At a fixed rate from the start of each listing: a slow listing does not widen the gap.
            next = Math.max(next + intervalNanos, System.nanoTime());
            synchronized (wake) {
                long left;
                while (!stopped && (left = next - System.nanoTime()) > 0) {
                    try {
                        wake.wait(Math.max(1, left / 1_000_000), 0);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
            if (stopped) {
                return;
            }
            Map<Long, Seen> now = list(before);
            long at = System.nanoTime();
            for (var e : now.entrySet()) {
                Seen old = before.get(e.getKey());
                Seen cur = e.getValue();
                boolean go;
                if (old == null || old.startTicks != cur.startTicks) {
                    if (old != null) {
                        go = listener.onEvent(new ProcessEvent(ProcessEvent.Kind.EXIT, e.getKey(), old.ppid, at, 0, -1));
                        if (!go) {
                            return;
                        }
                    }
                    go = listener.onEvent(new ProcessEvent(ProcessEvent.Kind.FORK, e.getKey(), cur.ppid, at, 0, 0))
                        && listener.onEvent(new ProcessEvent(ProcessEvent.Kind.EXEC, e.getKey(), cur.ppid, at, 0, 0));
                } else {
                    go = old.program.equals(cur.program)
                        || listener.onEvent(new ProcessEvent(ProcessEvent.Kind.EXEC, e.getKey(), cur.ppid, at, 0, 0));
                }
                if (!go) {
                    return;
                }
            }
            for (var e : before.entrySet()) {
                if (!now.containsKey(e.getKey())
                    && !listener.onEvent(new ProcessEvent(ProcessEvent.Kind.EXIT, e.getKey(), e.getValue().ppid, at, 0, -1))) {
                    return;
                }
            }
            before = now;
        }
    }

    /**
     * One listing: pid to start time, parent and program; a process gone before its stat was read is
     * left out. The start time is read for pids that are new or whose parent or program changed; a
     * pid reused within one interval by the same program under the same parent is not told apart.
     */
    private Map<Long, Seen> list(Map<Long, Seen> before) {
        Map<Long, Seen> out = new HashMap<>();
        agent.forEachProcess(p -> {
            if (!p.kernelThread()) {
                String program = program(p);
                Seen old = before.get(p.pid());
                if (old != null && old.ppid == p.ppid() && old.program.equals(program)) {
                    out.put(p.pid(), old);
                } else {
                    Optional<ProcStat> s = ProcStat.read(p.pid());
                    s.ifPresent(st -> out.put(p.pid(), new Seen(st.startTicks(), st.ppid(), program)));
                }
            }
            return !stopped;
        });
        return out;
    }

    /** What a process runs (name, executable, command line): a change of it at the same instance is an exec. */
    static String program(ProcessInfo p) {
        return p.name() + '\0' + p.exe() + '\0' + p.commandLine();
    }

    @Override
    public void stop() {
        stopped = true;
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    @Override
    public void close() {
        stop();
    }
}
