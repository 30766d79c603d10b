package dev.memsentry.detect;

import java.time.Duration;

/** A per-process time budget, checked between steps and handed to native calls as a timeout. */
public final class Deadline {
    private final long endNanos;

    private Deadline(long endNanos) {
        this.endNanos = endNanos;
    }

    public static Deadline in(Duration budget) {
        return new Deadline(System.nanoTime() + budget.toNanos());
    }

    public boolean passed() {
        return System.nanoTime() - endNanos >= 0;
    }

    /** Milliseconds left, at least 1 while time remains (0 would mean "no timeout" to the agent). */
    public long remainingMillis() {
        long left = (endNanos - System.nanoTime()) / 1_000_000;
        return Math.max(1, left);
    }

    /** Throws {@link ScanTimeoutException} once the budget is spent. */
    public void check() {
        if (passed()) {
            throw new ScanTimeoutException();
        }
    }

    /** The per-process deadline ran out; findings made so far stand. */
    public static final class ScanTimeoutException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public ScanTimeoutException() {
            super("per-process deadline reached", null, false, false);
        }
    }
}
