package dev.memsentry.sink;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves one sink's records from memory and its spool to the sink, on a thread of its own so that
 * a slow or dead sink never holds up a scan. Order: what waits in the spool (an earlier outage,
 * an earlier run) goes first; while the sink is down, new records are appended behind it. A
 * failed attempt is retried with backoff (250 ms doubling to 5 s). Without a spool, records wait
 * in memory (at most {@link #MEMORY_LIMIT}, the oldest dropped) and are lost at exit.
 */
final class Delivery {
    private static final Logger LOG = LoggerFactory.getLogger(Delivery.class);
    static final int MEMORY_LIMIT = 100_000;
    static final int BATCH = 500;
    private static final long BACKOFF_MIN_MS = 250;
    private static final long BACKOFF_MAX_MS = 5000;

    private final SinkUri uri;
    private final Sink sink;
    private final Spool spool; // null: none
    private final ArrayDeque<SinkRecord> memory = new ArrayDeque<>();
    private final Thread thread;
    private boolean closing;
    /** The delivery thread is over: what is offered now goes straight to the spool. */
    private boolean finished;
    private boolean spoolClosed;
    /** Held by {@link #close}: the end of a command and a shutdown hook may both close. */
    private final Object closeLock = new Object();
    private boolean closed;
    /** The shutdown wait is over: stop attempting, the rest goes to the spool. */
    private boolean giveUp;
    private boolean inFlight;
    private boolean down;
    private long retryAt;
    private long backoff = BACKOFF_MIN_MS;
    private long delivered;
    private long spooled;
    private long retried;
    private long dropped;
    private String lastError;

    Delivery(SinkUri uri, Sink sink, Spool spool, String initialError) {
        this.uri = uri;
        this.sink = sink;
        this.spool = spool;
        if (initialError != null) {
            markDown(initialError);
        }
        this.thread = new Thread(this::run, "memsentry-sink-" + uri.scheme().wireName());
        thread.setDaemon(true);
        thread.start();
    }

    synchronized void offer(SinkRecord r) {
        if (finished) {
            // Written after the delivery thread ended (a writer that raced a shutdown): kept if a spool is open.
            if (spool != null && !spoolClosed) {
                try {
                    toSpool(List.of(r));
                    return;
                } catch (IOException e) {
                    LOG.error("sink {}: spool {}: {}: record lost", uri, spool.directory(), e.getMessage());
                }
            }
            dropped++;
            LOG.error("sink {}: a record written after the sink closed is lost (event.id {})", uri, r.id());
            return;
        }
        memory.add(r);
        if (spool == null && memory.size() > MEMORY_LIMIT) {
            memory.removeFirst();
            dropped++;
            if (dropped == 1) {
                LOG.error("sink {}: more than {} records waiting and no spool: dropping the oldest", uri, MEMORY_LIMIT);
            }
        }
        notifyAll();
    }

    private void run() {
        try {
            boolean up;
            synchronized (this) {
                up = !down;
            }
            if (up) {
                sink.warmUp();
            }
            while (true) {
                List<SinkRecord> batch;
                boolean fromSpool;
                synchronized (this) {
                    if (!awaitWork()) {
                        break;
                    }
                    fromSpool = spool != null && spool.pending() > 0;
                    batch = fromSpool ? spool.peek(BATCH) : take();
                    inFlight = true;
                }
                try {
                    attempt(batch, fromSpool);
                } finally {
                    synchronized (this) {
                        inFlight = false;
                        notifyAll();
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            LOG.error("sink {}: spool {}: {}", uri, spool.directory(), e.getMessage());
        } finally {
            finish();
        }
    }

    /**
     * Waits (holding the lock) until there is a batch to attempt: true; false when the thread is
     * done (closing and nothing left, or told to give up). While the sink is down and its retry
     * is not due, new records go to the spool behind those already there.
     */
    private boolean awaitWork() throws InterruptedException, IOException {
        while (true) {
            boolean spoolEmpty = spool == null || spool.pending() == 0;
            if (giveUp || (closing && memory.isEmpty() && spoolEmpty)) {
                return false;
            }
            if (down && waiting()) {
                if (spool != null && !memory.isEmpty()) {
                    toSpool(take());
                    notifyAll();
                } else {
                    wait(Math.max(1, retryAt - System.currentTimeMillis()));
                }
                continue;
            }
            if (!memory.isEmpty() || !spoolEmpty) {
                return true;
            }
            wait();
        }
    }

    private boolean waiting() {
        return down && System.currentTimeMillis() < retryAt;
    }

    private List<SinkRecord> take() {
        List<SinkRecord> batch = new ArrayList<>(Math.min(BATCH, memory.size()));
        while (batch.size() < BATCH && !memory.isEmpty()) {
            batch.add(memory.removeFirst());
        }
        return batch;
    }

    private void attempt(List<SinkRecord> batch, boolean fromSpool) throws IOException {
        try {
            sink.deliver(batch);
            synchronized (this) {
                if (fromSpool) {
                    spool.commit(batch.size());
                }
                delivered += batch.size();
                if (down) {
                    LOG.info("sink {}: delivering again", uri);
                }
                down = false;
                backoff = BACKOFF_MIN_MS;
            }
        } catch (SinkException e) {
            synchronized (this) {
                retried++;
                List<SinkRecord> again = new ArrayList<>(e.unconfirmed());
                delivered -= again.size();
                if (!fromSpool) {
                    again.addAll(batch);
                }
                if (!again.isEmpty()) {
                    if (spool != null) {
                        toSpool(again); // behind the spool's tail: they may arrive late, never not at all
                    } else {
                        for (int i = again.size() - 1; i >= 0; i--) {
                            memory.addFirst(again.get(i));
                        }
                    }
                }
                markDown(e.getMessage());
            }
        }
    }

    private void toSpool(List<SinkRecord> records) throws IOException {
        long lost = spool.append(records);
        spooled += records.size();
        if (lost > 0) {
            dropped += lost;
            LOG.error("sink {}: spool {} full: dropped the {} oldest records ({} dropped so far)", uri,
                spool.directory(), lost, dropped);
        }
    }

    private void markDown(String why) {
        if (!down || !why.equals(lastError)) {
            LOG.warn("sink {}: {}; {}", uri, why, spool != null ? "records wait in the spool " + spool.directory()
                : "records wait in memory (no spool)");
        }
        down = true;
        lastError = why;
        retryAt = System.currentTimeMillis() + backoff;
        backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
    }

    /** On the delivery thread, at its end: confirm, then whatever is left goes to the spool or is counted lost. */
    private void finish() {
        synchronized (this) {
            if (!down) {
                try {
                    sink.finish();
                } catch (SinkException e) {
                    markDown(e.getMessage());
                    memoryFront(e.unconfirmed());
                    delivered -= e.unconfirmed().size();
                }
            }
            List<SinkRecord> left = new ArrayList<>(memory);
            memory.clear();
            if (!left.isEmpty()) {
                if (spool != null) {
                    try {
                        toSpool(left);
                    } catch (IOException e) {
                        dropped += left.size();
                        LOG.error("sink {}: spool {}: {}: {} records lost", uri, spool.directory(), e.getMessage(),
                            left.size());
                    }
                } else {
                    dropped += left.size();
                    LOG.error("sink {}: {} records not delivered and no spool: lost", uri, left.size());
                }
            }
            finished = true;
            notifyAll();
        }
    }

    private void memoryFront(List<SinkRecord> records) {
        for (int i = records.size() - 1; i >= 0; i--) {
            memory.addFirst(records.get(i));
        }
    }

    /**
     * Ends the delivery thread: waits up to wait for the sink to take what is queued (retrying,
     * with backoff, a sink that is down), then aborts a blocked delivery; what is left goes to the
     * spool, and so do records offered after it. The sink and the spool stay open until
     * {@link #close}. A second call returns at once.
     */
    void stop(Duration wait) {
        synchronized (this) {
            closing = true;
            if (down) {
                retryAt = System.currentTimeMillis(); // one attempt at once
            }
            notifyAll();
        }
        try {
            thread.join(Math.max(1, wait.toMillis()));
            if (thread.isAlive()) {
                synchronized (this) {
                    giveUp = true;
                    if (lastError == null) {
                        lastError = "not delivered within the shutdown wait";
                    }
                    notifyAll();
                }
                sink.abort();
                thread.join(5000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops taking records and waits up to wait for the sink to take what is queued, retrying
     * (with backoff) a sink that is down. Past the wait, a blocked delivery is aborted; what is
     * left goes to the spool. Once only: a second caller waits for the first one's close.
     */
    void close(Duration wait) {
        synchronized (closeLock) {
            if (!closed) {
                closeOnce(wait);
                closed = true;
            }
        }
    }

    private void closeOnce(Duration wait) {
        stop(wait);
        sink.close();
        if (spool != null) {
            synchronized (this) {
                spoolClosed = true;
            }
            try {
                spool.close();
            } catch (IOException e) {
                LOG.warn("sink {}: closing the spool: {}", uri, e.getMessage());
            }
        }
    }

    /**
     * Waits until nothing is queued or in flight, or the sink is down: true; false if the deadline
     * (System.nanoTime) passed first.
     */
    synchronized boolean awaitIdle(long deadline) throws InterruptedException {
        // A sink that is down is done once its records are in the spool (with no spool, at once).
        while (thread.isAlive() && (inFlight || (!memory.isEmpty() && (spool != null || !down))
            || (!down && spool != null && spool.pending() > 0))) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }

    synchronized SinkStats stats() {
        return new SinkStats(uri.text(), delivered, spooled, retried, dropped, spool == null ? 0 : spool.pending(),
            spool == null ? null : spool.directory().toString(), lastError);
    }
}
