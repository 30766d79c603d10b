package dev.memsentry.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memsentry.agent.TraceEvent;
import dev.memsentry.detect.Alert;
import dev.memsentry.output.Json;
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
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Where a trace's lines go: standard output (strace-like text, or JSON lines with --json) and,
 * with --out, JSON lines appended to a file (0600, never through a symbolic link); alerts and the
 * summary also to the sinks (--sink), which take ECS documents only. Events are
 * buffered, not flushed one by one: a flusher thread empties the buffers every {@link #FLUSH_MS}
 * ms, and alerts and the end flush at once. Called from the trace's output thread
 * ({@link OrderedHandoff}), the flusher, and the tracing thread for the warm-up and the summary;
 * every method holds the lock.
 */
final class TraceOutput implements AutoCloseable {
    static final long FLUSH_MS = 200;
    private static final String BOLD_RED = "\u001b[1;31m";
    private static final String RESET = "\u001b[0m";
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss.SSSSSS");

    private final PrintWriter stdout;
    private final JsonGenerator stdoutJson; // null: text on stdout
    private final BufferedWriter file;
    private final JsonGenerator fileJson;
    private final boolean color;
    private final ZoneId zone = ZoneId.systemDefault();
    private final ScheduledExecutorService flusher;
    private final SinkSet sinks; // null: none
    private boolean dirty;

    private TraceOutput(PrintWriter stdout, boolean json, BufferedWriter file, boolean color, SinkSet sinks)
        throws IOException {
        this.stdout = stdout;
        this.sinks = sinks;
        this.stdoutJson = json ? generator(stdout) : null;
        this.file = file;
        this.fileJson = file == null ? null : generator(file);
        this.color = color;
        this.flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "memsentry-trace-flush");
            t.setDaemon(true);
            return t;
        });
        flusher.scheduleWithFixedDelay(this::flushIfDirty, FLUSH_MS, FLUSH_MS, TimeUnit.MILLISECONDS);
    }

    /** color: highlight alerts (standard output is a terminal). sinks (may be null) get alerts and the summary. */
    static TraceOutput open(PrintWriter stdout, boolean json, Path out, boolean color, SinkSet sinks)
        throws IOException {
        return new TraceOutput(stdout, json, out == null ? null : AlertOutput.appendTo(out), color, sinks);
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

    private static JsonGenerator generator(java.io.Writer w) throws IOException {
        JsonGenerator g = Json.MAPPER.getFactory().createGenerator(w);
        g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        g.setRootValueSeparator(null); // lines end with '\n', written by hand
        return g;
    }

    /**
     * Formats a made-up event and alert into nothing, so that the classes and code paths of the
     * output are loaded before the first real event, while no target waits on them.
     */
    static void warmUp(Alert sample, ObjectNode sampleDoc, TraceEvent sampleEvent) {
        try {
            JsonGenerator g = generator(java.io.Writer.nullWriter());
            TraceRecords.writeEvent(g, sampleEvent);
            Json.MAPPER.writeTree(g, sampleDoc);
            g.flush();
            TraceRecords.writeText(java.io.Writer.nullWriter(), sampleEvent, ZoneId.systemDefault());
            LocalTime.ofInstant(sample.timestamp(), ZoneId.systemDefault()).format(CLOCK);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    synchronized void event(TraceEvent e) {
        try {
            if (stdoutJson != null) {
                TraceRecords.writeEvent(stdoutJson, e);
                stdoutJson.writeRaw('\n');
            } else {
                TraceRecords.writeText(stdout, e, zone);
            }
            if (fileJson != null) {
                TraceRecords.writeEvent(fileJson, e);
                fileJson.writeRaw('\n');
            }
            dirty = true;
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /** An alert: its ECS document in JSON, a highlighted line in text; flushed at once. */
    synchronized void alert(Alert a, ObjectNode doc) {
        if (stdoutJson == null) {
            String line = TerminalText.escape(LocalTime.ofInstant(a.timestamp(), zone).format(CLOCK) + " ALERT "
                + a.severity().wireName() + " " + a.rule().id() + ": " + a.message());
            stdout.println(color ? BOLD_RED + line + RESET : line);
        }
        document(doc, true);
    }

    /** A document that is not an event (the summary); to stdout only with --json. */
    synchronized void summary(ObjectNode doc) {
        document(doc, stdoutJson != null);
    }

    private void document(ObjectNode doc, boolean toStdout) {
        SinkRecord.identify(doc);
        if (sinks != null) {
            sinks.write(doc);
        }
        try {
            if (toStdout && stdoutJson != null) {
                Json.MAPPER.writeTree(stdoutJson, doc);
                stdoutJson.writeRaw('\n');
            }
            if (fileJson != null) {
                Json.MAPPER.writeTree(fileJson, doc);
                fileJson.writeRaw('\n');
            }
            flush();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
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
        if (stdoutJson != null) {
            stdoutJson.flush(); // passes the flush on to stdout
        } else {
            stdout.flush();
        }
        if (fileJson != null) {
            fileJson.flush();
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
                    fileJson.close();
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
