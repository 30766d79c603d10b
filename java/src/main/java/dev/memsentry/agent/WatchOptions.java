package dev.memsentry.agent;

import java.time.Duration;

/**
 * How to open a {@link ProcessEventSource}: the preferred source (AUTO tries the connector first),
 * the poller's interval, and the connector socket's receive buffer (0: the default; tests make it
 * tiny to force an overflow).
 */
public record WatchOptions(Source source, Duration pollInterval, int receiveBufferBytes) {
    public enum Source { AUTO, CONNECTOR, POLLER }

    public static WatchOptions defaults() {
        return new WatchOptions(Source.AUTO, Duration.ofMillis(100), 0);
    }
}
