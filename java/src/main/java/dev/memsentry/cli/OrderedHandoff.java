package dev.memsentry.cli;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs tasks on one worker thread, in the order one producer thread submitted them. The trace's
 * producer is the tracing thread, and the traced thread waits while it works: formatting and
 * writing a line there would add its cost to every ptrace stop, so it is handed over here and done
 * on another core.
 *
 * <p>Single producer, single consumer: a ring of slots between two counters, with no lock. The
 * worker never spins (a spinning worker doubled the CPU time of a busy trace): it runs everything
 * queued in one go, then parks. The producer wakes it for an urgent task (an alert, which is
 * written at once), when the ring is half full, or to drain or close; otherwise the worker wakes
 * by itself every {@link #IDLE_NANOS}, so ordinary tasks (event lines, flushed every 200 ms anyway)
 * are run in batches, at a few wake-ups per second instead of one per task. A full ring makes the
 * producer wait: output is never dropped. After a task fails, the rest are skipped,
 * {@link #submit} answers false (the trace then ends) and {@link #drain} rethrows the failure.
 */
final class OrderedHandoff implements AutoCloseable {
    static final long IDLE_NANOS = 20_000_000;
    private static final long WAIT_NANOS = 50_000;

    private final AtomicReferenceArray<Runnable> ring;
    private final int mask;
    private final AtomicLong submitted = new AtomicLong();
    private final AtomicLong done = new AtomicLong();
    private final Thread worker;
    private volatile boolean parked; // the worker is (about to be) parked: wake it to have tasks run now
    private volatile boolean closing;
    private volatile RuntimeException failure;

    /** capacity: a power of two. */
    OrderedHandoff(String threadName, int capacity) {
        if (Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two: " + capacity);
        }
        ring = new AtomicReferenceArray<>(capacity);
        mask = capacity - 1;
        worker = new Thread(this::work, threadName);
        worker.setDaemon(true);
        worker.start();
    }

    /** Queues task, to be run within {@link #IDLE_NANOS}; false once a task has failed. Producer thread only. */
    boolean submit(Runnable task) {
        return submit(task, false);
    }

    /** urgent: wake the worker to run it (and what came before) now. Producer thread only. */
    boolean submit(Runnable task, boolean urgent) {
        long n = submitted.get();
        while (n - done.get() > mask) {
            if (failure != null) {
                return false;
            }
            wake();
            LockSupport.parkNanos(WAIT_NANOS);
        }
        if (failure != null) {
            return false;
        }
        ring.lazySet((int) (n & mask), task);
        submitted.set(n + 1); // publishes the slot written above
        if (urgent || n - done.get() >= (mask + 1) / 2) {
            wake();
        }
        return true;
    }

    // Volatile write of submitted, then read of parked here; write of parked, then read of submitted
    // in the worker: one of the two sees the other, so no wake-up is lost.
    private void wake() {
        if (parked) {
            LockSupport.unpark(worker);
        }
    }

    /** Waits until every submitted task has run; rethrows the first failure. Producer thread only. */
    void drain() {
        long target = submitted.get();
        while (done.get() < target && worker.isAlive()) {
            wake();
            LockSupport.parkNanos(WAIT_NANOS);
        }
        RuntimeException f = failure;
        if (f != null) {
            throw f;
        }
    }

    private void work() {
        long next = 0;
        while (true) {
            long end = submitted.get();
            if (next < end) {
                for (; next < end; next++) {
                    int slot = (int) (next & mask);
                    Runnable task = ring.get(slot);
                    ring.lazySet(slot, null);
                    if (failure == null) {
                        try {
                            task.run();
                        } catch (RuntimeException e) {
                            failure = e;
                        }
                    }
                    done.set(next + 1);
                }
                continue;
            }
            if (closing) {
                if (next == submitted.get()) { // every submit came before closing was set: none is missed
                    return;
                }
                continue;
            }
            parked = true;
            if (next == submitted.get() && !closing) {
                LockSupport.parkNanos(this, IDLE_NANOS);
            }
            parked = false;
        }
    }

    /** Runs what is queued, then stops the worker. */
    @Override
    public void close() {
        closing = true;
        LockSupport.unpark(worker);
        boolean interrupted = false;
        while (worker.isAlive()) {
            try {
                worker.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
