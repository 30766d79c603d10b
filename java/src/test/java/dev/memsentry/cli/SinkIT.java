package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.KafkaBroker;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Rsyslog;
import dev.memsentry.testing.Victim;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scan --sink end to end: the built jar, the known victims, a real rsyslogd and a real Kafka
 * broker started here on loopback; bad sink input; a scan that ends while its sink is down.
 */
class SinkIT {
    private static final Pattern RFC5424 = Pattern.compile("<(\\d{1,3})>1 \\S+ \\S+ memsentry \\d+ (\\S{1,32}) - (.*)");
    @TempDir
    static Path servers;
    static Rsyslog rsyslog;
    static KafkaBroker broker;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        NativeSupport.requireNative();
        Files.createDirectories(servers.resolve("rsyslog"));
        Files.createDirectories(servers.resolve("kafka"));
        rsyslog = Rsyslog.start(servers.resolve("rsyslog"));
        broker = KafkaBroker.start(servers.resolve("kafka"), Map.of("memsentry", "right-password"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (rsyslog != null) {
            rsyslog.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    private static int closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** event.id -> document, for the lines that are ECS documents. */
    private static Map<String, JsonNode> byId(List<String> lines) throws Exception {
        Map<String, JsonNode> out = new TreeMap<>();
        for (String l : lines) {
            if (!l.isBlank()) {
                JsonNode n = Json.mapper().readTree(l);
                assertTrue(out.put(n.at("/event/id").asText(), n) == null, "one document per event.id: " + l);
            }
        }
        return out;
    }

    @Test
    void aScanOfTheKnownVictimsDeliversTheSameAlertsToFileSyslogAndKafka() throws Exception {
        Path file = tmp.resolve("alerts.json");
        int syslogBefore = rsyslog.received().size();
        CliIT.Run r;
        try (Victim a = Victim.start("victim_shellcode"); Victim b = Victim.start("victim_rwx");
             Victim c = Victim.start("victim_elf_anon")) {
            r = CliIT.jar(List.of(), "scan", "--json", "--pid", Long.toString(a.pid()), "--pid", Long.toString(b.pid()),
                "--pid", Long.toString(c.pid()), "--sink", "file:" + file,
                "--sink", "syslog+tcp://127.0.0.1:" + rsyslog.tcpPort(),
                "--sink", "kafka://" + broker.bootstrap() + "/memsentry-scan", "--spool", tmp.resolve("spool").toString());
        }
        assertEquals(1, r.code(), r.err());
        Map<String, JsonNode> stdout = byId(r.out().lines().toList());
        Set<String> rules = new TreeSet<>();
        stdout.values().forEach(d -> rules.add(d.at("/rule/id").asText()));
        assertTrue(rules.containsAll(Set.of("memory.exec_anonymous", "memory.rwx", "memory.reflective_elf")), rules.toString());
        JsonNode summary = stdout.values().stream().filter(d -> d.at("/event/action").asText().equals("scan-summary"))
            .findFirst().orElseThrow().at("/memsentry/summary/sinks");
        assertEquals(3, summary.size(), summary.toString());
        for (JsonNode s : summary) {
            assertEquals(stdout.size() - 1, s.get("delivered").asLong(),
                "every document before the summary, delivered: " + s);
            assertEquals(0, s.get("dropped").asLong());
        }

        assertEquals(stdout, byId(Files.readAllLines(file)), "the file sink: the same documents");

        List<String> received = rsyslog.awaitReceived(syslogBefore + stdout.size(), 15_000);
        List<String> syslogDocs = new ArrayList<>();
        for (String line : received.subList(syslogBefore, received.size())) {
            Matcher m = RFC5424.matcher(line);
            assertTrue(m.matches(), "RFC 5424: " + line);
            JsonNode doc = Json.mapper().readTree(m.group(3));
            int severity = switch (doc.at("/memsentry/severity").asText()) {
                case "critical" -> 2;
                case "high" -> 3;
                case "medium" -> 4;
                case "low" -> 5;
                default -> 6;
            };
            if (!doc.at("/event/kind").asText().equals("alert")) {
                severity = 6;
                assertEquals(doc.at("/event/action").asText(), m.group(2), "MSGID: event.action");
            } else {
                assertEquals(doc.at("/rule/id").asText(), m.group(2), "MSGID of an alert: its rule id");
            }
            assertEquals(10 * 8 + severity, Integer.parseInt(m.group(1)), "PRI: authpriv and the severity");
            syslogDocs.add(m.group(3));
        }
        assertEquals(stdout, byId(syslogDocs), "syslog: the same documents as MSG");

        List<ConsumerRecord<String, String>> records = broker.consume("memsentry-scan", stdout.size(), Duration.ofSeconds(30));
        List<String> values = new ArrayList<>();
        for (ConsumerRecord<String, String> rec : records) {
            JsonNode doc = Json.mapper().readTree(rec.value());
            String host = doc.at("/host/hostname").asText();
            String expected = doc.at("/process/pid").isIntegralNumber() ? host + ":" + doc.at("/process/pid").asLong() : host;
            assertEquals(expected, rec.key(), "key: host name and pid");
            values.add(rec.value());
        }
        assertEquals(stdout, byId(values), "kafka: the same documents as values");
    }

    @Test
    void badSinkInputIsOneLineAndTheDocumentedExitCode() throws Exception {
        String pid = Long.toString(ProcessHandle.current().pid());
        record Case(int code, String text, String... sink) {
        }
        List<Case> cases = List.of(
            new Case(2, "is not HOST:PORT", "syslog+tcp://127.0.0.1"),
            new Case(2, "unknown scheme 'http'", "http://127.0.0.1:80/"),
            new Case(2, "does not exist", "syslog+tls://127.0.0.1:" + rsyslog.tlsPort() + "?ca=" + tmp.resolve("none.pem")),
            new Case(3, "refused (and no spool", "syslog+tcp://127.0.0.1:" + closedPort()),
            new Case(3, "is not signed by the CA " + rsyslog.otherCa(),
                "syslog+tls://127.0.0.1:" + rsyslog.tlsPort() + "?ca=" + rsyslog.otherCa()));
        for (Case c : cases) {
            CliIT.Run r = CliIT.jar(List.of(), "scan", "--pid", pid, "--no-spool", "--sink", c.sink()[0]);
            assertEquals(c.code(), r.code(), c.sink()[0] + ": " + r.err());
            List<String> lines = r.err().strip().lines().toList();
            assertEquals(1, lines.size(), "one line: " + r.err());
            assertTrue(lines.get(0).startsWith("memsentry: ") && lines.get(0).contains(c.text()), r.err());
            assertEquals("", r.out(), "nothing scanned");
        }
        // A setting kafka-clients does not know, checked while the client's classes preload.
        Path cfg = tmp.resolve("bogus.json");
        Files.writeString(cfg, "{\"output\": {\"kafka\": {\"bogus.setting\": \"1\"}}}");
        CliIT.Run r = CliIT.jar(List.of(), "scan", "--pid", pid, "--config", cfg.toString(), "--sink",
            "kafka://" + broker.bootstrap() + "/memsentry-bogus", "--spool", tmp.resolve("spool").toString());
        assertEquals(2, r.code(), r.err());
        assertEquals(List.of("memsentry: output.kafka: 'bogus.setting' is not a Kafka producer setting"),
            r.err().strip().lines().toList());
    }

    @Test
    void aScanThatEndsWhileItsSinkIsDownLeavesItsEventsInTheSpoolAndTheNextRunDeliversThem() throws Exception {
        Path spool = tmp.resolve("spool");
        String sink = "syslog+tcp://127.0.0.1:" + rsyslog.tcpPort();
        int before = rsyslog.received().size();
        CliIT.Run first;
        CliIT.Run second;
        try (Victim v = Victim.start("victim_rwx")) {
            rsyslog.stop();
            try {
                first = CliIT.jar(List.of(), "scan", "--pid", Long.toString(v.pid()), "--sink", sink, "--spool",
                    spool.toString(), "--sink-wait", "2s", "--out", tmp.resolve("first.json").toString());
            } finally {
                rsyslog.restart();
            }
            assertEquals(1, first.code(), first.err());
            assertTrue(first.out().contains("waiting in the spool " + spool), "the summary says so: " + first.out());
            assertTrue(first.err().contains("wait in the spool"), first.err());
            second = CliIT.jar(List.of(), "scan", "--pid", Long.toString(v.pid()), "--sink", sink, "--spool",
                spool.toString(), "--out", tmp.resolve("second.json").toString());
        }
        assertEquals(1, second.code(), second.err());
        assertFalse(second.out().contains("waiting in the spool"), second.out());
        Map<String, JsonNode> sent = byId(Files.readAllLines(tmp.resolve("first.json")));
        sent.putAll(byId(Files.readAllLines(tmp.resolve("second.json"))));
        assertEquals(sent.keySet(), receivedIds(before, sent.size()), "both runs' documents arrived");
        try (Stream<Path> left = Files.walk(spool)) {
            assertFalse(left.anyMatch(p -> p.toString().endsWith(".jsonl")), "spool empty afterwards");
        }
    }

    /** The event.id of each RFC 5424 record rsyslog received after its first before lines (waiting for n). */
    private static Set<String> receivedIds(int before, int n) throws Exception {
        List<String> got = rsyslog.awaitReceived(before + n, 15_000);
        Set<String> ids = new TreeSet<>();
        for (String line : got.subList(before, got.size())) {
            Matcher m = RFC5424.matcher(line);
            assertTrue(m.matches(), line);
            ids.add(Json.mapper().readTree(m.group(3)).at("/event/id").asText());
        }
        return ids;
    }

    /** event.id of every document in the spool's segment files. */
    private static Set<String> spooledIds(Path spool) throws Exception {
        Set<String> ids = new TreeSet<>();
        try (Stream<Path> files = Files.walk(spool)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".jsonl")).toList()) {
                for (String l : Files.readAllLines(f)) {
                    ids.add(Json.mapper().readTree(l).at("/event/id").asText());
                }
            }
        }
        return ids;
    }

    /**
     * Runs the jar with args while rsyslog is stopped, sends SIGTERM once out holds n lines, and
     * returns the exit code (standard output and error in tmp). rsyslog is started again in every case.
     */
    private int sigtermWithRsyslogDown(Path out, int n, List<String> args) throws Exception {
        rsyslog.stop();
        Process p = null;
        try {
            p = new ProcessBuilder(CliIT.jarCommand(List.of(), List.of(), args.toArray(String[]::new)))
                .redirectOutput(tmp.resolve("stdout").toFile()).redirectError(tmp.resolve("stderr").toFile()).start();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!Files.exists(out) || Files.readAllLines(out).size() < n) {
                assertTrue(p.isAlive() && System.nanoTime() < deadline, n + " documents within 60 s: "
                    + Files.readString(tmp.resolve("stderr")));
                Thread.sleep(10);
            }
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "it ends within the bounded wait");
            return p.exitValue();
        } finally {
            if (p != null) {
                p.destroyForcibly();
            }
            rsyslog.restart();
        }
    }

    /**
     * The next run after an outage: a scan of a fresh RWX victim with the same sink and spool, which
     * delivers what waits in the spool; returns its own documents by event.id.
     */
    private Map<String, JsonNode> nextScan(String sink, Path spool) throws Exception {
        Path out = tmp.resolve("next.json");
        CliIT.Run next;
        try (Victim v = Victim.start("victim_rwx")) {
            next = CliIT.jar(List.of(), "scan", "--pid", Long.toString(v.pid()), "--sink", sink, "--spool",
                spool.toString(), "--out", out.toString());
        }
        assertEquals(1, next.code(), next.err());
        return byId(Files.readAllLines(out));
    }

    @Test
    void aSigtermInTheMiddleOfAScanLosesNoAlert() throws Exception {
        Path spool = tmp.resolve("spool");
        Path out = tmp.resolve("first.json");
        String sink = "syslog+tcp://127.0.0.1:" + rsyslog.tcpPort();
        Path rules = tmp.resolve("marker.yar");
        Files.writeString(rules, "rule marker { strings: $a = \"MEMSENTRY-BENCH-MARKER\" condition: $a }\n");
        int before = rsyslog.received().size();
        List<Victim> victims = new ArrayList<>();
        int code;
        try {
            // One thread, in order: 30 quick alerts, then heaps YARA takes seconds over: the SIGTERM
            // comes while those are scanned.
            List<String> cmd = new ArrayList<>(List.of("scan", "-j", "1", "--rules", rules.toString(), "--sink", sink,
                "--spool", spool.toString(), "--sink-wait", "2s", "--out", out.toString()));
            for (int i = 0; i < 30; i++) {
                victims.add(Victim.start("victim_rwx"));
            }
            for (int i = 0; i < 3; i++) {
                victims.add(Victim.start("victim_bigheap", "64"));
            }
            for (Victim v : victims) {
                cmd.addAll(List.of("--pid", Long.toString(v.pid())));
            }
            code = sigtermWithRsyslogDown(out, 30, cmd);
        } finally {
            victims.forEach(Victim::close);
        }
        String stdout = Files.readString(tmp.resolve("stdout"));
        String stderr = Files.readString(tmp.resolve("stderr"));
        assertEquals(143, code, "128 + SIGTERM: " + stderr);
        assertTrue(stdout.contains("interrupted (SIGTERM or SIGINT): "), stdout);
        assertFalse(stdout.contains("interrupted (SIGTERM or SIGINT): 0 processes"), "stopped mid-scan: " + stdout);
        assertTrue(stdout.contains("waiting in the spool " + spool), "the summary says where they are: " + stdout);
        assertFalse(stderr.contains("Exception"), stderr);
        Map<String, JsonNode> written = byId(Files.readAllLines(out));
        assertTrue(written.size() >= 31, "the alerts and the summary: " + written.size());
        JsonNode summary = written.values().stream().filter(n -> n.at("/event/action").asText().equals("scan-summary"))
            .findFirst().orElseThrow();
        assertTrue(summary.at("/memsentry/summary/interrupted").asBoolean(), summary.toString());
        assertEquals(written.keySet(), spooledIds(spool), "rsyslog was down: every document is in the spool");

        Map<String, JsonNode> sent = new TreeMap<>(written);
        sent.putAll(nextScan(sink, spool));
        List<String> got = rsyslog.awaitReceived(before + sent.size(), 15_000);
        Map<String, JsonNode> arrived = new TreeMap<>();
        for (String line : got.subList(before, got.size())) {
            Matcher m = RFC5424.matcher(line);
            assertTrue(m.matches(), line);
            JsonNode doc = Json.mapper().readTree(m.group(3));
            JsonNode earlier = arrived.put(doc.at("/event/id").asText(), doc);
            assertTrue(earlier == null || earlier.equals(doc), "a duplicate is the same document: " + doc);
        }
        assertEquals(sent, arrived, "the interrupted run's documents, then the second run's: none lost");
        assertTrue(spooledIds(spool).isEmpty(), "spool empty afterwards");
    }

    @Test
    void aSigtermDuringATraceSpoolsEveryAlertItReported() throws Exception {
        Path spool = tmp.resolve("spool");
        Path out = tmp.resolve("trace.json");
        int code;
        try (Victim v = Victim.start("victim_wx_cycle", "1")) {
            code = sigtermWithRsyslogDown(out, 5, List.of("trace", "--pid", Long.toString(v.pid()), "--alerts-only",
                "--out", out.toString(), "--sink", "syslog+tcp://127.0.0.1:" + rsyslog.tcpPort(), "--spool",
                spool.toString(), "--sink-wait", "1s"));
        }
        String stderr = Files.readString(tmp.resolve("stderr"));
        assertEquals(143, code, stderr);
        assertFalse(stderr.contains("Exception"), stderr);
        Map<String, JsonNode> written = byId(Files.readAllLines(out));
        assertTrue(written.values().stream().anyMatch(n -> n.at("/memsentry/summary/ended").asText().equals("stopped")),
            "the summary is written: " + written.keySet());
        assertEquals(written.keySet(), spooledIds(spool), "every alert and the summary wait in the spool");
    }

    /** The documents a watch wrote to standard output, by event.id. */
    private static Map<String, JsonNode> watchDocs(WatchRun w) throws Exception {
        return byId(w.docs().stream().map(JsonNode::toString).toList());
    }

    @Test
    void aWatchDeliversEveryDocumentToSyslogAndKafkaAndItsStatsCountTheSinks() throws Exception {
        String topic = "memsentry-watch";
        int before = rsyslog.received().size();
        Map<String, JsonNode> written;
        try (ProcessTree tree = new ProcessTree(tmp);
             WatchRun w = WatchRun.start(tmp, List.of(), "watch", "--scope", "tree:" + tree.pid(), "--json",
                 "--stats-interval", "1s", "--sink", "syslog+tcp://127.0.0.1:" + rsyslog.tcpPort(),
                 "--sink", "kafka://" + broker.bootstrap() + "/" + topic, "--spool", tmp.resolve("spool").toString())) {
            tree.run(ProcessTree.victim("victim_watch") + " shellcode 300 > sc.out &");
            long pid = Long.parseLong(tree.ready("sc.out", Duration.ofSeconds(15)).get("pid"));
            w.await(WatchRun.alertFor(pid, "memory.exec_anonymous"), Duration.ofSeconds(15), "alert for the victim");
            // The statistics name each sink with its numbers; both took the alert while the watch ran.
            w.await(d -> d.at("/event/action").asText().equals("watch-stats")
                && d.at("/memsentry/watch_stats/sinks").size() == 2
                && d.at("/memsentry/watch_stats/sinks/0/delivered").asLong() >= 1
                && d.at("/memsentry/watch_stats/sinks/1/delivered").asLong() >= 1, Duration.ofSeconds(30),
                "watch-stats counting a delivery to each sink");
            assertEquals(0, w.terminate(), w.err());
            assertFalse(w.err().contains("Exception"), w.err());
            written = watchDocs(w);
        }
        assertTrue(written.values().stream().anyMatch(d -> d.at("/event/kind").asText().equals("alert")), written.keySet().toString());
        assertEquals(written.keySet(), receivedIds(before, written.size()), "syslog: every document the watch wrote");
        Set<String> kafka = new TreeSet<>();
        for (ConsumerRecord<String, String> rec : broker.consume(topic, written.size(), Duration.ofSeconds(30))) {
            kafka.add(Json.mapper().readTree(rec.value()).at("/event/id").asText());
        }
        assertEquals(written.keySet(), kafka, "kafka: every document the watch wrote");
        assertTrue(spooledIds(tmp.resolve("spool")).isEmpty(), "nothing left in the spool");
    }

    @Test
    void aWatchStoppedWhileItsSinkIsDownLeavesItsDocumentsInTheSpoolForTheNextRun() throws Exception {
        Path spool = tmp.resolve("spool");
        String sink = "syslog+tcp://127.0.0.1:" + rsyslog.tcpPort();
        int before = rsyslog.received().size();
        Map<String, JsonNode> written;
        rsyslog.stop();
        try {
            try (ProcessTree tree = new ProcessTree(tmp);
                 WatchRun w = WatchRun.start(tmp, List.of(), "watch", "--scope", "tree:" + tree.pid(), "--json",
                     "--sink", sink, "--spool", spool.toString(), "--sink-wait", "1s")) {
                tree.run(ProcessTree.victim("victim_watch") + " shellcode 300 > sc.out &");
                long pid = Long.parseLong(tree.ready("sc.out", Duration.ofSeconds(15)).get("pid"));
                w.await(WatchRun.alertFor(pid, "memory.exec_anonymous"), Duration.ofSeconds(15), "alert for the victim");
                assertEquals(0, w.terminate(), w.err());
                assertTrue(w.err().contains("wait in the spool"), "it says where they are: " + w.err());
                assertFalse(w.err().contains("Exception"), w.err());
                written = watchDocs(w);
            }
            assertEquals(written.keySet(), spooledIds(spool), "rsyslog was down: every document is in the spool");
        } finally {
            rsyslog.restart();
        }
        Map<String, JsonNode> sent = new TreeMap<>(written);
        sent.putAll(nextScan(sink, spool));
        assertEquals(sent.keySet(), receivedIds(before, sent.size()), "the watch's documents, then the scan's: none lost");
        assertTrue(spooledIds(spool).isEmpty(), "spool empty afterwards");
    }

    @Test
    void aFullSpoolDropsTheOldestCountsThemAndSaysSo() throws Exception {
        CliIT.Run r;
        try (Victim a = Victim.start("victim_shellcode"); Victim b = Victim.start("victim_rwx");
             Victim c = Victim.start("victim_elf_anon"); Victim d = Victim.start("victim_thread_anon")) {
            r = CliIT.jar(List.of(), "scan", "--json", "--pid", Long.toString(a.pid()), "--pid", Long.toString(b.pid()),
                "--pid", Long.toString(c.pid()), "--pid", Long.toString(d.pid()),
                "--sink", "syslog+tcp://127.0.0.1:" + closedPort(), "--spool", tmp.resolve("spool").toString(),
                "--spool-max-size", "4K", "--sink-wait", "1s");
        }
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("full: dropped the"), r.err());
        assertTrue(r.err().lines().anyMatch(l -> l.startsWith("ERROR") && l.contains("events dropped")), r.err());
        JsonNode sinks = byId(r.out().lines().toList()).values().stream()
            .filter(n -> n.at("/event/action").asText().equals("scan-summary")).findFirst().orElseThrow()
            .at("/memsentry/summary/sinks/0");
        assertTrue(sinks.get("dropped").asLong() > 0, sinks.toString());
        assertTrue(sinks.get("pending").asLong() > 0, sinks.toString());
    }

    @Test
    void doctorChecksASinkAndSaysWhyNotInOneLine() throws Exception {
        CliIT.Run ok = CliIT.jar(List.of(), "doctor", "--sink", "syslog+tls://127.0.0.1:" + rsyslog.tlsPort() + "?ca="
            + rsyslog.ca(), "--sink", "kafka://" + broker.bootstrap() + "/memsentry-doctor");
        assertEquals(0, ok.code(), ok.out() + ok.err());
        assertEquals(List.of("sink syslog+tls://127.0.0.1:" + rsyslog.tlsPort() + "?ca=" + rsyslog.ca() + ": ok",
            "sink kafka://" + broker.bootstrap() + "/memsentry-doctor: ok"), ok.out().lines().toList());
        int closed = closedPort();
        CliIT.Run refused = CliIT.jar(List.of(), "doctor", "--sink", "kafka://127.0.0.1:" + closed + "/t");
        assertEquals(3, refused.code());
        assertEquals(List.of("sink kafka://127.0.0.1:" + closed + "/t: kafka: connection to 127.0.0.1:" + closed
            + " refused"), refused.out().lines().toList());
        CliIT.Run wrongCa = CliIT.jar(List.of(), "doctor", "--sink", "syslog+tls://127.0.0.1:" + rsyslog.tlsPort() + "?ca="
            + rsyslog.otherCa());
        assertEquals(3, wrongCa.code());
        assertTrue(wrongCa.out().strip().lines().count() == 1 && wrongCa.out().contains("is not signed by the CA"),
            wrongCa.out());
        CliIT.Run dns = CliIT.jar(List.of(), "doctor", "--sink", "syslog+tcp://no-such-host.invalid:514");
        assertEquals(3, dns.code());
        assertTrue(dns.out().contains("cannot resolve no-such-host.invalid (DNS)"), dns.out());
        CliIT.Run malformed = CliIT.jar(List.of(), "doctor", "--sink", "kafka://127.0.0.1:9092");
        assertEquals(2, malformed.code());
        assertEquals(1, malformed.err().strip().lines().count(), malformed.err());
    }

    /** A configuration file whose output.kafka authenticates with SASL/PLAIN as user memsentry. */
    private Path saslConfig(String name, String password) throws Exception {
        var cfg = Json.object();
        cfg.putObject("output").putObject("kafka").put("security.protocol", "SASL_PLAINTEXT")
            .put("sasl.mechanism", "PLAIN").put("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule"
                + " required username=\"memsentry\" password=\"" + password + "\";");
        Path f = tmp.resolve(name);
        Files.writeString(f, Json.mapper().writeValueAsString(cfg));
        return f;
    }

    @Test
    void kafkaWithSaslPlainFromTheConfigurationDeliversAndAWrongPasswordIsOneLine() throws Exception {
        String sink = "kafka://" + broker.saslBootstrap() + "/memsentry-sasl";
        Path out = tmp.resolve("sasl.json");
        CliIT.Run r;
        try (Victim v = Victim.start("victim_rwx")) {
            r = CliIT.jar(List.of(), "scan", "--pid", Long.toString(v.pid()), "--config",
                saslConfig("right.json", "right-password").toString(), "--sink", sink, "--no-spool", "--out", out.toString());
        }
        assertEquals(1, r.code(), r.err());
        Map<String, JsonNode> written = byId(Files.readAllLines(out));
        assertTrue(r.out().contains("sink " + sink + ": " + (written.size() - 1) + " delivered, 0 spooled"),
            "the alerts, before the summary document: " + r.out());
        List<String> values = new ArrayList<>();
        broker.consume("memsentry-sasl", written.size(), Duration.ofSeconds(30)).forEach(rec -> values.add(rec.value()));
        assertEquals(written, byId(values), "every document, through the authenticated listener");

        CliIT.Run wrong = CliIT.jar(List.of(), "doctor", "--config", saslConfig("wrong.json", "wrong-password").toString(),
            "--sink", sink);
        assertEquals(3, wrong.code(), wrong.out() + wrong.err());
        assertEquals(1, wrong.out().strip().lines().count(), wrong.out());
        assertTrue(wrong.out().startsWith("sink " + sink + ": kafka " + broker.saslBootstrap() + ": authentication failed: "),
            wrong.out());
        assertFalse(wrong.err().contains("Exception") || wrong.out().contains("\tat "), wrong.err());
        CliIT.Run right = CliIT.jar(List.of(), "doctor", "--config", saslConfig("right2.json", "right-password").toString(),
            "--sink", sink);
        assertEquals(0, right.code(), right.out() + right.err());
    }

    @Test
    void syslogTlsWithAClientCertificateDeliversAndWithoutOneIsOneLine() throws Exception {
        String mtls = "syslog+tls://127.0.0.1:" + rsyslog.mtlsPort() + "?ca=" + rsyslog.ca();
        String withCert = mtls + "&cert=" + rsyslog.clientCert() + "&key=" + rsyslog.clientKey();
        int before = rsyslog.received().size();
        Path out = tmp.resolve("mtls.json");
        CliIT.Run r;
        try (Victim v = Victim.start("victim_rwx")) {
            r = CliIT.jar(List.of(), "scan", "--pid", Long.toString(v.pid()), "--sink", withCert, "--no-spool",
                "--out", out.toString());
        }
        assertEquals(1, r.code(), r.err());
        Map<String, JsonNode> written = byId(Files.readAllLines(out));
        assertEquals(written.keySet(), receivedIds(before, written.size()));
        CliIT.Run none = CliIT.jar(List.of(), "doctor", "--sink", mtls);
        assertEquals(3, none.code(), none.out() + none.err());
        assertEquals(List.of("sink " + mtls + ": TLS: 127.0.0.1:" + rsyslog.mtlsPort() + " closed the connection after the "
            + "handshake: it wants a client certificate (cert=FILE&key=FILE)"), none.out().lines().toList());
    }

    /**
     * A Kafka "broker" that accepts connections and never answers: the producer (made on its own
     * thread while the scan runs) never gets metadata or a producer id. The scan must still end
     * within its bounded wait with every document in the spool; a refused port likewise, without
     * a producer at all.
     */
    @Test
    void aKafkaBrokerThatNeverAnswersOrRefusesGetsEveryDocumentSpooledWithinTheBoundedWait() throws Exception {
        List<java.net.Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        held.add(silent.accept()); // kept open, never read, never answered
                    }
                } catch (java.io.IOException closed) {
                    // the test is over
                }
            }, "silent-broker");
            acceptor.setDaemon(true);
            acceptor.start();
            int refused = closedPort();
            for (String sink : List.of("kafka://127.0.0.1:" + silent.getLocalPort() + "/never",
                "kafka://127.0.0.1:" + refused + "/never")) {
                Path spool = tmp.resolve("spool-" + held.size() + "-" + sink.hashCode());
                Path out = tmp.resolve("out-" + sink.hashCode() + ".json");
                long t0 = System.nanoTime();
                CliIT.Run r;
                try (Victim v = Victim.start("victim_rwx")) {
                    r = CliIT.jar(List.of(), "scan", "--pid", Long.toString(v.pid()), "--sink", sink, "--spool",
                        spool.toString(), "--sink-wait", "2s", "--out", out.toString());
                }
                long seconds = Duration.ofNanos(System.nanoTime() - t0).toSeconds();
                assertEquals(1, r.code(), sink + ": " + r.err());
                Map<String, JsonNode> written = byId(Files.readAllLines(out));
                assertTrue(written.size() >= 2, written.toString());
                assertTrue(r.out().contains(written.size() - 1 + " waiting in the spool " + spool),
                    "the summary counts what waits: " + r.out());
                assertEquals(written.keySet(), spooledIds(spool), sink + ": every document, the summary too, spooled");
                assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
                // The bounded wait: 2 s for delivery, 1 s for the close, then the aborted producer (5 s at
                // most); a run that waited on the client's own timeouts (8 s per delivery) would exceed it.
                assertTrue(seconds < 20, sink + ": ended after " + seconds + " s");
            }
            assertFalse(held.isEmpty(), "the producer did connect to the silent listener");
        } finally {
            for (java.net.Socket s : held) {
                s.close();
            }
        }
    }

    @Test
    void traceDeliversItsAlertsAndSummaryToKafka() throws Exception {
        String victim = Victim.directory().resolve("victim_wx_cycle").toString();
        Path out = tmp.resolve("trace.json");
        CliIT.Run r = CliIT.jar(List.of(), "trace", "--alerts-only", "--out", out.toString(), "--sink",
            "kafka://" + broker.bootstrap() + "/memsentry-trace", "--spool", tmp.resolve("spool").toString(), "--",
            victim, "1", "2");
        assertEquals(1, r.code(), r.err());
        Map<String, JsonNode> written = byId(Files.readAllLines(out));
        assertTrue(written.values().stream().filter(d -> d.at("/rule/id").asText().equals("trace.wx_transition")).count() >= 2,
            written.toString());
        assertTrue(r.err().contains("sink kafka://" + broker.bootstrap() + "/memsentry-trace: "), r.err());
        List<String> values = new ArrayList<>();
        broker.consume("memsentry-trace", written.size(), Duration.ofSeconds(30)).forEach(rec -> values.add(rec.value()));
        assertEquals(written, byId(values), "the alerts and the trace summary, with the --out file's event.ids");
    }
}
