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
 * <p>Single producer, single consumer: a ring of slots between two counters, with no lock and no
 * wake-up call on the producer's path. The worker polls, spinning briefly and then parking for a
 * little longer each time it finds nothing (up to {@link #MAX_IDLE_NANOS}), so an idle trace costs
 * nearly nothing and a busy one is drained as it goes. A full ring makes the producer wait: output
 * is never dropped. After a task fails, the rest are skipped, {@link #submit} answers false (the
 * trace then ends) and {@link #drain} rethrows the failure.
 */
final class OrderedHandoff implements AutoCloseable {
    private static final long MIN_IDLE_NANOS = 20_000;
    private static final long MAX_IDLE_NANOS = 10_000_000;
    private static final int SPINS = 200;

    private final AtomicReferenceArray<Runnable> ring;
    private final int mask;
    private final AtomicLong submitted = new AtomicLong();
    private final AtomicLong done = new AtomicLong();
    private final Thread worker;
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

    /** Queues task; false once a task has failed (nothing more is run). Producer thread only. */
    boolean submit(Runnable task) {
        long n = submitted.get();
        while (n - done.get() > mask) {
            if (failure != null) {
                return false;
            }
            LockSupport.parkNanos(MIN_IDLE_NANOS);
        }
        if (failure != null) {
            return false;
        }
        ring.lazySet((int) (n & mask), task);
        submitted.set(n + 1); // publishes the slot written above
        return true;
    }

    /** Waits until every submitted task has run; rethrows the first failure. Producer thread only. */
    void drain() {
        long target = submitted.get();
        while (done.get() < target && worker.isAlive()) {
            LockSupport.parkNanos(MIN_IDLE_NANOS);
        }
        RuntimeException f = failure;
        if (f != null) {
            throw f;
        }
    }

    private void work() {
        long next = 0;
        long idle = MIN_IDLE_NANOS;
        int spins = 0;
        while (true) {
            if (next < submitted.get()) {
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
                done.set(++next);
                idle = MIN_IDLE_NANOS;
                spins = 0;
            } else if (closing) {
                if (next == submitted.get()) { // every submit came before closing was set: none is missed
                    return;
                }
            } else if (spins < SPINS) {
                spins++;
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(idle);
                idle = Math.min(idle * 2, MAX_IDLE_NANOS);
            }
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
