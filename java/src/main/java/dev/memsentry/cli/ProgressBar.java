package dev.memsentry.cli;

import java.io.PrintWriter;
import java.util.concurrent.TimeUnit;

/**
 * A one-line progress bar on standard error, drawn only when the output is a terminal, only
 * after a delay (short operations print nothing), at most ten times a second. Thread-safe: the
 * workers of a sweep update it, log lines clear it first.
 */
final class ProgressBar implements AutoCloseable {
    private static final int WIDTH = 28;

    private final PrintWriter err;
    private final boolean enabled;
    private final long start = System.nanoTime();
    private final long delayNanos;
    private long lastDraw;
    private int drawnLength;

    ProgressBar(PrintWriter err, boolean enabled, long delayMs) {
        this.err = err;
        this.enabled = enabled;
        this.delayNanos = TimeUnit.MILLISECONDS.toNanos(delayMs);
    }

    /** Standard output is a terminal: the only case where a bar is wanted. */
    static boolean onTerminal() {
        return System.console() != null;
    }

    synchronized void update(long done, long total, String text) {
        if (!enabled) {
            return;
        }
        long now = System.nanoTime();
        if (now - start < delayNanos || now - lastDraw < TimeUnit.MILLISECONDS.toNanos(100)) {
            return;
        }
        lastDraw = now;
        int filled = total <= 0 ? 0 : (int) Math.min(WIDTH, (double) done / total * WIDTH);
        String line = "[" + "#".repeat(filled) + " ".repeat(WIDTH - filled) + "] " + text;
        err.print("\r" + line + " ".repeat(Math.max(0, drawnLength - line.length())));
        err.flush();
        drawnLength = line.length();
    }

    /** Removes the bar so that a log line can be printed on a clean line. */
    synchronized void clear() {
        if (drawnLength > 0) {
            err.print("\r" + " ".repeat(drawnLength) + "\r");
            err.flush();
            drawnLength = 0;
        }
    }

    @Override
    public void close() {
        clear();
    }
}
