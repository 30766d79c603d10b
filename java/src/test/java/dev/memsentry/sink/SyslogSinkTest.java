package dev.memsentry.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.detect.EcsDocument;
import dev.memsentry.output.Json;
import dev.memsentry.testing.Rsyslog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The syslog sinks against a real rsyslogd (TCP and TLS inputs on loopback) started here: RFC 5424
 * records with octet counting, TLS trust, and at-least-once delivery across an rsyslog restart.
 */
class SyslogSinkTest {
    @TempDir
    static Path serverDir;
    static Rsyslog rsyslog;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startRsyslog() throws Exception {
        rsyslog = Rsyslog.start(serverDir);
    }

    @AfterAll
    static void stopRsyslog() throws Exception {
        if (rsyslog != null) {
            rsyslog.close();
        }
    }

    private int before;

    @BeforeEach
    void mark() throws Exception {
        before = rsyslog.received().size();
    }

    private List<String> receivedSince(int n, long timeoutMs) throws Exception {
        List<String> all = rsyslog.awaitReceived(before + n, timeoutMs);
        return all.subList(before, all.size());
    }

    private SinkSet open(String uri, Path spool) throws SinkException {
        return SinkSet.open(new SinkSet.Settings(List.of(uri), spool, SinkSet.Settings.DEFAULT_SPOOL_MAX,
            Duration.ofSeconds(20), Map.of()));
    }

    @Test
    void tcpAndTlsDeliverRfc5424RecordsWhoseMessageIsTheEcsDocument() throws Exception {
        String tcp = "syslog+tcp://127.0.0.1:" + rsyslog.tcpPort();
        String tls = "syslog+tls://127.0.0.1:" + rsyslog.tlsPort() + "?ca=" + rsyslog.ca();
        List<EcsDocument> docs = TestDocs.alerts(0, 20, 4242);
        Map<String, String> sent = new HashMap<>();
        try (SinkSet sinks = SinkSet.open(new SinkSet.Settings(List.of(tcp, tls), null, 1 << 20, Duration.ofSeconds(20),
            Map.of()))) {
            for (EcsDocument d : docs) {
                sinks.write(d);
                sent.put(d.id(), d.json());
            }
            TestDocs.finish(sinks);
            for (SinkStats s : sinks.stats()) {
                assertEquals(20, s.delivered(), s.text());
                assertEquals(0, s.dropped(), s.text());
            }
        }
        List<String> got = receivedSince(40, 10_000);
        assertEquals(40, got.size(), String.join("\n", got));
        Map<String, Integer> copies = new HashMap<>();
        for (String line : got) {
            TestDocs.Syslog s = TestDocs.parse(line);
            TestDocs.assertPri(s);
            assertEquals("memsentry", s.app());
            assertEquals("test-host", s.host());
            assertEquals(Long.toString(ProcessHandle.current().pid()), s.procId());
            assertEquals("memory.rwx", s.msgId(), "MSGID: the rule id of an alert");
            String id = s.msg().at("/event/id").asText();
            assertEquals(Json.mapper().readTree(sent.get(id)), s.msg(), "MSG is the ECS document");
            copies.merge(id, 1, Integer::sum);
        }
        assertEquals(sent.keySet(), copies.keySet());
        copies.values().forEach(c -> assertEquals(2, c, "once over TCP, once over TLS"));
    }

    @Test
    void rsyslogStoppedAndRestartedWhileAlertsAreWrittenLosesNothing() throws Exception {
        Path spool = tmp.resolve("spool");
        Files.createDirectories(spool);
        String uri = "syslog+tcp://127.0.0.1:" + rsyslog.tcpPort();
        Set<String> ids = new LinkedHashSet<>();
        SinkStats stats;
        try (SinkSet sinks = open(uri, spool)) {
            TestDocs.write(sinks, TestDocs.alerts(0, 30, 100), ids);
            sinks.drain();
            rsyslog.stop();
            TestDocs.write(sinks, TestDocs.alerts(30, 30, 100), ids);
            Thread.sleep(1500); // the delivery thread finds rsyslog gone and spools
            TestDocs.write(sinks, TestDocs.alerts(60, 30, 100), ids);
            rsyslog.restart();
            TestDocs.write(sinks, TestDocs.alerts(90, 30, 100), ids);
            TestDocs.finish(sinks);
            stats = sinks.stats().get(0);
        }
        TestDocs.assertSpooledThenEmpty(stats, spool);
        List<String> got = receivedSince(ids.size(), 15_000);
        List<String> msgs = new ArrayList<>();
        for (String line : got) {
            msgs.add(TestDocs.parse(line).msg().toString());
        }
        TestDocs.assertAtLeastOnce(ids, msgs);
    }

    @Test
    void tlsWithTheWrongCaFailsWithOneClearLine() {
        String uri = "syslog+tls://127.0.0.1:" + rsyslog.tlsPort() + "?ca=" + rsyslog.otherCa();
        SinkException e = assertThrows(SinkException.class, () -> open(uri, tmp));
        assertFalse(e.isTransient());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().contains("is not signed by the CA " + rsyslog.otherCa()), e.getMessage());
    }

    @Test
    void aServerThatRequiresAClientCertificateTakesRecordsWithOneAndSaysWhyNotWithout() throws Exception {
        String base = "syslog+tls://127.0.0.1:" + rsyslog.mtlsPort() + "?ca=" + rsyslog.ca();
        List<EcsDocument> docs = TestDocs.alerts(0, 10, 4343);
        Set<String> ids = new LinkedHashSet<>();
        try (SinkSet sinks = open(base + "&cert=" + rsyslog.clientCert() + "&key=" + rsyslog.clientKey(), null)) {
            TestDocs.write(sinks, docs, ids);
            TestDocs.finish(sinks);
            assertEquals(10, sinks.stats().get(0).delivered(), sinks.stats().get(0).text());
        }
        List<String> msgs = new ArrayList<>();
        for (String line : receivedSince(10, 10_000)) {
            msgs.add(TestDocs.parse(line).msg().toString());
        }
        TestDocs.assertAtLeastOnce(ids, msgs);

        try (SyslogSink none = new SyslogSink(SinkUri.parse(base))) {
            SinkException e = assertThrows(SinkException.class, none::probe);
            assertFalse(e.isTransient());
            assertEquals("TLS: 127.0.0.1:" + rsyslog.mtlsPort() + " closed the connection after the handshake: it wants "
                + "a client certificate (cert=FILE&key=FILE)", e.getMessage());
        }
        try (SyslogSink untrusted = new SyslogSink(SinkUri.parse(base + "&cert=" + rsyslog.untrustedClientCert()
            + "&key=" + rsyslog.clientKey()))) {
            SinkException e = assertThrows(SinkException.class, untrusted::probe);
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertTrue(e.getMessage().contains("did not accept the client certificate " + rsyslog.untrustedClientCert())
                || e.getMessage().startsWith("TLS handshake with 127.0.0.1:" + rsyslog.mtlsPort() + " failed"), e.getMessage());
        }
        assertEquals(before + 10, rsyslog.received().size(), "nothing arrived without a trusted client certificate");
    }

    @Test
    void anUnreachableSinkWithoutSpoolIsRefusedAtStart() throws Exception {
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        SinkException e = assertThrows(SinkException.class, () -> open("syslog+tcp://127.0.0.1:" + closed, null));
        assertTrue(e.getMessage().contains("refused") && e.getMessage().contains("no spool"), e.getMessage());
        List<String> lines = new ArrayList<>(List.of(e.getMessage().split("\n")));
        assertEquals(1, lines.size());
    }
}
