package dev.memsentry.sink;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Which raw command lines start the Kafka client's preload (a hint: the sinks are opened as usual later). */
class KafkaPreloadTest {
    @Test
    void aKafkaSinkOnTheCommandLineStartsItAndNothingElseDoes() {
        assertTrue(KafkaPreload.namesKafka(List.of("scan", "--all", "--sink", "kafka://127.0.0.1:9092/t")));
        assertTrue(KafkaPreload.namesKafka(List.of("-v", "trace", "--sink=kafka://a:1,b:2/t", "--", "/bin/true")));
        assertTrue(KafkaPreload.namesKafka(List.of("scan", "--sink", "file:/x", "--sink", "kafka://h:1/t")));
        assertFalse(KafkaPreload.namesKafka(List.of("scan", "--all", "--sink", "file:/tmp/kafka://x")));
        assertFalse(KafkaPreload.namesKafka(List.of("scan", "--out", "kafka://h:1/t")), "not a sink option");
        assertFalse(KafkaPreload.namesKafka(List.of("scan", "--all", "--sink")), "a missing value");
        assertFalse(KafkaPreload.namesKafka(List.of("trace", "--", "prog", "--sink", "kafka://h:1/t")),
            "the traced program's own arguments");
        assertFalse(KafkaPreload.namesKafka(List.of()));
    }
}
