package dev.memsentry.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.detect.EcsDocument;
import dev.memsentry.output.Json;
import dev.memsentry.testing.KafkaBroker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kafka sink against a real single-node KRaft broker (started once for the class) and a real
 * consumer: keys and values as documented, per-process order, and at-least-once delivery across a
 * broker restart.
 */
class KafkaSinkTest {
    @TempDir
    static Path brokerDir;
    static KafkaBroker broker;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startBroker() throws Exception {
        broker = KafkaBroker.start(brokerDir);
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (broker != null) {
            broker.close();
        }
    }

    private SinkSet open(String topic, Path spool) throws SinkException {
        return SinkSet.open(new SinkSet.Settings(List.of("kafka://" + broker.bootstrap() + "/" + topic), spool,
            SinkSet.Settings.DEFAULT_SPOOL_MAX, Duration.ofSeconds(30), Map.of("linger.ms", "2")));
    }

    @Test
    void recordsAreKeyedByHostAndPidAndValuedByTheEcsDocumentInOrder() throws Exception {
        Map<String, JsonNode> sent = new HashMap<>();
        try (SinkSet sinks = open("alerts-keys", null)) {
            for (long pid : new long[] {11, 22, 33}) {
                for (EcsDocument d : TestDocs.alerts(0, 10, pid)) {
                    sinks.write(d);
                    sent.put(d.id(), Json.mapper().readTree(d.json()));
                }
            }
            TestDocs.finish(sinks);
            assertEquals(30, sinks.stats().get(0).delivered(), sinks.stats().get(0).text());
        }
        List<ConsumerRecord<String, String>> got = broker.consume("alerts-keys", 30, Duration.ofSeconds(30));
        assertEquals(30, got.size());
        Map<String, Integer> lastPerKey = new HashMap<>();
        for (ConsumerRecord<String, String> r : got) {
            JsonNode value = Json.mapper().readTree(r.value());
            JsonNode doc = sent.get(value.at("/event/id").asText());
            assertEquals(doc, value, "the value is the ECS document");
            assertEquals("test-host:" + doc.at("/process/pid").asLong(), r.key(), "key: host name and pid");
            int n = Integer.parseInt(value.at("/message").asText().substring("alert ".length()));
            Integer last = lastPerKey.put(r.key(), n);
            assertTrue(last == null || last < n, "one process's alerts in order: " + last + " then " + n);
        }
    }

    @Test
    void brokerStoppedAndRestartedWhileAlertsAreWrittenLosesNothing() throws Exception {
        Path spool = tmp.resolve("spool");
        Files.createDirectories(spool);
        Set<String> ids = new LinkedHashSet<>();
        SinkStats stats;
        try (SinkSet sinks = open("alerts-outage", spool)) {
            TestDocs.write(sinks, TestDocs.alerts(0, 20, 7), ids);
            sinks.drain();
            broker.stop();
            TestDocs.write(sinks, TestDocs.alerts(20, 20, 7), ids);
            Thread.sleep(KafkaSink.DELIVERY_TIMEOUT.toMillis() + 2000); // the sends time out: to the spool
            TestDocs.write(sinks, TestDocs.alerts(40, 20, 7), ids);
            broker.restart();
            TestDocs.write(sinks, TestDocs.alerts(60, 20, 7), ids);
            TestDocs.finish(sinks);
            stats = sinks.stats().get(0);
        }
        TestDocs.assertSpooledThenEmpty(stats, spool);
        List<String> values = new ArrayList<>();
        broker.consume("alerts-outage", ids.size(), Duration.ofSeconds(30)).forEach(r -> values.add(r.value()));
        TestDocs.assertAtLeastOnce(ids, values);
    }
}
