package dev.memsentry.detect;

import dev.memsentry.agent.TraceEvent;
import dev.memsentry.output.JsonFields;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Alerts and events as Elastic Common Schema documents ({@link EcsDocument}, one per line when
 * written): event.kind "alert" for detections, "event" for what memsentry did (responses, the
 * scan summary). Field names follow ECS; memsentry's own fields live under memsentry.*.
 */
public final class EcsWriter {
    private final String hostname;

    public EcsWriter() {
        this(localHostname());
    }

    public EcsWriter(String hostname) {
        this.hostname = hostname;
    }

    /** The kernel's hostname: no DNS lookup, which may hang on a host under attack. */
    static String localHostname() {
        try {
            String h = Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
            if (!h.isEmpty()) {
                return h;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or /proc hidden: fall back
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

    public String hostname() {
        return hostname;
    }

    public EcsDocument alert(Alert a) {
        return EcsDocument.alert(hostname, a);
    }

    /**
     * An alert raised on a syscall stream by `trace`: the alert, plus the syscall under memsentry.syscall.
     */
    public EcsDocument traceAlert(Alert a, TraceEvent syscall) {
        return EcsDocument.alert(hostname, a).syscall(syscall);
    }

    /**
     * Something memsentry did or observed that is not a detection: a response action, the scan
     * summary. outcome is "success", "failure" or null; memsentry (may be null) is its memsentry.* payload.
     */
    public EcsDocument event(Instant at, String action, String outcome, ProcessRef process, String message,
                             JsonFields memsentry) {
        return EcsDocument.event(hostname, at, action, outcome, process, message, memsentry);
    }
}
