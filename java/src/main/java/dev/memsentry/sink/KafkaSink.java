package dev.memsentry.sink;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * kafka://HOST:PORT[,HOST:PORT...]/TOPIC through the official client: an idempotent producer
 * (enable.idempotence, acks=all), so the library's own retries never duplicate or reorder; the
 * key is host name and pid, so one process's documents stay in one partition, in order. A batch
 * is delivered when every record is acknowledged by the in-sync replicas. The producer settings
 * of the configuration (output.kafka) are passed through; the two above cannot be overridden.
 * This class and {@link KafkaPreload} are the only ones that name kafka-clients: they are loaded
 * only for a kafka sink.
 */
final class KafkaSink implements Sink {
    /** How long a send may wait for a broker before the batch goes to the spool. */
    static final Duration DELIVERY_TIMEOUT = Duration.ofSeconds(8);

    private final SinkUri uri;
    private final Properties props = new Properties();
    private volatile KafkaProducer<byte[], byte[]> producer;

    KafkaSink(SinkUri uri, Map<String, String> settings) {
        this.uri = uri;
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            uri.hosts().stream().map(SinkUri.HostPort::toString).collect(Collectors.joining(",")));
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "memsentry-" + ProcessHandle.current().pid());
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        // Alerts are ~1-2 KB: the default 16 KB batches make a 500-record delivery ~40 requests.
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(256 << 10));
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "5000");
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Long.toString(DELIVERY_TIMEOUT.toMillis()));
        props.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "1000");
        // Less start-up for a one-shot scan: no metrics pushed to the broker (KIP-714: a request
        // and its classes) and no JMX reporter for the client's metrics. Both can be set back.
        props.put(ProducerConfig.ENABLE_METRICS_PUSH_CONFIG, "false");
        props.put(ProducerConfig.METRIC_REPORTER_CLASSES_CONFIG, "");
        props.putAll(settings);
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        // Unknown settings are found now, as usage errors, not at the first alert (this loads the
        // client's configuration classes: only when there are settings to check).
        if (!settings.isEmpty()) {
            KafkaPreload.awaitConfig();
        }
        for (String k : settings.keySet()) {
            if (!ProducerConfig.configNames().contains(k)) {
                throw new SinkUriException("output.kafka: '" + k + "' is not a Kafka producer setting");
            }
        }
    }

    private KafkaProducer<byte[], byte[]> producer() throws SinkException {
        if (producer == null) {
            KafkaPreload.await();
            try {
                producer = new KafkaProducer<>(props);
            } catch (KafkaException e) {
                throw new SinkException("kafka producer for " + uri + ": " + rootMessage(e), false, e);
            }
        }
        return producer;
    }

    /**
     * At the start of a run: a TCP connection to one of the bootstrap brokers (DNS, refused, timed
     * out). Creating the producer, loading the client's classes and fetching metadata happen on
     * the delivery thread, alongside the scan.
     */
    @Override
    public void reach() throws SinkException {
        SinkException last = null;
        for (SinkUri.HostPort hp : uri.hosts()) {
            try {
                Network.connect(hp).close();
                return;
            } catch (SinkException e) {
                last = e;
            } catch (java.io.IOException closing) {
                return; // it connected
            }
        }
        throw new SinkException("kafka: " + last.getMessage(), true, last);
    }

    /** The producer and the topic's metadata now, so that the first alert does not wait for them. */
    @Override
    public void warmUp() {
        try {
            producer().partitionsFor(uri.target());
        } catch (SinkException | KafkaException e) {
            reset(); // the first delivery tries again and reports
        }
    }

    /** doctor: reachable, then the topic's metadata through the client (authorization, unknown topic). */
    @Override
    public void probe() throws SinkException {
        reach();
        try {
            producer().partitionsFor(uri.target());
        } catch (KafkaException e) {
            throw failure(e);
        }
    }

    @Override
    public void deliver(List<SinkRecord> batch) throws SinkException {
        KafkaProducer<byte[], byte[]> p = producer();
        List<Future<RecordMetadata>> acks = new ArrayList<>(batch.size());
        try {
            for (SinkRecord r : batch) {
                acks.add(p.send(new ProducerRecord<>(uri.target(), r.key().getBytes(StandardCharsets.UTF_8),
                    r.json().getBytes(StandardCharsets.UTF_8))));
            }
            p.flush();
            for (Future<RecordMetadata> f : acks) {
                f.get();
            }
        } catch (ExecutionException e) {
            throw failure(e.getCause());
        } catch (KafkaException e) {
            throw failure(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            reset();
            throw new SinkException("interrupted", true, e);
        }
    }

    /**
     * A failed send leaves the producer's sequence numbers in doubt: start a new producer (a new
     * producer id) for the retry from the spool, as the client's documentation advises.
     */
    private SinkException failure(Throwable e) {
        reset();
        String where = uri.hosts().stream().map(SinkUri.HostPort::toString).collect(Collectors.joining(","));
        if (e instanceof AuthenticationException) {
            // SASL (wrong user or password, mechanism not enabled) or the TLS handshake
            return new SinkException("kafka " + where + ": authentication failed: " + firstLine(e), false, e);
        }
        if (e instanceof AuthorizationException) {
            return new SinkException("kafka " + where + ": not authorized: " + firstLine(e), false, e);
        }
        if (e instanceof UnknownTopicOrPartitionException || e instanceof InvalidTopicException) {
            return new SinkException("kafka " + where + ": unknown topic '" + uri.target() + "'", false, e);
        }
        if (e instanceof RecordTooLargeException) {
            return new SinkException("kafka " + where + ": " + e.getMessage(), false, e);
        }
        if (e instanceof TimeoutException) {
            String m = String.valueOf(e.getMessage());
            if (m.contains("not present in metadata")) {
                return new SinkException("kafka " + where + ": topic '" + uri.target() + "' unknown, or no broker "
                    + "answered within " + props.get(ProducerConfig.MAX_BLOCK_MS_CONFIG) + " ms", true, e);
            }
            return new SinkException("kafka " + where + ": no acknowledgement within the delivery timeout", true, e);
        }
        return new SinkException("kafka " + where + ": " + rootMessage(e), true, e);
    }

    private static String firstLine(Throwable e) {
        return String.valueOf(e.getMessage()).lines().findFirst().orElse("").strip();
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return String.valueOf(t.getMessage());
    }

    private void reset() {
        KafkaProducer<byte[], byte[]> p = producer;
        producer = null;
        if (p != null) {
            p.close(Duration.ZERO);
        }
    }

    @Override
    public void abort() {
        reset();
    }

    /**
     * No wait: every record deliver returned for is acknowledged already, and one it threw for is
     * back in the spool, so there is nothing for a graceful close to send.
     */
    @Override
    public void close() {
        reset();
    }
}
