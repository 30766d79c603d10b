package dev.memsentry.cli;

import dev.memsentry.detect.ScanRunner;
import java.io.PrintWriter;

/** One self-overwriting progress line on standard error, at most ten updates a second. */
final class TerminalProgress implements ScanRunner.Progress {
    private static final long INTERVAL_NANOS = 100_000_000L;
    private final PrintWriter err;
    private long last;
    private int width;

    TerminalProgress(PrintWriter err) {
        this.err = err;
    }

    @Override
    public void update(int done, int total, int alerts) {
        long now = System.nanoTime();
        if (done < total && now - last < INTERVAL_NANOS) {
            return;
        }
        last = now;
        int bar = 30;
        int filled = total == 0 ? bar : (int) ((long) done * bar / total);
        String line = String.format("[%s%s] %d/%d processes, %d alerts", "=".repeat(filled), " ".repeat(bar - filled),
            done, total, alerts);
        width = Math.max(width, line.length());
        err.print("\r" + line);
        err.flush();
    }

    @Override
    public void finish() {
        if (width > 0) {
            err.print("\r" + " ".repeat(width) + "\r");
            err.flush();
        }
    }
}
