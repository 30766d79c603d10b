package dev.memsentry.detect;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link ProcessScanner} over many processes on a bounded pool of platform threads (a native
 * call pins a virtual thread's carrier). Results are handed to the consumer on the calling
 * thread, in completion order. A process whose scan overruns its deadline by more than a grace
 * period (stuck in the kernel, say) is given up as timed out; its worker thread is abandoned, and
 * being a daemon it does not keep memsentry alive.
 */
public final class ScanRunner {
    private static final Logger LOG = LoggerFactory.getLogger(ScanRunner.class);
    private static final long GRACE_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final long POLL_MS = 100;

    /** Told about progress on the calling thread. */
    public interface Progress {
        void update(int done, int total, int alerts);

        void finish();

        Progress NONE = new Progress() {
            @Override
            public void update(int done, int total, int alerts) {
            }

            @Override
            public void finish() {
            }
        };
    }

    private final ProcessScanner scanner;
    private final int threads;
    private final Duration budget;

    public ScanRunner(ProcessScanner scanner, int threads, Duration budget) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1");
        }
        this.scanner = scanner;
        this.threads = threads;
        this.budget = budget;
    }

    private volatile boolean stopped;

    /**
     * Ends {@link #run} early (from another thread, e.g. a shutdown hook): results not yet handed to
     * the consumer are left out, and scans in progress are abandoned.
     */
    public void stop() {
        stopped = true;
    }

    public boolean stopped() {
        return stopped;
    }

    public int threads() {
        return threads;
    }

    /** includeSelf: scan memsentry's own process too when it is among pids (it was asked for by pid). */
    public void run(List<Long> pids, boolean includeSelf, Consumer<ProcessResult> consumer, Progress progress) {
        AtomicInteger workerIds = new AtomicInteger();
        ThreadFactory factory = r -> {
            Thread t = new Thread(r, "memsentry-scan-" + workerIds.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        int size = Math.min(threads, Math.max(1, pids.size()));
        ThreadPoolExecutor pool = new ThreadPoolExecutor(size, size, 0, TimeUnit.MILLISECONDS,
            new LinkedBlockingQueue<>(), factory);
        ExecutorCompletionService<ProcessResult> done = new ExecutorCompletionService<>(pool);
        Map<Future<ProcessResult>, Long> pidOf = new HashMap<>();
        Map<Long, Long> startedAt = new java.util.concurrent.ConcurrentHashMap<>();
        for (long pid : pids) {
            pidOf.put(done.submit(() -> {
                startedAt.put(pid, System.nanoTime());
                try {
                    return scanner.scan(pid, budget, includeSelf);
                } finally {
                    startedAt.remove(pid);
                }
            }), pid);
        }
        int finished = 0;
        int alerts = 0;
        try {
            while (finished < pids.size() && !stopped) {
                Future<ProcessResult> f = done.poll(POLL_MS, TimeUnit.MILLISECONDS);
                if (f != null) {
                    Long pid = pidOf.remove(f);
                    if (pid == null) {
                        continue; // given up on earlier
                    }
                    ProcessResult r = result(f, pid);
                    alerts += r.alerts().size();
                    consumer.accept(r);
                    finished++;
                } else {
                    int given = giveUpOnStuck(pidOf, startedAt, consumer);
                    if (given > 0) {
                        // Their workers may never come back: keep the pool's useful size.
                        pool.setMaximumPoolSize(pool.getMaximumPoolSize() + given);
                        pool.setCorePoolSize(pool.getCorePoolSize() + given);
                    }
                    finished += given;
                }
                progress.update(finished, pids.size(), alerts);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            progress.finish();
            pool.shutdownNow();
        }
    }

    private ProcessResult result(Future<ProcessResult> f, long pid) throws InterruptedException {
        try {
            return f.get();
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            LOG.debug("scan of pid {} failed", pid, cause);
            return ProcessResult.skipped(pid, null, ProcessResult.Outcome.FAILED, String.valueOf(cause), 0);
        }
    }

    private int giveUpOnStuck(Map<Future<ProcessResult>, Long> pidOf, Map<Long, Long> startedAt,
                              Consumer<ProcessResult> consumer) {
        long now = System.nanoTime();
        int given = 0;
        for (var it = pidOf.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            Long start = startedAt.get(e.getValue());
            if (start != null && now - start > budget.toNanos() + GRACE_NANOS) {
                it.remove();
                e.getKey().cancel(true);
                consumer.accept(ProcessResult.skipped(e.getValue(), null, ProcessResult.Outcome.TIMED_OUT,
                    "no answer " + (budget.toSeconds() + GRACE_NANOS / 1_000_000_000) + " s after it started; abandoned",
                    now - start));
                given++;
            }
        }
        return given;
    }
}
