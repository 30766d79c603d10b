package dev.memsentry.cli;

import dev.memsentry.config.OutputSettings;
import dev.memsentry.output.EvidenceFiles;
import dev.memsentry.sink.SinkSet;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The sink options every command that writes alerts takes (scan, trace, watch): --sink URI
 * (repeatable), --spool DIR, --no-spool, --spool-max-size SIZE, --sink-wait DURATION. They
 * replace the configuration's output.* keys.
 */
final class SinkOptions {
    /** Under the evidence directory, so that alerts and evidence of one host sit together. */
    static final String SPOOL_SUBDIR = "spool";

    @Option(names = "--sink", paramLabel = "URI",
        description = "Also deliver alerts and events to URI (repeatable; replaces output.sinks): file:PATH[?max_size="
            + "100M&keep=5], syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT[?ca=FILE&cert=FILE&key=FILE], "
            + "syslog+udp://HOST:PORT (lossy), kafka://HOST:PORT[,HOST:PORT...]/TOPIC. At least once: a sink that is "
            + "down gets its events from the spool when it is back.")
    List<String> sinks;

    @Option(names = "--spool", paramLabel = "DIR",
        description = "Where events wait while a network sink is down (default EVIDENCE_DIR/spool, created 0700).")
    Path spool;

    @Option(names = "--no-spool", description = "No spool: events for a sink that is down wait in memory only, "
        + "and a sink unreachable at start is an error (exit 3).")
    boolean noSpool;

    @Option(names = "--spool-max-size", paramLabel = "SIZE", converter = SizeConverter.class,
        description = "Per sink (default 256M); when full, the oldest events are dropped, counted and reported.")
    Long spoolMaxSize;

    @Option(names = "--sink-wait", paramLabel = "DURATION", converter = DurationConverter.class,
        description = "At the end, how long to wait for the sinks to take what is queued (default 10s); what "
            + "is left stays in the spool.")
    Duration sinkWait;

    /** A usage error in the sink options: one line, exit 2. */
    static final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;

        Invalid(String message) {
            super(message);
        }
    }

    /**
     * The settings for {@link SinkSet#open}. evidenceDir: the command's evidence directory (null:
     * the default), under which the spool goes unless --spool or output.spool_dir says otherwise.
     * Creates the spool directory (0700) when there is a network sink.
     */
    SinkSet.Settings settings(OutputSettings cfg, Path evidenceDir) throws Invalid {
        List<String> uris = sinks != null ? sinks : cfg.sinks();
        long max = spoolMaxSize != null ? spoolMaxSize : cfg.spoolMaxSize() != null ? cfg.spoolMaxSize()
            : SinkSet.Settings.DEFAULT_SPOOL_MAX;
        if (max < 4096) {
            throw new Invalid("--spool-max-size: at least 4K");
        }
        Duration wait = sinkWait != null ? sinkWait : cfg.shutdownWaitSeconds() != null
            ? Duration.ofSeconds(cfg.shutdownWaitSeconds()) : SinkSet.Settings.DEFAULT_WAIT;
        if (noSpool && spool != null) {
            throw new Invalid("--spool and --no-spool exclude each other");
        }
        boolean network = uris.stream().anyMatch(u -> !u.regionMatches(true, 0, "file:", 0, 5));
        Path dir = null;
        if (network && !noSpool) {
            Path explicit = spool != null ? spool : cfg.spoolDir();
            Path chosen = explicit != null ? explicit
                : (evidenceDir != null ? evidenceDir : Path.of(Detection.DEFAULT_EVIDENCE_DIR)).resolve(SPOOL_SUBDIR);
            try {
                if (explicit == null) {
                    EvidenceFiles.prepareDirectory(chosen.getParent(), true);
                }
                dir = EvidenceFiles.prepareDirectory(chosen, true);
            } catch (IOException e) {
                if (explicit != null) {
                    throw new Invalid("spool directory: " + e.getMessage());
                }
                org.slf4j.LoggerFactory.getLogger(SinkOptions.class).warn("no spool ({}): events for a sink that "
                    + "is down wait in memory only", e.getMessage());
            }
        }
        return new SinkSet.Settings(uris, dir, max, wait, cfg.kafka());
    }
}
