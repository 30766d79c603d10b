package dev.memsentry.cli;

import dev.memsentry.sink.SinkStats;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The shutdown hook of a one-shot command (scan, trace) with sinks: on SIGTERM or SIGINT it asks
 * the command to stop, waits (bounded) for the command's own end (summary written, sinks closed),
 * and if that does not come in time closes the sinks itself, so that what is still in memory goes
 * to the spool before the JVM halts. The JVM then exits with 128 + the signal (143, 130).
 *
 * <p>Registered for the whole command, {@link #close()}d at its very end (after the sinks).
 */
final class StopHook implements AutoCloseable {
    private final CountDownLatch finished = new CountDownLatch(1);
    private final Thread thread;

    /**
     * @param stop       what ends the command early (runs first, on the hook's thread)
     * @param wait       how long the command may take to end after stop
     * @param closeSinks closes the sinks (idempotent) and returns their final numbers
     */
    StopHook(String name, Runnable stop, Duration wait, Supplier<List<SinkStats>> closeSinks) {
        thread = new Thread(() -> {
            stop.run();
            boolean ended;
            try {
                ended = finished.await(wait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ended = false;
            }
            if (!ended) {
                SinkReport.log(closeSinks.get());
            }
        }, name);
        Runtime.getRuntime().addShutdownHook(thread);
    }

    /** The time a command may need after being stopped: drain and close each get the sink wait, and a margin. */
    static Duration afterStop(Duration sinkWait) {
        return sinkWait.multipliedBy(2).plusSeconds(10);
    }

    @Override
    public void close() {
        finished.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(thread);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs and returns now that the command is over
        }
    }
}
