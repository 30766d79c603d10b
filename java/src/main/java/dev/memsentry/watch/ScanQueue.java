package dev.memsentry.watch;

import java.util.Comparator;
import java.util.PriorityQueue;

/**
 * The scans a watch has to do, by due time, in two classes. Scans that follow an event (a new program,
 * its late second look, a process found new by a resync) run as soon as they are due. Rescans run only
 * while the CPU budget has credit: credit accrues at --max-cpu percent of one core of wall time (up to a
 * small burst), and every scan's thread CPU time is charged to it, so the rescans yield to event work
 * and the scanning stays near the budget over time. Bounded: a scan that does not fit is refused (and
 * counted by the caller). Thread-safe; workers block in {@link #next()}.
 */
final class ScanQueue {
    enum Reason {
        EXEC("exec", true), AGAIN("exec-again", true), LATE("exec-late", true), RESYNC("resync", true), RESCAN("rescan", false);

        final String wireName;
        final boolean urgent;

        Reason(String wireName, boolean urgent) {
            this.wireName = wireName;
            this.urgent = urgent;
        }
    }

    /** seq: for a rescan, the generation of the process's schedule it belongs to (older ones are dropped). */
    record Task(ProcessKey key, Reason reason, long due, long seq) {
    }

    private static final Comparator<Task> BY_DUE = Comparator.comparingLong(Task::due);
    /** At most this much CPU saved up while idle, and at most this much owed after a burst of event work. */
    private static final long BURST_NANOS = 200_000_000L;
    private static final long DEBT_NANOS = 1_000_000_000L;

    private final PriorityQueue<Task> urgent = new PriorityQueue<>(BY_DUE);
    private final PriorityQueue<Task> paced = new PriorityQueue<>(BY_DUE);
    private final int capacity;
    private final int percent;
    private long credit;
    private long refilled = System.nanoTime();
    private boolean stopped;

    ScanQueue(int capacity, int maxCpuPercent) {
        this.capacity = capacity;
        this.percent = maxCpuPercent;
        this.credit = BURST_NANOS;
    }

    /** False when the queue is full or stopped. */
    synchronized boolean submit(Task t) {
        if (stopped || urgent.size() + paced.size() >= capacity) {
            return false;
        }
        (t.reason.urgent ? urgent : paced).add(t);
        notifyAll();
        return true;
    }

    synchronized int depth() {
        return urgent.size() + paced.size();
    }

    /** Charges a scan's CPU time to the budget. */
    synchronized void charge(long cpuNanos) {
        refill(System.nanoTime());
        credit = Math.max(-DEBT_NANOS, credit - cpuNanos);
    }

    private void refill(long now) {
        credit = Math.min(BURST_NANOS, credit + (now - refilled) * percent / 100);
        refilled = now;
    }

    /** The next due scan, waiting as long as needed; null once stopped. */
    synchronized Task next() throws InterruptedException {
        while (!stopped) {
            long now = System.nanoTime();
            long wait = 1_000_000_000L;
            Task u = urgent.peek();
            if (u != null) {
                if (u.due <= now) {
                    return urgent.poll();
                }
                wait = u.due - now;
            }
            Task p = paced.peek();
            if (p != null) {
                if (p.due <= now) {
                    refill(now);
                    if (credit > 0) {
                        return paced.poll();
                    }
                    wait = Math.min(wait, -credit * 100 / percent + 1);
                } else {
                    wait = Math.min(wait, p.due - now);
                }
            }
            long ms = Math.max(1, wait / 1_000_000);
            wait(ms);
        }
        return null;
    }

    synchronized void stop() {
        stopped = true;
        urgent.clear();
        paced.clear();
        notifyAll();
    }
}
