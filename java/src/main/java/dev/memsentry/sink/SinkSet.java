package dev.memsentry.sink;

import dev.memsentry.detect.EcsDocument;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sinks of one command run: each document written is given its event.id once and handed to
 * every sink's {@link Delivery}. Network sinks get a spool folder each under the spool directory
 * (named after the URI, so the next run with the same URI finds what was left).
 */
public final class SinkSet implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SinkSet.class);

    /**
     * @param spoolDir      where network sinks spool; null: no spool
     * @param spoolMaxBytes per sink
     * @param kafka         producer settings passed through to kafka-clients
     */
    public record Settings(List<String> uris, Path spoolDir, long spoolMaxBytes, Duration shutdownWait,
                           Map<String, String> kafka) {
        public static final long DEFAULT_SPOOL_MAX = 256L << 20;
        public static final Duration DEFAULT_WAIT = Duration.ofSeconds(10);

        public Settings {
            uris = List.copyOf(uris);
            kafka = Map.copyOf(kafka);
        }
    }

    private final List<Delivery> deliveries;
    private final Duration wait;
    private volatile List<SinkStats> finalStats;
    private volatile boolean exhausted;
    /** Held while closing: the end of a command and its shutdown hook may close at the same time. */
    private final Object closeLock = new Object();

    private SinkSet(List<Delivery> deliveries, Duration wait) {
        this.deliveries = deliveries;
        this.wait = wait;
    }

    /** Every URI checked for its syntax and settings, before anything is opened. */
    public static List<SinkUri> parseAll(List<String> uris) {
        List<SinkUri> out = new ArrayList<>();
        for (String u : uris) {
            out.add(SinkUri.parse(u));
        }
        return out;
    }

    /** A sink object for uri, not yet connected. Kafka's classes are loaded here, for a kafka sink only. */
    public static Sink create(SinkUri uri, Map<String, String> kafka) {
        Sink s = switch (uri.scheme()) {
            case FILE -> new FileSink(uri);
            case SYSLOG_TCP, SYSLOG_TLS, SYSLOG_UDP -> new SyslogSink(uri);
            case KAFKA -> new KafkaSink(uri, kafka);
        };
        return s;
    }

    /**
     * Opens every sink and checks it can be reached. A sink that cannot be reached now starts
     * with its records going to its spool.
     *
     * @throws SinkUriException a malformed URI or setting, an unreadable CA file (usage)
     * @throws SinkException    a sink that refuses for good (TLS trust, authorization), or one
     *                          that cannot be reached and has no spool
     */
    public static SinkSet open(Settings settings) throws SinkException {
        List<SinkUri> uris = parseAll(settings.uris());
        List<Sink> sinks = new ArrayList<>();
        List<Delivery> deliveries = new ArrayList<>();
        try {
            for (SinkUri u : uris) {
                sinks.add(create(u, settings.kafka()));
            }
            for (int i = 0; i < uris.size(); i++) {
                SinkUri u = uris.get(i);
                Sink sink = sinks.get(i);
                Spool spool = null;
                if (u.scheme().network() && settings.spoolDir() != null) {
                    Path dir = settings.spoolDir().resolve(u.spoolName());
                    try {
                        spool = Spool.open(dir, settings.spoolMaxBytes());
                    } catch (IOException e) {
                        LOG.warn("sink {}: no spool: {}", u, e.getMessage());
                    }
                }
                String down = null;
                try {
                    sink.reach();
                } catch (SinkException e) {
                    if (!e.isTransient() || spool == null) {
                        closeQuietly(spool);
                        throw new SinkException("sink " + u + ": " + e.getMessage()
                            + (e.isTransient() ? " (and no spool to keep alerts until it is back)" : ""), false, e);
                    }
                    down = e.getMessage();
                }
                if (spool != null && spool.pending() > 0) {
                    LOG.info("sink {}: {} records from an earlier run wait in {}: delivering them first", u,
                        spool.pending(), spool.directory());
                }
                deliveries.add(new Delivery(u, sink, spool, down));
            }
        } catch (SinkException | RuntimeException e) {
            deliveries.forEach(d -> d.close(Duration.ZERO));
            sinks.subList(deliveries.size(), sinks.size()).forEach(Sink::close);
            throw e;
        }
        return new SinkSet(deliveries, settings.shutdownWait());
    }

    private static void closeQuietly(Spool s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                // nothing was written
            }
        }
    }

    public boolean isEmpty() {
        return deliveries.isEmpty();
    }

    /** Queues doc (given an event.id if it has none) for every sink. Never blocks on a sink. */
    public void write(EcsDocument doc) {
        if (deliveries.isEmpty()) {
            return;
        }
        SinkRecord r = SinkRecord.of(doc);
        for (Delivery d : deliveries) {
            d.offer(r);
        }
    }

    /** Per sink, so far (after close: the final numbers). */
    public List<SinkStats> stats() {
        if (finalStats != null) {
            return finalStats;
        }
        return deliveries.stream().map(Delivery::stats).toList();
    }

    /**
     * Waits, within the shutdown wait, until every sink took what is queued or is down: then
     * {@link #stats()} are what a summary should say. If the wait ran out, the sinks still busy are
     * stopped and what they hold goes to the spool now (the summary counts it there); the close that
     * follows then gets 1 s, so that a run never waits much more than the wait.
     */
    public void drain() {
        long end = System.nanoTime() + wait.toNanos();
        List<Delivery> busy = new ArrayList<>();
        for (Delivery d : deliveries) {
            try {
                if (!d.awaitIdle(end)) {
                    busy.add(d);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        exhausted = !busy.isEmpty();
        // A sink still busy (one that neither takes records nor fails, such as a broker that accepts
        // connections and never answers) is stopped now and what it holds spooled, so that the
        // summary written next counts it where it is; the summary itself then goes to its spool.
        inParallel(busy, d -> d.stop(Duration.ZERO));
    }

    private long closeDeadline() {
        return System.nanoTime() + (exhausted ? 1_000_000_000L : wait.toNanos());
    }

    /** The bounded wait for delivery at the end of a run (--sink-wait). */
    public Duration shutdownWait() {
        return wait;
    }

    /**
     * Waits, at most what is left of the shutdown wait, for the sinks to take what is queued.
     * Idempotent and safe from several threads: a second caller returns once the first close is over.
     */
    @Override
    public void close() {
        synchronized (closeLock) {
            if (finalStats == null) {
                closeOnce(closeDeadline());
            }
        }
    }

    /** Closes without waiting for delivery (a run that ends before its first document): what is queued is spooled. */
    public void closeNow() {
        synchronized (closeLock) {
            if (finalStats == null) {
                closeOnce(System.nanoTime());
            }
        }
    }

    private void closeOnce(long deadline) {
        inParallel(deliveries, d -> d.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime()))));
        finalStats = deliveries.stream().map(Delivery::stats).toList();
    }

    /** Runs action for each delivery at once (each may wait its bounded time) and returns when all are done. */
    private static void inParallel(List<Delivery> which, java.util.function.Consumer<Delivery> action) {
        List<Thread> threads = new ArrayList<>();
        for (Delivery d : which) {
            Thread t = new Thread(() -> action.accept(d), "memsentry-sink-close");
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
