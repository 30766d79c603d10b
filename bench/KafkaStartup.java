import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.apache.kafka.common.requests.ApiVersionsRequest;
import org.apache.kafka.common.requests.ApiVersionsResponse;

/**
 * sink_bench.sh part 4: a Kafka producer's start-up in a fresh JVM, one step after the other on
 * one thread, with memsentry's producer settings: what KafkaPreload loads (in its order), then
 * the producer, its metadata and producer id, two acknowledged sends and the close. Prints one
 * line: the wall milliseconds of each step. Usage: KafkaStartup HOST:PORT TOPIC
 */
public final class KafkaStartup {
    private static final List<String> STEPS = new ArrayList<>();
    private static long t = System.nanoTime();

    private static void lap(String step) {
        long now = System.nanoTime();
        STEPS.add(String.format("%s=%.1f", step, (now - t) / 1e6));
        t = System.nanoTime();
    }

    public static void main(String[] args) throws Exception {
        t = System.nanoTime();
        ProducerConfigHolder.touch();
        lap("config");
        ApiKeys.values();
        lap("api_keys");
        Errors.values();
        lap("errors");
        new ApiVersionsRequest.Builder().build();
        new ApiVersionsResponse(new ApiVersionsResponseData());
        MemoryRecords.withRecords(Compression.NONE, new SimpleRecord(new byte[1], new byte[1]));
        lap("requests_records");
        ManagementFactory.getPlatformMBeanServer();
        lap("mbean_server");
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        p.put("enable.idempotence", "true");
        p.put("acks", "all");
        p.put("linger.ms", "5");
        p.put("batch.size", "262144");
        p.put("enable.metrics.push", "false");
        p.put("metric.reporters", "");
        p.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        p.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p);
        lap("new_producer");
        producer.partitionsFor(args[1]);
        lap("metadata_and_producer_id");
        byte[] doc = new byte[1200];
        producer.send(new ProducerRecord<>(args[1], "host:1".getBytes(), doc)).get();
        lap("first_send_acked");
        producer.send(new ProducerRecord<>(args[1], "host:1".getBytes(), doc)).get();
        lap("second_send_acked");
        producer.close(Duration.ZERO);
        lap("close");
        System.out.println(String.join(" ", STEPS));
    }

    private static final class ProducerConfigHolder {
        static void touch() {
            org.apache.kafka.clients.producer.ProducerConfig.configNames();
        }
    }
}
