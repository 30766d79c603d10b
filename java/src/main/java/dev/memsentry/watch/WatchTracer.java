package dev.memsentry.watch;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.TraceAlert;
import dev.memsentry.agent.TraceEvent;
import dev.memsentry.agent.TraceListener;
import dev.memsentry.agent.TraceOptions;
import dev.memsentry.agent.TraceSession;
import dev.memsentry.detect.Alert;
import dev.memsentry.detect.DetectionPolicy;
import dev.memsentry.detect.TraceDetector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * --trace-on: traces an alerted process for a while (the tracer in attach mode, on a thread of its
 * own, as ptrace requires), at most a few at once. Every trace ends detached: by its duration, by the
 * target's exit, or by {@link #stopAll}, which waits for each to detach.
 */
final class WatchTracer {
    private static final Logger LOG = LoggerFactory.getLogger(WatchTracer.class);

    private final Agent agent;
    private final Duration traceFor;
    private final Semaphore slots;
    private final WatchStats stats;
    private final Set<TraceSession> running = ConcurrentHashMap.newKeySet();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stopping;

    WatchTracer(Agent agent, Duration traceFor, int maxTraces, WatchStats stats) {
        this.agent = agent;
        this.traceFor = traceFor;
        this.slots = new Semaphore(maxTraces);
        this.stats = stats;
    }

    int running() {
        return running.size();
    }

    /**
     * Starts tracing key's process unless the limit is reached. stillSame is asked on the tracing
     * thread just before attaching (the pid must still be that instance); alerts go to sink.
     */
    boolean start(ProcessKey key, DetectionPolicy policy, Predicate<ProcessKey> stillSame, Consumer<TracedAlert> sink) {
        if (stopping || !slots.tryAcquire()) {
            stats.tracesSkipped.incrementAndGet();
            return false;
        }
        TraceDetector detector = new TraceDetector(agent, policy);
        TraceListener listener = new TraceListener() {
            @Override
            public boolean event(TraceEvent e) {
                detector.event(e);
                return !stopping;
            }

            @Override
            public boolean alert(TraceAlert a) {
                Optional<Alert> found = detector.alert(a);
                found.ifPresent(alert -> sink.accept(new TracedAlert(alert, a)));
                return !stopping;
            }
        };
        Thread t = new Thread(() -> {
            try (TraceSession session = agent.openTrace(TraceOptions.defaults().withDuration(traceFor), listener)) {
                running.add(session);
                try {
                    if (stopping || !stillSame.test(key)) {
                        return;
                    }
                    stats.tracesStarted.incrementAndGet();
                    LOG.info("tracing pid {} for {} s", key.pid(), traceFor.toSeconds());
                    session.attach(key.pid());
                } finally {
                    running.remove(session);
                }
            } catch (AgentException e) {
                LOG.warn("trace of pid {}: {}", key.pid(), e.getMessage());
            } finally {
                slots.release();
            }
        }, "memsentry-watch-trace-" + key.pid());
        t.setDaemon(true);
        synchronized (threads) {
            threads.removeIf(x -> !x.isAlive());
            threads.add(t);
        }
        t.start();
        return true;
    }

    /** A trace alert with the syscall that raised it. */
    record TracedAlert(Alert alert, TraceAlert raw) {
    }

    /** Ends every trace and waits (up to wait) until each has detached. */
    void stopAll(Duration wait) {
        stopping = true;
        running.forEach(TraceSession::stop);
        long deadline = System.nanoTime() + wait.toNanos();
        List<Thread> all;
        synchronized (threads) {
            all = List.copyOf(threads);
        }
        for (Thread t : all) {
            running.forEach(TraceSession::stop); // one that opened after the first pass
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            try {
                t.join(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
