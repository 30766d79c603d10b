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
 * queued in one go, then parks, for {@link #MIN_IDLE_NANOS} after finding work and twice as long
 * each time it finds none, up to {@link #MAX_IDLE_NANOS}. A busy trace is so drained in batches,
 * with no wake-up call on the producer's path (the traced thread waits on it); an urgent task (an
 * alert, written at once) wakes a worker that parked longer than {@link #MIN_IDLE_NANOS}, a ring
 * half full wakes it in any case. A full ring makes the producer wait: output is never dropped.
 * After a task fails, the rest are skipped, {@link #submit} answers false (the trace then ends) and
 * {@link #drain} rethrows the failure.
 */
final class OrderedHandoff implements AutoCloseable {
    static final long MIN_IDLE_NANOS = 1_000_000;
    static final long MAX_IDLE_NANOS = 20_000_000;
    private static final long WAIT_NANOS = 50_000;

    private final AtomicReferenceArray<Runnable> ring;
    private final int mask;
    private final AtomicLong submitted = new AtomicLong();
    private final AtomicLong done = new AtomicLong();
    private final Thread worker;
    private final Runnable afterBatch;
    private volatile boolean parked; // the worker is (about to be) parked: wake it to have tasks run now
    private volatile boolean parkedLong; // ... for longer than MIN_IDLE_NANOS
    private volatile boolean closing;
    private volatile RuntimeException failure;

    /** capacity: a power of two. */
    OrderedHandoff(String threadName, int capacity) {
        this(threadName, capacity, () -> {
        });
    }

    /**
     * afterBatch runs on the worker after each run of tasks it found queued together (one flush
     * for several alerts, say); a failure there counts as a task's.
     */
    OrderedHandoff(String threadName, int capacity, Runnable afterBatch) {
        this.afterBatch = afterBatch;
        if (Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two: " + capacity);
        }
        ring = new AtomicReferenceArray<>(capacity);
        mask = capacity - 1;
        worker = new Thread(this::work, threadName);
        worker.setDaemon(true);
        worker.start();
    }

    /** Queues task, to be run within {@link #MAX_IDLE_NANOS}; false once a task has failed. Producer thread only. */
    boolean submit(Runnable task) {
        return submit(task, false);
    }

    /** urgent: to be run within {@link #MIN_IDLE_NANOS} (and what came before). Producer thread only. */
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
        if (urgent ? parkedLong : n - done.get() >= (mask + 1) / 2) {
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
        long idle = MIN_IDLE_NANOS;
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
                    if (next + 1 == end && failure == null) {
                        try {
                            afterBatch.run(); // before done: drain() returns after it
                        } catch (RuntimeException e) {
                            failure = e;
                        }
                    }
                    done.set(next + 1);
                }
                idle = MIN_IDLE_NANOS;
                continue;
            }
            if (closing) {
                if (next == submitted.get()) { // every submit came before closing was set: none is missed
                    return;
                }
                continue;
            }
            parkedLong = idle > MIN_IDLE_NANOS;
            parked = true;
            if (next == submitted.get() && !closing) {
                LockSupport.parkNanos(this, idle);
                idle = Math.min(idle * 2, MAX_IDLE_NANOS);
            }
            parked = false;
            parkedLong = false;
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
