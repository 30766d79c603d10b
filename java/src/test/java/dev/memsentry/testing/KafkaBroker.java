package dev.memsentry.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * A real single-node KRaft Kafka broker (broker and controller in one), from the Apache Kafka
 * server artifacts on the test class path, run as a child JVM (kafka.Kafka) so that a test can
 * stop and restart it like a real outage. 127.0.0.1 only, ephemeral ports (kept across restarts),
 * a temporary log directory formatted by kafka.tools.StorageTool. Optionally a second listener,
 * SASL_PLAINTEXT with the PLAIN mechanism and the given users, for clients that authenticate.
 */
public final class KafkaBroker implements AutoCloseable {
    private final Path dir;
    private final int port;
    private final int controllerPort;
    /** The SASL_PLAINTEXT listener's port; 0: none. */
    private final int saslPort;
    private final Map<String, String> plainUsers;
    private Process process;

    private KafkaBroker(Path dir, int port, int controllerPort, int saslPort, Map<String, String> plainUsers) {
        this.dir = dir;
        this.port = port;
        this.controllerPort = controllerPort;
        this.saslPort = saslPort;
        this.plainUsers = Map.copyOf(plainUsers);
    }

    public static KafkaBroker start(Path dir) throws IOException, InterruptedException {
        return start(dir, Map.of());
    }

    /** With plainUsers (user name to password): also a SASL_PLAINTEXT listener taking SASL/PLAIN for them. */
    public static KafkaBroker start(Path dir, Map<String, String> plainUsers) throws IOException, InterruptedException {
        KafkaBroker b = new KafkaBroker(dir, freePort(), freePort(), plainUsers.isEmpty() ? 0 : freePort(), plainUsers);
        b.configure();
        b.run("format", List.of("kafka.tools.StorageTool", "format", "-t", Uuid.randomUuid().toString(), "-c",
            dir.resolve("server.properties").toString()), true);
        b.startBroker();
        return b;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void configure() throws IOException {
        String sasl = saslPort == 0 ? "" : ",SASL://127.0.0.1:" + saslPort;
        StringBuilder jaas = new StringBuilder("org.apache.kafka.common.security.plain.PlainLoginModule required");
        plainUsers.forEach((user, password) -> jaas.append(" user_").append(user).append("=\"").append(password).append('"'));
        Files.writeString(dir.resolve("server.properties"), String.join("\n",
            "process.roles=broker,controller",
            "node.id=1",
            "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
            "listeners=PLAINTEXT://127.0.0.1:" + port + sasl + ",CONTROLLER://127.0.0.1:" + controllerPort,
            "advertised.listeners=PLAINTEXT://127.0.0.1:" + port + sasl,
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL:SASL_PLAINTEXT",
            saslPort == 0 ? "" : "sasl.enabled.mechanisms=PLAIN",
            saslPort == 0 ? "" : "listener.name.sasl.plain.sasl.jaas.config=" + jaas + ";",
            "log.dirs=" + dir.resolve("logs"),
            "num.partitions=3",
            "auto.create.topics.enable=true",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "") );
    }

    private Process run(String name, List<String> mainAndArgs, boolean waitForExit) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"))));
        cmd.addAll(mainAndArgs);
        Path log = dir.resolve(name + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        if (waitForExit) {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0, name + " failed: " + Files.readString(log));
        }
        return p;
    }

    private void startBroker() throws IOException, InterruptedException {
        process = run("broker", List.of("kafka.Kafka", dir.resolve("server.properties").toString()), false);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            assertTrue(process.isAlive(), "broker exited: " + Files.readString(dir.resolve("broker.log")));
            assertTrue(System.nanoTime() < deadline, "broker did not listen within 120 s");
            if (Servers.accepts(port) && (saslPort == 0 || Servers.accepts(saslPort))) {
                return;
            }
            Thread.sleep(100);
        }
    }

    /** SIGTERM (a controlled shutdown); waits until it is gone. */
    public void stop() throws InterruptedException {
        Servers.stop(process, 60);
    }

    public void restart() throws IOException, InterruptedException {
        stop();
        startBroker();
    }

    public String bootstrap() {
        return "127.0.0.1:" + port;
    }

    /** The SASL_PLAINTEXT (PLAIN) listener, when the broker was started with users. */
    public String saslBootstrap() {
        if (saslPort == 0) {
            throw new IllegalStateException("started without SASL users");
        }
        return "127.0.0.1:" + saslPort;
    }

    /** Every record of topic from the beginning, read by a real consumer until n arrived or the timeout passed. */
    public List<ConsumerRecord<String, String>> consume(String topic, int n, Duration timeout) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "memsentry-test-" + UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            c.subscribe(List.of(topic));
            long deadline = System.nanoTime() + timeout.toNanos();
            while (out.size() < n && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    @Override
    public void close() {
        try {
            stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
