package dev.memsentry.agent;

import java.util.function.LongConsumer;

/**
 * A native handle on which one blocking run (a trace, a watch) happens at a time: {@link #begin}
 * and {@link #end} bracket the run, {@link #stop} reaches it from any thread, and {@link #close}
 * stops a run still going, waits for it to return, then frees the handle.
 */
final class NativeRun {
    private final String what;
    private final LongConsumer stop;
    private long handle; // 0 once closed
    private boolean running;

    NativeRun(String what, long handle, LongConsumer stop) {
        this.what = what;
        this.handle = handle;
        this.stop = stop;
    }

    synchronized long begin() {
        if (handle == 0) {
            throw new IllegalStateException(what + " is closed");
        }
        if (running) {
            throw new IllegalStateException("a run is already going on this " + what);
        }
        running = true;
        return handle;
    }

    synchronized void end() {
        running = false;
        notifyAll();
    }

    /** The native stop only sets a flag and wakes the run: safe to call under the lock. */
    synchronized void stop() {
        if (handle != 0) {
            stop.accept(handle);
        }
    }

    synchronized void close(LongConsumer free) {
        if (handle == 0) {
            return;
        }
        boolean interrupted = false;
        while (running) {
            stop.accept(handle);
            try {
                wait(100);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        free.accept(handle);
        handle = 0;
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
