package dev.memsentry.sink;

import java.lang.management.ManagementFactory;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.apache.kafka.common.requests.ApiVersionsRequest;
import org.apache.kafka.common.requests.ApiVersionsResponse;

/**
 * Loads and initializes, on a thread of its own, the kafka-clients classes a producer's start-up
 * needs, while the command line, the configuration and the native library are read on the main
 * thread. Measured on a one-shot scan (docs/BENCHMARKS.md): the client's start-up is CPU, not
 * waiting on the broker: about 1,350 classes loaded and initialized (the configuration definitions,
 * every request and response schema behind {@link ApiKeys}, every error's exception behind
 * {@link Errors}, the request and response classes, the record batch format) and the platform MBean
 * server the producer registers itself in. Done here, that work uses the core the single-threaded
 * start-up leaves idle instead of competing with the scan's workers. Nothing is connected or
 * produced: the objects made here are thrown away, only the classes stay.
 * {@link #await()} runs before any other thread touches the client, so that two threads never run
 * the client's static initializers at once (a cycle between two of them would deadlock).
 */
final class KafkaPreload {
    /** How long a producer waits for a preload (which only loads classes) before going on anyway. */
    private static final long AWAIT_MS = 10_000;
    private static Thread thread;

    private KafkaPreload() {
    }

    /** Starts the preload if args name a kafka:// sink (--sink URI or --sink=URI); once per process. */
    static synchronized void startFor(List<String> args) {
        if (thread != null) {
            return;
        }
        boolean kafka = false;
        for (int i = 0; i < args.size() && !kafka; i++) {
            String a = args.get(i);
            kafka = a.startsWith("--sink=" + SinkUri.Scheme.KAFKA.wireName() + "://")
                || (a.equals("--sink") && i + 1 < args.size()
                    && args.get(i + 1).startsWith(SinkUri.Scheme.KAFKA.wireName() + "://"));
        }
        if (kafka) {
            thread = new Thread(KafkaPreload::load, "memsentry-kafka-preload");
            thread.setDaemon(true);
            thread.start();
        }
    }

    /** Returns once a started preload is over (at once if none was started). */
    static void await() {
        Thread t;
        synchronized (KafkaPreload.class) {
            t = thread;
        }
        if (t == null) {
            return;
        }
        try {
            t.join(AWAIT_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void load() {
        try {
            ProducerConfig.configNames();
            ApiKeys.values();
            Errors.values();
            // The request and response base classes name every request and response type.
            new ApiVersionsRequest.Builder().build();
            new ApiVersionsResponse(new ApiVersionsResponseData());
            MemoryRecords.withRecords(Compression.NONE, new SimpleRecord(new byte[1], new byte[1]));
            ManagementFactory.getPlatformMBeanServer();
        } catch (RuntimeException | LinkageError e) {
            // Only a head start: the producer loads what it needs itself and reports what fails.
        }
    }
}
