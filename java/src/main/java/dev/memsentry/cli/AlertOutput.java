package dev.memsentry.cli;

import dev.memsentry.config.OutputSettings;
import dev.memsentry.detect.EcsDocument;
import java.io.PrintWriter;
import dev.memsentry.sink.FileSink;
import dev.memsentry.sink.SinkException;
import dev.memsentry.sink.SinkRecord;
import dev.memsentry.sink.SinkSet;
import dev.memsentry.sink.SinkStats;
import dev.memsentry.sink.SinkUriException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * Where alert and event documents go: standard output (with --json), a file they are appended to
 * (--out), and the sinks (--sink, output.sinks). Every document gets its event.id here, once, so
 * that all of them carry the same one. The --out file is created 0600, never through a symbolic
 * link, and each line is flushed as written so a crash loses nothing already reported; sinks are
 * fed without blocking and closed with a bounded wait.
 *
 * <p>For a command: {@code open(...)}, {@code write(doc)} for each document, {@code drain()}
 * before the summary, {@link #sinkStats()} into it, then {@code close()}.
 */
final class AlertOutput implements AutoCloseable {
    private final PrintWriter stdout; // null: no --json
    private final BufferedWriter file;
    private final SinkSet sinks;

    private AlertOutput(PrintWriter stdout, BufferedWriter file, SinkSet sinks) {
        this.stdout = stdout;
        this.file = file;
        this.sinks = sinks;
    }

    /** Why the output cannot be opened: one line, and the exit code (2 usage, 3 failure). */
    static final class OpenException extends Exception {
        private static final long serialVersionUID = 1L;
        final int exitCode;

        OpenException(String message, int exitCode) {
            super(message);
            this.exitCode = exitCode;
        }
    }

    static AlertOutput open(Path path, PrintWriter stdout) throws IOException {
        return new AlertOutput(stdout, path == null ? null : appendTo(path), null);
    }

    /** With sinks: the --sink options over the configuration's output settings. */
    static AlertOutput open(Path path, PrintWriter stdout, SinkOptions options, OutputSettings cfg, Path evidenceDir)
        throws OpenException {
        return open(path, stdout, openSinks(options, cfg, evidenceDir));
    }

    /** With sinks opened earlier (null: none); they are closed if the file cannot be opened. */
    static AlertOutput open(Path path, PrintWriter stdout, SinkSet sinks) throws OpenException {
        try {
            return new AlertOutput(stdout, path == null ? null : appendTo(path), sinks);
        } catch (IOException e) {
            if (sinks != null) {
                sinks.closeNow();
            }
            throw new OpenException("cannot write " + path + ": " + e.getMessage(),
                e instanceof FileSink.Refused ? ExitCodes.USAGE : ExitCodes.FAILED);
        }
    }

    /** The sinks alone (trace writes its own lines): null when none is configured. */
    static SinkSet openSinks(SinkOptions options, OutputSettings cfg, Path evidenceDir) throws OpenException {
        SinkSet.Settings settings;
        try {
            settings = options.settings(cfg, evidenceDir);
        } catch (SinkOptions.Invalid e) {
            throw new OpenException(e.getMessage(), ExitCodes.USAGE);
        }
        if (settings.uris().isEmpty()) {
            return null;
        }
        try {
            return SinkSet.open(settings);
        } catch (SinkUriException e) {
            throw new OpenException(e.getMessage(), ExitCodes.USAGE);
        } catch (SinkException e) {
            throw new OpenException(e.getMessage(), ExitCodes.FAILED);
        }
    }

    /** A writer appending to path, checked as {@link FileSink#append} checks it ({@link FileSink.Refused}: exit 2). */
    static BufferedWriter appendTo(Path path) throws IOException {
        return new BufferedWriter(new OutputStreamWriter(Channels.newOutputStream(FileSink.append(path)),
            StandardCharsets.UTF_8));
    }

    void write(EcsDocument doc) {
        SinkRecord.identify(doc);
        if (stdout != null) {
            stdout.println(doc.json());
            stdout.flush();
        }
        if (file != null) {
            try {
                file.write(doc.json());
                file.newLine();
                file.flush();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        if (sinks != null) {
            sinks.write(doc);
        }
    }

    /** Waits (bounded by the sink wait) until the sinks took what is queued, or are down. */
    void drain() {
        if (sinks != null) {
            sinks.drain();
        }
    }

    /** Per sink health, for the summary; empty without sinks. */
    List<SinkStats> sinkStats() {
        return sinks == null ? List.of() : sinks.stats();
    }

    /** The sinks' bounded wait at the end of a run (zero without sinks). */
    java.time.Duration sinkWait() {
        return sinks == null ? java.time.Duration.ZERO : sinks.shutdownWait();
    }

    /** Closes the sinks (the bounded wait for what is queued) and returns their final numbers. */
    List<SinkStats> closeSinks() {
        return close(sinks);
    }

    /** Closes sinks (null: none; idempotent, safe from a shutdown hook) and returns their final numbers. */
    static List<SinkStats> close(SinkSet sinks) {
        if (sinks == null) {
            return List.of();
        }
        sinks.close();
        return sinks.stats();
    }

    @Override
    public void close() throws IOException {
        try {
            if (sinks != null) {
                sinks.close();
            }
        } finally {
            if (file != null) {
                file.close();
            }
        }
    }
}
