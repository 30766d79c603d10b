package dev.memsentry.sink;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.detect.EcsDocument;
import dev.memsentry.output.Json;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.SplittableRandom;
import java.util.UUID;

/**
 * One ECS document on its way to the sinks: its JSON text (one line, with event.id set), and
 * what the transports derive from it once: the key, the syslog severity and MSGID.
 *
 * @param id       event.id, a random UUID given when the document was first written, kept
 *                 through retries and spool replays so that consumers can drop duplicates
 * @param key      Kafka record key: host name and the pid the document is about ("web-1:4242"),
 *                 the host name alone for documents about no process
 * @param severity syslog severity (RFC 5424 section 6.2.1): critical 2, high 3, medium 4, low 5,
 *                 events 6
 * @param msgid    event.action, or the rule id for an alert
 */
public record SinkRecord(String id, String json, String key, int severity, String msgid, String hostname,
                         String timestamp) {

    /** Gives doc an event.id (a random UUID) if it has none; the caller's document is changed. */
    public static void identify(EcsDocument doc) {
        if (!doc.identified()) {
            doc.identify(randomId());
        }
    }

    /**
     * A random (version 4) UUID from a generator seeded once by the system's SecureRandom: event ids
     * only need to be unique, and UUID.randomUUID's SecureRandom per id (a SHA-1 round and a read
     * of /dev/urandom) was a large share of a trace's cost per alert.
     */
    static UUID randomId() {
        SplittableRandom r = IDS.get();
        long msb = r.nextLong() & ~0xf000L | 0x4000L; // version 4
        long lsb = r.nextLong() & 0x3fffffffffffffffL | 0x8000000000000000L; // IETF variant
        return new UUID(msb, lsb);
    }

    private static final SplittableRandom SEED = new SplittableRandom(seed());
    private static final ThreadLocal<SplittableRandom> IDS = ThreadLocal.withInitial(() -> {
        synchronized (SEED) {
            return SEED.split();
        }
    });

    /**
     * 64 bits from the kernel's random source. SecureRandom gives the same bits, but its first use
     * loads the security providers: 30 to 50 ms of every run that writes a document.
     */
    private static long seed() {
        try (InputStream in = new FileInputStream("/dev/urandom")) {
            byte[] b = in.readNBytes(Long.BYTES);
            if (b.length == Long.BYTES) {
                return ByteBuffer.wrap(b).getLong();
            }
        } catch (IOException e) {
            // no /dev/urandom here
        }
        return new SecureRandom().nextLong();
    }

    /** The record of doc, given an event.id if it has none. */
    public static SinkRecord of(EcsDocument doc) {
        identify(doc);
        String host = doc.hostname();
        String key = doc.pid() >= 0 ? host + ":" + doc.pid() : host;
        return new SinkRecord(doc.id(), doc.json(), key, severity(doc.isAlert(), doc.severity()),
            doc.isAlert() ? doc.ruleId() : doc.action() != null ? doc.action() : "event", host, doc.timestamp());
    }

    /** A line read back from the spool; null if it is not a document with an event.id (a torn write). */
    static SinkRecord parse(String line) {
        try {
            JsonNode doc = Json.mapper().readTree(line);
            if (doc == null || !doc.path("event").path("id").isTextual()) {
                return null;
            }
            return from(doc, line);
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    private static SinkRecord from(JsonNode doc, String json) {
        JsonNode event = doc.path("event");
        String host = doc.path("host").path("hostname").asText("");
        JsonNode pid = doc.path("process").path("pid");
        String key = pid.isIntegralNumber() ? host + ":" + pid.asLong() : host;
        boolean alert = "alert".equals(event.path("kind").asText());
        String msgid = event.path("action").isTextual() ? event.get("action").asText()
            : alert ? doc.path("rule").path("id").asText("alert") : "event";
        return new SinkRecord(event.get("id").asText(), json, key,
            severity(alert, doc.path("memsentry").path("severity").asText()), msgid, host,
            doc.path("@timestamp").asText(""));
    }

    /** The syslog severity of an alert of memsentry severity wireName, or of an event. */
    private static int severity(boolean alert, String wireName) {
        if (!alert) {
            return 6;
        }
        return switch (wireName) {
            case "critical" -> 2;
            case "high" -> 3;
            case "medium" -> 4;
            default -> 5;
        };
    }
}
