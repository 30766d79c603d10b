package dev.memsentry.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Sink URIs: what parses, and the one line for what does not. */
class SinkUriTest {
    @Test
    void parsesEveryScheme() {
        SinkUri k = SinkUri.parse("kafka://a.example:9092,[::1]:9093/memsentry.alerts");
        assertEquals(SinkUri.Scheme.KAFKA, k.scheme());
        assertEquals(List.of(new SinkUri.HostPort("a.example", 9092), new SinkUri.HostPort("::1", 9093)), k.hosts());
        assertEquals("memsentry.alerts", k.target());
        SinkUri t = SinkUri.parse("syslog+tls://relay:6514?ca=/etc/ca.pem&facility=local3");
        assertEquals(SinkUri.Scheme.SYSLOG_TLS, t.scheme());
        assertEquals("/etc/ca.pem", t.param("ca"));
        assertEquals("/var/log/a.json", SinkUri.parse("file:///var/log/a.json").target());
        assertEquals("rel/a.json", SinkUri.parse("file:rel/a.json?max_size=1M&keep=2").target());
        assertEquals(SinkUri.Scheme.SYSLOG_UDP, SinkUri.parse("syslog+udp://127.0.0.1:514").scheme());
    }

    @Test
    void refusesWithOneLineNamingTheProblem() {
        String[][] bad = {
            {"http://x:1", "unknown scheme 'http'"},
            {"syslog+tcp://relay", "'relay' is not HOST:PORT"},
            {"syslog+tcp://relay:70000", "port 70000"},
            {"kafka://k:9092", "no topic"},
            {"kafka://k:9092/bad topic", "spaces"},
            {"syslog+tcp://a:1?ca=/x", "unknown setting 'ca'"},
            {"syslog+tcp://a:1,b:2", "one HOST:PORT"},
            {"file:", "no path"},
            {"relay:514", "unknown scheme"},
            {"", "empty"},
        };
        for (String[] b : bad) {
            SinkUriException e = assertThrows(SinkUriException.class, () -> SinkUri.parse(b[0]), b[0]);
            assertTrue(e.getMessage().contains(b[1]), b[0] + " -> " + e.getMessage());
            assertTrue(!e.getMessage().contains("\n"));
        }
    }

    @Test
    void rfc5424HeaderFieldsAreBoundedPrintableAscii() {
        assertEquals("-", Rfc5424.field("", 32));
        assertEquals("a_b", Rfc5424.field("a b", 32));
        assertEquals(32, Rfc5424.field("x".repeat(40), 32).length());
        assertEquals("2026-12-05T23:10:36.123456Z", Rfc5424.timestamp("2026-12-05T23:10:36.123456789Z"));
        assertEquals("-", Rfc5424.timestamp("yesterday"));
    }
}
