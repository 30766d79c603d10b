package dev.memsentry.watch;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.ProcessEvent;
import dev.memsentry.agent.ProcessEventSource;
import dev.memsentry.detect.Alert;
import dev.memsentry.detect.BuiltinRules;
import dev.memsentry.detect.EcsWriter;
import dev.memsentry.detect.Finding;
import dev.memsentry.detect.ProcessRef;
import dev.memsentry.detect.ProcessResult;
import dev.memsentry.detect.Severity;
import dev.memsentry.detect.TracerFinding;
import dev.memsentry.output.JsonFields;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The watch: process events in, scans scheduled ({@link ScanQueue}), results reported once per
 * process instance, responses once per instance, traces for alerted processes, statistics. Threads:
 * the event source's, one for listings and statistics, the scan workers, and one per trace.
 *
 * <p>State is bounded: one {@link Tracked} per live process in scope (at most maxTracked), forgotten
 * at its exit or when a resync no longer lists it.
 */
public final class Watcher {
    private static final Logger LOG = LoggerFactory.getLogger(Watcher.class);
    private static final int QUEUE_CAPACITY = 65_536;
    private static final Duration STOP_WAIT = Duration.ofSeconds(4);
    /** The further early scans of a new program come these many settle delays after its exec. */
    static final int[] AGAIN_FACTORS = {4, 12, 30};
    private static final int WARM_UP_SCANS = 5;

    /** Why {@link #run} returned. */
    public enum End { STOPPED, DURATION, SOURCE_FAILED }

    private static final long SELF_PID = ProcessHandle.current().pid();
    private static final String SELF_JAR = dev.memsentry.detect.ScanSession.ownJar();
    private final Agent agent;
    private final ProcessEventSource source;
    private final ProcessScope scope;
    private final WatchSettings settings;
    private final EcsWriter ecs;
    private final WatchOutput output;
    private final WatchStats stats = new WatchStats();
    private final ScanQueue queue;
    private final WatchTracer tracer;
    private final Map<Long, Tracked> tracked = new ConcurrentHashMap<>();
    private final ReentrantReadWriteLock engineLock = new ReentrantReadWriteLock();
    private final Object outputLock = new Object();
    private final AtomicBoolean resyncPending = new AtomicBoolean();
    private final CountDownLatch done = new CountDownLatch(1);
    private final ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
    private final long started = System.nanoTime();
    private volatile Engine engine;
    private volatile boolean stopping;
    private volatile String sourceFailure;
    private volatile ScheduledExecutorService timer;
    /** When the last "lost events" warning was logged (one per LOST_LOG_NANOS at most). */
    private long lostLoggedAt;
    private long lostSinceLogged;
    private static final long LOST_LOG_NANOS = 10_000_000_000L;
    private final List<Thread> threads = new ArrayList<>();
    /** Responses counted by the responders of engines a reload replaced. */
    private final Map<String, Integer> retiredResponses = new java.util.TreeMap<>();

    public Watcher(Agent agent, ProcessEventSource source, ProcessScope scope, WatchSettings settings, Engine engine,
                   EcsWriter ecs, WatchOutput output) {
        this.agent = agent;
        this.source = source;
        this.scope = scope;
        this.settings = settings;
        this.engine = engine;
        this.ecs = ecs;
        this.output = output;
        this.queue = new ScanQueue(QUEUE_CAPACITY, settings.maxCpu());
        this.tracer = new WatchTracer(agent, settings.traceFor(), settings.maxTraces(), stats);
    }

    /** Why the event source failed, once {@link #run} returned SOURCE_FAILED. */
    public String sourceFailure() {
        return sourceFailure;
    }

    /**
     * Runs until {@link #stop()}, the duration (zero: none) or a failure of the event source; then
     * stops everything (no process left traced) and writes the last watch-stats event.
     *
     * @throws AgentException when the first process listing fails (no way to watch at all)
     */
    public End run(Duration duration) {
        if (cpu.isThreadCpuTimeSupported() && !cpu.isThreadCpuTimeEnabled()) {
            cpu.setThreadCpuTimeEnabled(true);
        }
        warmUp();
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "memsentry-watch-timer");
            t.setDaemon(true);
            return t;
        });
        Thread sourceThread = new Thread(this::runSource, "memsentry-watch-events");
        sourceThread.setDaemon(true);
        threads.add(sourceThread);
        sourceThread.start();
        try {
            resync(true);
        } catch (AgentException e) {
            shutdown();
            throw e;
        }
        for (int i = 0; i < settings.workers(); i++) {
            Thread w = new Thread(this::work, "memsentry-watch-scan-" + (i + 1));
            w.setDaemon(true);
            threads.add(w);
            w.start();
        }
        if (!settings.stats().isZero()) {
            long ms = settings.stats().toMillis();
            timer.scheduleAtFixedRate(this::emitStats, ms, ms, TimeUnit.MILLISECONDS);
        }
        LOG.info("watching {} with {} ({}); rescans every {}, at most {}% of a core", scope.describe(), source.name(),
            source.reason(), settings.rescan().isZero() ? "never" : settings.rescan().toMillis() + " ms", settings.maxCpu());
        End end = End.STOPPED;
        try {
            boolean finished = duration.isZero() ? awaitForever() : done.await(duration.toMillis(), TimeUnit.MILLISECONDS);
            if (!finished) {
                end = End.DURATION;
            } else if (sourceFailure != null) {
                end = End.SOURCE_FAILED;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        shutdown();
        emitStats();
        retireLast();
        return end;
    }

    /**
     * Scans memsentry's own process a few times before watching (results dropped), so the first
     * programs to start are not scanned by a cold JVM: a 300 ms implant does not wait for the JIT.
     */
    private void warmUp() {
        long self = ProcessHandle.current().pid();
        long t0 = System.nanoTime();
        for (int i = 0; i < WARM_UP_SCANS; i++) {
            engine.scanner().scan(self, engine.budget(), true);
        }
        LOG.debug("warm-up: {} scans of memsentry itself in {} ms", WARM_UP_SCANS, (System.nanoTime() - t0) / 1_000_000);
    }

    /** Frees the engine in use unless a scan abandoned by the shutdown still holds it (the JVM is ending then). */
    private void retireLast() {
        try {
            if (engineLock.writeLock().tryLock(1, TimeUnit.SECONDS)) {
                try {
                    engine.retire().run();
                } finally {
                    engineLock.writeLock().unlock();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private boolean awaitForever() throws InterruptedException {
        done.await();
        return true;
    }

    /** Ends the watch soon (SIGTERM, SIGINT); {@link #run} then cleans up and returns. Any thread. */
    public void stop() {
        done.countDown();
    }

    /** Replaces the detection engine (SIGHUP); scans in progress finish with the old one, which is then retired. */
    public void reload(Engine next) {
        Engine old;
        engineLock.writeLock().lock();
        try {
            if (stopping) {
                // run() retires the engine in use
                next.retire().run();
                return;
            }
            old = engine;
            engine = next;
        } finally {
            engineLock.writeLock().unlock();
        }
        synchronized (outputLock) {
            old.responder().counts().forEach((k, v) -> retiredResponses.merge(k, v, Integer::sum));
        }
        old.retire().run();
    }

    private void shutdown() {
        stopping = true;
        source.stop();
        queue.stop();
        if (timer != null) {
            timer.shutdownNow();
        }
        tracer.stopAll(Duration.ofSeconds(10));
        long deadline = System.nanoTime() + STOP_WAIT.toNanos();
        for (Thread t : threads) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break; // a scan stuck in the kernel: its daemon thread is abandoned
            }
            try {
                t.join(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        source.close();
    }

    private void runSource() {
        try {
            source.run(this::onEvent);
            if (!stopping) {
                sourceFailure = source.name() + " ended";
            }
        } catch (AgentException e) {
            if (!stopping) {
                sourceFailure = source.name() + ": " + e.getMessage();
            }
        } catch (RuntimeException e) {
            if (!stopping) {
                sourceFailure = source.name() + ": " + e;
                LOG.debug("event source failed", e);
            }
        }
        done.countDown();
    }

    /** On the source's thread: quick bookkeeping, the work goes to the queue. */
    private boolean onEvent(ProcessEvent e) {
        stats.eventsReceived.incrementAndGet();
        switch (e.kind()) {
            case FORK -> scope.forked(e.parentPid(), e.pid());
            case EXEC -> {
                stats.execs.incrementAndGet();
                Tracked t = track(e.pid(), e.parentPid() > 0 ? e.parentPid() : -1);
                if (t != null) {
                    t.program = null;
                    scheduleNewProgram(t, ScanQueue.Reason.EXEC, Math.min(e.timeNanos(), System.nanoTime()));
                }
            }
            case EXIT -> {
                tracked.remove(e.pid());
                scope.exited(e.pid());
            }
            case PTRACE -> {
                if (e.exitCode() == 0) {
                    stats.ptraceAttaches.incrementAndGet();
                    ptraceAttached(e.pid(), e.parentPid());
                }
            }
            case LOST -> {
                long n = e.lost() > 0 ? e.lost() : 1;
                stats.eventsLost.addAndGet(n);
                lostSinceLogged += n;
                long now = System.nanoTime();
                if (lostLoggedAt == 0 || now - lostLoggedAt > LOST_LOG_NANOS) {
                    LOG.warn("{} lost {} events{}; resynchronising from a full process listing", source.name(),
                        lostSinceLogged, lostLoggedAt == 0 ? "" : " in the last " + (now - lostLoggedAt) / 1_000_000_000L + " s");
                    lostLoggedAt = now;
                    lostSinceLogged = 0;
                }
                requestResync();
            }
            default -> {
            }
        }
        return !stopping;
    }

    /**
     * The instance now at pid, remembered if it is in scope (a new instance replaces an old one at the
     * same pid); null when it is out of scope, gone, or the state is full.
     */
    /**
     * As {@link #track(long, long, java.util.function.LongUnaryOperator)} for an exec event: a tree
     * learns its members from fork events (and resyncs), so no parent is looked up in /proc and an
     * exec out of scope costs nothing on a busy host.
     */
    private Tracked track(long pid, long ppid) {
        return track(pid, ppid, NO_PARENT_LOOKUP);
    }

    private static final java.util.function.LongUnaryOperator NO_PARENT_LOOKUP = pid -> 0;

    /** Tracks pid if in scope; an untracked pid out of scope costs no /proc read beyond parentOf's. */
    private Tracked track(long pid, long ppid, java.util.function.LongUnaryOperator parentOf) {
        Tracked t = tracked.get(pid);
        if (t == null && !scope.admits(pid, ppid, parentOf)) {
            stats.outOfScope.incrementAndGet();
            return null;
        }
        Optional<ProcStat> st = ProcStat.read(pid);
        if (st.isEmpty()) {
            stats.exitedBeforeScan.incrementAndGet();
            return null;
        }
        ProcessKey key = ProcessKey.of(st.get());
        if (t != null && t.key.equals(key)) {
            return t;
        }
        if (t != null) {
            // Another instance at this pid: the old one exited unseen, and what it was tells nothing.
            tracked.remove(pid, t);
            scope.exited(pid);
            if (!scope.admits(pid, st.get().ppid(), parentOf)) {
                stats.outOfScope.incrementAndGet();
                return null;
            }
        }
        if (t == null && tracked.size() >= settings.maxTracked()) {
            stats.stateFull.incrementAndGet();
            return null;
        }
        Tracked fresh = new Tracked(key);
        tracked.put(pid, fresh);
        return fresh;
    }

    /**
     * The scans of a program that has just started: first, again a few settle delays later (a loaded
     * host may not have run its first instructions by then), and the late one.
     */
    private void scheduleNewProgram(Tracked t, ScanQueue.Reason first, long at) {
        long settle = settings.settle().toNanos();
        submit(new ScanQueue.Task(t.key, first, at + settle, 0));
        for (int factor : AGAIN_FACTORS) {
            submit(new ScanQueue.Task(t.key, ScanQueue.Reason.AGAIN, at + factor * settle, 0));
        }
        if (!settings.settleLate().isZero()) {
            submit(new ScanQueue.Task(t.key, ScanQueue.Reason.LATE, at + settings.settleLate().toNanos(), 0));
        }
    }

    private void submit(ScanQueue.Task task) {
        if (!queue.submit(task) && !stopping) {
            stats.dropped.incrementAndGet();
        }
    }

    private void requestResync() {
        ScheduledExecutorService t = timer;
        if (t != null && !stopping && resyncPending.compareAndSet(false, true)) {
            try {
                t.execute(() -> {
                    resyncPending.set(false);
                    try {
                        resync(false);
                    } catch (AgentException e) {
                        LOG.warn("resync failed: {}", e.getMessage());
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException stopped) {
                // the watch is ending
            }
        }
    }

    /**
     * A full listing: processes in scope that are not known yet are tracked and scanned (the first
     * listing's are rescans, due now, paced by the budget; a resync's are urgent, as they may be what
     * the lost events announced), and known ones no longer listed are forgotten.
     */
    private void resync(boolean initial) {
        if (!initial) {
            stats.resyncs.incrementAndGet();
        }
        List<dev.memsentry.agent.ProcessInfo> listing = new ArrayList<>();
        agent.forEachProcess(p -> {
            if (!p.kernelThread()) {
                listing.add(p);
            }
            return !stopping;
        });
        Map<Long, Long> parents = new java.util.HashMap<>();
        listing.forEach(p -> parents.put(p.pid(), p.ppid()));
        java.util.function.LongUnaryOperator parentOf = pid -> {
            Long ppid = parents.get(pid);
            return ppid != null ? ppid : ProcessScope.parentFromProc(pid);
        };
        Set<Long> listed = new HashSet<>();
        for (dev.memsentry.agent.ProcessInfo p : listing) {
            listed.add(p.pid());
            Tracked known = tracked.get(p.pid());
            Tracked t = track(p.pid(), p.ppid(), parentOf);
            if (t != null) {
                String program = ListingPoller.program(p);
                String before = t.program;
                t.program = program;
                long now = System.nanoTime();
                if (t != known && initial) {
                    submit(new ScanQueue.Task(t.key, ScanQueue.Reason.RESCAN, now, t.rescanSeq));
                } else if (t != known || (before != null && !before.equals(program))) {
                    // New, or it ran another program and that exec's event was among the lost ones.
                    scheduleNewProgram(t, ScanQueue.Reason.RESYNC, now - settings.settle().toNanos());
                }
            }
        }
        for (Long pid : List.copyOf(tracked.keySet())) {
            if (!listed.contains(pid)) {
                tracked.remove(pid);
                scope.exited(pid);
            }
        }
    }

    /** A scan worker. */
    private void work() {
        long self = ProcessHandle.current().pid();
        try {
            ScanQueue.Task task;
            while ((task = queue.next()) != null) {
                if (task.key().pid() != self) {
                    scanOne(task);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether pid still is this instance (so the scan, response or trace is aimed at the right process). */
    private static boolean stillSame(ProcessKey key) {
        return ProcStat.read(key.pid()).map(s -> s.startTicks() == key.startTicks()).orElse(false);
    }

    private void scanOne(ScanQueue.Task task) {
        Tracked t = tracked.get(task.key().pid());
        if (t == null || !t.key.equals(task.key()) || !stillSame(task.key())) {
            if (task.reason() != ScanQueue.Reason.RESCAN) {
                stats.exitedBeforeScan.incrementAndGet();
            }
            return;
        }
        if (task.reason() == ScanQueue.Reason.RESCAN && task.seq() != t.rescanSeq) {
            return; // superseded by a later scan's schedule
        }
        engineLock.readLock().lock();
        Engine e = engine;
        try {
            long cpu0 = cpu.getCurrentThreadCpuTime();
            ProcessResult r = e.scanner().scan(task.key().pid(), e.budget(), false);
            long used = Math.max(0, cpu.getCurrentThreadCpuTime() - cpu0);
            queue.charge(used);
            stats.scanCpuNanos.addAndGet(used);
            LOG.debug("scan {} pid {} ({}): {}, {} alerts, {} us cpu", task.reason().wireName, task.key().pid(),
                r.process() == null ? "?" : r.process().name(), r.outcome().wireName(), r.alerts().size(), used / 1000);
            if (!r.outcome().scanned() && r.alerts().isEmpty()) {
                stats.exitedBeforeScan.incrementAndGet();
                return;
            }
            stats.scans.incrementAndGet();
            switch (task.reason()) {
                case EXEC -> stats.scansOnExec.incrementAndGet();
                case AGAIN -> stats.scansAgain.incrementAndGet();
                case LATE -> stats.scansLate.incrementAndGet();
                case RESCAN -> stats.scansRescan.incrementAndGet();
                case RESYNC -> stats.scansResync.incrementAndGet();
            }
            if (!stillSame(task.key())) {
                return; // the pid was reused during the scan: what was seen is not this instance's
            }
            report(t, r, task.reason(), e);
        } finally {
            if (e.pins() != null) {
                e.pins().release(task.key().pid());
            }
            engineLock.readLock().unlock();
        }
        scheduleRescan(t);
    }

    private void scheduleRescan(Tracked t) {
        if (settings.rescan().isZero() || stopping) {
            return;
        }
        long interval = settings.rescan().toNanos();
        // +-10 %, so processes started together do not stay bunched up.
        long jitter = (long) (interval * (ThreadLocalRandom.current().nextDouble() * 0.2 - 0.1));
        long seq = t.rescanSeq + 1;
        t.rescanSeq = seq;
        submit(new ScanQueue.Task(t.key, ScanQueue.Reason.RESCAN, System.nanoTime() + interval + jitter, seq));
    }

    /**
     * A ptrace attach seen by the event source (host-wide, at no cost per process): inject.tracer
     * at once, since an injector detaches within milliseconds, long before a scan would see it in
     * /proc/PID/status. The same rule, policy and once-per-instance reporting as a scan's; memsentry's
     * own traces (--trace-on) and known debuggers are not reported.
     */
    private void ptraceAttached(long tracee, long tracer) {
        Engine e = engine;
        if (tracer == SELF_PID || !e.policy().enabled(BuiltinRules.TRACER)) {
            return;
        }
        Tracked t = track(tracee, -1);
        if (t == null) {
            return;
        }
        try {
            Optional<Finding> f = TracerFinding.of(agent, e.policy(), tracer, SELF_PID, SELF_JAR);
            if (f.isEmpty()) {
                return;
            }
            Severity severity = e.policy().configured(BuiltinRules.TRACER);
            if (!severity.atLeast(e.threshold())) {
                return;
            }
            Alert a = new Alert(Instant.now(), BuiltinRules.TRACER, severity, ProcessRef.of(agent.process(tracee)), null,
                "ptrace attach: " + f.get().message(), f.get().details(), null);
            synchronized (outputLock) {
                if (!t.firstReport(alertKey(a) + "#tracer:" + tracer)) {
                    stats.alertsRepeated.incrementAndGet();
                    return;
                }
                stats.alerts.incrementAndGet();
                output.alert(a, ecs.alert(a).watch("ptrace-event", t.key.startTicks()));
            }
        } catch (AgentException gone) {
            LOG.debug("ptrace attach to {} by {}: {}", tracee, tracer, gone.getMessage());
        }
    }

    /** New alerts out, then the response and the trace, each once per instance. */
    private void report(Tracked t, ProcessResult r, ScanQueue.Reason reason, Engine e) {
        synchronized (outputLock) {
            if (!tracked.containsKey(t.key.pid())) {
                // exited meanwhile: still report what was seen
                LOG.debug("pid {} exited before its result was reported", t.key.pid());
            }
            List<Alert> fresh = new ArrayList<>();
            for (Alert a : r.alerts()) {
                if (!a.severity().atLeast(e.threshold())) {
                    continue;
                }
                if (!t.firstReport(alertKey(a))) {
                    stats.alertsRepeated.incrementAndGet();
                    continue;
                }
                fresh.add(a);
                stats.alerts.incrementAndGet();
                output.alert(a, ecs.alert(a).watch(reason.wireName, t.key.startTicks()));
            }
            if (fresh.isEmpty()) {
                return;
            }
            if (!t.responded && e.responder().action() != dev.memsentry.config.ResponseAction.ALERT
                && fresh.stream().anyMatch(a -> a.severity().atLeast(e.responder().min()))) {
                t.responded = true;
                if (stillSame(t.key)) {
                    e.responder().respond(new ProcessResult(r.pid(), r.process(), r.outcome(), r.detail(), fresh,
                        r.suppressed(), r.regions(), r.bytesMapped(), r.bytesCompared(), r.bytesScanned(),
                        r.elapsedNanos(), r.warnings()));
                }
            }
            Severity on = settings.traceOn();
            if (on != null && !t.traced && fresh.stream().anyMatch(a -> a.severity().atLeast(on))) {
                t.traced = true;
                tracer.start(t.key, e.policy(), Watcher::stillSame, this::traceAlert);
            }
        }
    }

    private void traceAlert(WatchTracer.TracedAlert ta) {
        synchronized (outputLock) {
            stats.traceAlerts.incrementAndGet();
            output.alert(ta.alert(), ecs.traceAlert(ta.alert(), ta.raw().event()).watch("trace", -1));
        }
    }

    /** What makes two alerts of one process the same: rule, region start, YARA rule. */
    static String alertKey(Alert a) {
        StringBuilder k = new StringBuilder(a.rule().id());
        if (a.region() != null) {
            k.append('@').append(Long.toHexString(a.region().start()));
        }
        if (a.yara() != null && a.yara().get("rule") instanceof String rule) {
            k.append('#').append(rule);
        }
        return k.toString();
    }

    private void emitStats() {
        synchronized (outputLock) {
            long cpuMs = ProcessHandle.current().info().totalCpuDuration().map(Duration::toMillis).orElse(-1L);
            JsonFields ms = new JsonFields();
            Map<String, Integer> responses = new java.util.TreeMap<>(retiredResponses);
            engine.responder().counts().forEach((k, v) -> responses.merge(k, v, Integer::sum));
            JsonFields s = stats.toJson(source.name(), tracked.size(), queue.depth(), tracer.running(), responses, cpuMs, (System.nanoTime() - started) / 1_000_000);
            ms.set("watch_stats", s);
            String text = "watch-stats: " + s.get("events_received") + " events (" + s.get("events_lost")
                + " lost), " + s.get("resyncs") + " resyncs, " + s.get("processes_scanned")
                + " scans, " + s.get("alerts") + " alerts, queue " + s.get("queue_depth")
                + ", cpu " + cpuMs + " ms";
            output.event(ecs.event(Instant.now(), "watch-stats", null, null, text, ms), text);
        }
    }
}
