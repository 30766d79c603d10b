package dev.memsentry.sink;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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
 * the client's static initializers at once (a cycle between two of them would deadlock); checking
 * setting names needs only the configuration definitions, the preload's first step
 * ({@link #awaitConfig()}), so the main thread does not wait for the rest.
 */
public final class KafkaPreload {
    /** How long a producer waits for a preload (which only loads classes) before going on anyway. */
    private static final long AWAIT_MS = 10_000;
    private static Thread thread;
    /** Counted down once the configuration definitions are initialized (the preload's first step). */
    private static final CountDownLatch CONFIG_READY = new CountDownLatch(1);

    private KafkaPreload() {
    }

    /**
     * A hint from the raw command line, before it is parsed: starts the preload if it names a
     * kafka:// sink (--sink URI or --sink=URI); once per process. Costs nothing otherwise (this
     * class names the client's classes but loads none of them until the preload runs).
     */
    public static synchronized void startFor(String[] args) {
        if (thread != null) {
            return;
        }
        if (namesKafka(List.of(args))) {
            thread = new Thread(KafkaPreload::load, "memsentry-kafka-preload");
            thread.setDaemon(true);
            thread.start();
        }
    }

    /** Whether a raw command line has a --sink kafka://... (or --sink=kafka://...) option. */
    static boolean namesKafka(List<String> args) {
        String kafka = "kafka://"; // SinkUri.Scheme.KAFKA, without loading the sink classes for every command
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--")) {
                return false; // what follows is a traced command's own arguments
            }
            if (a.startsWith("--sink=" + kafka) || (a.equals("--sink") && i + 1 < args.size()
                && args.get(i + 1).startsWith(kafka))) {
                return true;
            }
        }
        return false;
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

    /**
     * Returns once a started preload has initialized the producer's configuration definitions (its
     * first step, tens of milliseconds): enough for checking setting names on the main thread
     * without waiting for the rest.
     */
    static void awaitConfig() {
        synchronized (KafkaPreload.class) {
            if (thread == null) {
                return;
            }
        }
        try {
            CONFIG_READY.await(AWAIT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void load() {
        try {
            Classes.load();
        } catch (RuntimeException | LinkageError e) {
            // Only a head start: the producer loads what it needs itself and reports what fails.
        } finally {
            CONFIG_READY.countDown();
        }
    }

    /**
     * Apart, so that verifying {@link KafkaPreload} (on the main thread, for every command) loads
     * none of the client's classes.
     */
    private static final class Classes {
        static void load() {
            ProducerConfig.configNames();
            CONFIG_READY.countDown();
            ApiKeys.values();
            Errors.values();
            // The request and response base classes name every request and response type.
            new ApiVersionsRequest.Builder().build();
            new ApiVersionsResponse(new ApiVersionsResponseData());
            MemoryRecords.withRecords(Compression.NONE, new SimpleRecord(new byte[1], new byte[1]));
            ManagementFactory.getPlatformMBeanServer();
        }
    }
}
