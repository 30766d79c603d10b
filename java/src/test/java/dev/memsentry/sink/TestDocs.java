package dev.memsentry.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.detect.EcsDocument;
import dev.memsentry.detect.Alert;
import dev.memsentry.detect.AlertRegion;
import dev.memsentry.detect.BuiltinRules;
import dev.memsentry.detect.EcsWriter;
import dev.memsentry.detect.ProcessRef;
import dev.memsentry.detect.Severity;
import dev.memsentry.output.Json;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** ECS documents as memsentry writes them (through EcsWriter), and an RFC 5424 parser for what rsyslog received. */
final class TestDocs {
    static final Severity[] SEVERITIES = {Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL};
    /** RFC 5424 section 6: HEADER SP STRUCTURED-DATA [SP MSG]. */
    static final Pattern RFC5424 = Pattern.compile(
        "<(\\d{1,3})>1 (\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d{1,6})?(?:Z|[+-]\\d\\d:\\d\\d)) (\\S{1,255}) "
            + "(\\S{1,48}) (\\S{1,128}) (\\S{1,32}) (-|\\[.*?\\]) (.*)");

    private TestDocs() {
    }

    /** n alerts about pid, severities in turn, messages numbered from first. */
    static List<EcsDocument> alerts(int first, int n, long pid) {
        EcsWriter ecs = new EcsWriter("test-host");
        List<EcsDocument> out = new ArrayList<>();
        for (int i = first; i < first + n; i++) {
            Severity s = SEVERITIES[i % SEVERITIES.length];
            Alert a = new Alert(Instant.now(), BuiltinRules.RWX, s, new ProcessRef(pid, "victim", "/bin/victim",
                List.of("/bin/victim", "--n", Integer.toString(i)), null),
                new AlertRegion(0x1000L * (i + 1), 0x1000L * (i + 2), "rwxp", "", "anonymous"), "alert " + i,
                new dev.memsentry.output.JsonFields(), null);
            out.add(ecs.alert(a));
        }
        return out;
    }

    /** Writes docs to sinks, remembering their event.ids. */
    static void write(SinkSet sinks, List<EcsDocument> docs, java.util.Set<String> ids) {
        for (EcsDocument d : docs) {
            sinks.write(d);
            ids.add(d.id());
        }
    }

    /**
     * At least once: every id sent arrived, nothing else did, and a duplicate is the same document
     * (same event.id). received: the JSON documents as they arrived.
     */
    static void assertAtLeastOnce(java.util.Set<String> sent, List<String> received) throws Exception {
        java.util.Map<String, String> byId = new java.util.HashMap<>();
        for (String json : received) {
            JsonNode doc = Json.mapper().readTree(json);
            String previous = byId.put(doc.at("/event/id").asText(), doc.toString());
            if (previous != null) {
                assertEquals(previous, doc.toString(), "a duplicate is the same document, same event.id");
            }
        }
        java.util.Set<String> missing = new java.util.LinkedHashSet<>(sent);
        missing.removeAll(byId.keySet());
        assertTrue(missing.isEmpty(), "every alert arrived; missing " + missing.size() + " of " + sent.size());
        assertTrue(sent.containsAll(byId.keySet()), "nothing that was not sent");
    }

    /** The outage went through the spool, and it is empty now: no segment file left. */
    static void assertSpooledThenEmpty(SinkStats stats, java.nio.file.Path spool) throws java.io.IOException {
        assertTrue(stats.spooled() > 0, "the outage went through the spool: " + stats.text());
        assertEquals(0, stats.pending(), stats.text());
        assertEquals(0, stats.dropped(), stats.text());
        try (java.util.stream.Stream<java.nio.file.Path> left = java.nio.file.Files.walk(spool)) {
            assertTrue(left.noneMatch(p -> p.toString().endsWith(".jsonl")), "spool empty afterwards");
        }
    }

    /** Closes the sinks (the bounded wait) and returns their final numbers. */
    static List<SinkStats> finish(SinkSet sinks) {
        sinks.close();
        return sinks.stats();
    }

    record Syslog(int pri, String timestamp, String host, String app, String procId, String msgId, JsonNode msg) {
    }

    /** One record as rsyslog's %rawmsg% gives it: must parse as RFC 5424 with JSON as MSG. */
    static Syslog parse(String line) throws Exception {
        Matcher m = RFC5424.matcher(line);
        assertTrue(m.matches(), "not RFC 5424: " + line);
        return new Syslog(Integer.parseInt(m.group(1)), m.group(2), m.group(3), m.group(4), m.group(5), m.group(6),
            Json.mapper().readTree(m.group(8)));
    }

    /** PRI = facility authpriv (10) * 8 + the severity of section 6.2.1 the README documents. */
    static void assertPri(Syslog s) {
        int severity = switch (s.msg().at("/memsentry/severity").asText()) {
            case "critical" -> 2;
            case "high" -> 3;
            case "medium" -> 4;
            case "low" -> 5;
            default -> 6;
        };
        assertEquals(10 * 8 + severity, s.pri(), "PRI of " + s);
    }
}
