package dev.memsentry.cli;

import dev.memsentry.agent.TraceEvent;
import dev.memsentry.detect.Alert;
import dev.memsentry.detect.EcsDocument;
import dev.memsentry.output.JsonLine;
import dev.memsentry.output.TerminalText;
import dev.memsentry.output.TraceRecords;
import dev.memsentry.sink.SinkRecord;
import dev.memsentry.sink.SinkSet;
import dev.memsentry.sink.SinkStats;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Where a trace's lines go: standard output (strace-like text, or JSON lines with --json) and,
 * with --out, JSON lines appended to a file (0600, never through a symbolic link); alerts and the
 * summary also to the sinks (--sink), which take ECS documents only. Events are
 * buffered, not flushed one by one: a flusher thread empties the buffers every {@link #FLUSH_MS}
 * ms; alerts are flushed as soon as the output thread has written what was queued with them (one
 * write for a burst of alerts), the end at once. Called from the trace's output thread
 * ({@link OrderedHandoff}), the flusher, and the tracing thread for the warm-up and the summary;
 * every method holds the lock.
 */
final class TraceOutput implements AutoCloseable {
    static final long FLUSH_MS = 200;
    private static final String BOLD_RED = "\u001b[1;31m";
    private static final String RESET = "\u001b[0m";

    private final PrintWriter stdout;
    private final boolean json; // false: text on stdout
    private final BufferedWriter file; // null: no --out
    private final JsonLine line = new JsonLine(); // each JSON line, written once for stdout and the file
    private final boolean color;
    private final ZoneId zone; // text only: loading the time zone rules is not free
    private final ScheduledExecutorService flusher;
    private final SinkSet sinks; // null: none
    private boolean dirty;
    private boolean alertsPending; // written, to be flushed by flushAlerts

    private TraceOutput(PrintWriter stdout, boolean json, BufferedWriter file, boolean color, SinkSet sinks)
        throws IOException {
        this.stdout = stdout;
        this.sinks = sinks;
        this.json = json;
        this.zone = json ? null : ZoneId.systemDefault();
        this.file = file;
        this.color = color;
        this.flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "memsentry-trace-flush");
            t.setDaemon(true);
            return t;
        });
        flusher.scheduleWithFixedDelay(this::flushIfDirty, FLUSH_MS, FLUSH_MS, TimeUnit.MILLISECONDS);
    }

    /**
     * color: highlight alerts (standard output is a terminal). sinks (may be null) get alerts and the
     * summary; they are closed here if --out cannot be opened, as {@link AlertOutput#open} does.
     */
    static TraceOutput open(PrintWriter stdout, boolean json, Path out, boolean color, SinkSet sinks)
        throws IOException {
        try {
            return new TraceOutput(stdout, json, out == null ? null : AlertOutput.appendTo(out), color, sinks);
        } catch (IOException | RuntimeException e) {
            if (sinks != null) {
                sinks.closeNow();
            }
            throw e;
        }
    }

    /** Per sink health so far (final after close); empty without sinks. */
    List<SinkStats> sinkStats() {
        return sinks == null ? List.of() : sinks.stats();
    }

    /** Waits (bounded) until the sinks took what is queued, for the summary. */
    void drainSinks() {
        if (sinks != null) {
            sinks.drain();
        }
    }

    /**
     * Formats a made-up event and alert into nothing, so that the classes and code paths of the
     * output are loaded before the first real event, while no target waits on them.
     */
    static void warmUp(EcsDocument sampleDoc, TraceEvent sampleEvent, boolean text) {
        try {
            TraceRecords.writeEvent(new JsonLine(), sampleEvent);
            sampleDoc.write(new JsonLine());
            if (text) {
                TraceRecords.writeText(java.io.Writer.nullWriter(), sampleEvent, ZoneId.systemDefault());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    synchronized void event(TraceEvent e) {
        try {
            if (!json) {
                TraceRecords.writeText(stdout, e, zone);
            }
            if (json || file != null) {
                TraceRecords.writeEvent(line, e);
                writeLine(json);
            }
            dirty = true;
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /**
     * An alert: its ECS document in JSON, a highlighted line in text. Flushed by {@link #flushAlerts},
     * which the output thread calls once it has written what was queued with it.
     */
    synchronized void alert(Alert a, EcsDocument doc) {
        if (!json) {
            String text = TerminalText.escape(TraceRecords.clock(a.timestamp(), zone) + " ALERT "
                + a.severity().wireName() + " " + a.rule().id() + ": " + a.message());
            stdout.println(color ? BOLD_RED + text + RESET : text);
        }
        document(doc, true);
        alertsPending = true;
    }

    /** Flushes what alerts were written since the last flush, if any. */
    synchronized void flushAlerts() {
        if (alertsPending) {
            try {
                flush();
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        }
    }

    /** A document that is not an event (the summary); to stdout only with --json; flushed at once. */
    synchronized void summary(EcsDocument doc) {
        document(doc, json);
        try {
            flush();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private void document(EcsDocument doc, boolean toStdout) {
        SinkRecord.identify(doc);
        if (sinks != null) {
            sinks.write(doc);
        }
        try {
            if (json && toStdout || file != null) {
                doc.write(line);
                writeLine(json && toStdout);
            }
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /** Copies the line (formatted once) to standard output and the file, and empties the buffer. */
    private void writeLine(boolean toStdout) throws IOException {
        line.write('\n');
        if (toStdout) {
            line.writeTo(stdout);
        }
        if (file != null) {
            line.writeTo(file);
        }
        line.clear();
    }

    private synchronized void flushIfDirty() {
        if (dirty) {
            try {
                flush();
            } catch (IOException | UncheckedIOException e) {
                // The tracing thread meets the same error on its next write and reports it.
            }
        }
    }

    synchronized void flush() throws IOException {
        dirty = false;
        alertsPending = false;
        stdout.flush();
        if (file != null) {
            file.flush();
        }
    }

    /** Closes the sinks (the bounded wait for what is queued) and returns their final numbers. */
    List<SinkStats> closeSinks() {
        return AlertOutput.close(sinks);
    }

    @Override
    public void close() throws IOException {
        flusher.shutdownNow();
        try {
            synchronized (this) {
                flush();
                if (file != null) {
                    file.close();
                }
            }
        } finally {
            if (sinks != null) {
                sinks.close();
            }
        }
    }
}
