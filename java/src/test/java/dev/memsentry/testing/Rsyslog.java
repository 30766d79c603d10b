package dev.memsentry.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real rsyslogd (Debian's package, installed by ci/install-deps.sh) with a private
 * configuration: an imtcp input, an imtcp/TLS input (gtls, a CA and server certificate made
 * here with openssl) and a TLS input that requires a client certificate signed by that CA
 * (x509/certvalid; client certificates made here too), all on 127.0.0.1 and ephemeral ports (the first start lets rsyslog choose
 * them; restarts keep them), and omfile writing each raw message, one a line, to a file the test
 * reads. Never the system service: foreground (-n), its own pid file and work directory.
 */
public final class Rsyslog implements AutoCloseable {
    private final Path dir;
    private Process process;
    private int tcpPort;
    private int tlsPort;
    private int mtlsPort;

    private Rsyslog(Path dir) {
        this.dir = dir;
    }

    /** Generates the CAs and certificates under dir and starts rsyslogd. */
    public static Rsyslog start(Path dir) throws IOException, InterruptedException {
        assertTrue(Files.isExecutable(Path.of("/usr/sbin/rsyslogd")),
            "rsyslogd is missing: run ci/install-deps.sh (packages rsyslog, rsyslog-gnutls)");
        Rsyslog r = new Rsyslog(dir);
        Files.createDirectories(dir.resolve("work"));
        r.certificates();
        r.start();
        return r;
    }

    private void certificates() throws IOException, InterruptedException {
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=memsentry test CA");
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.pem",
            "-days", "2", "-subj", "/CN=memsentry other CA");
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj",
            "/CN=127.0.0.1");
        Files.writeString(dir.resolve("ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "ext");
        // Client certificates: one from the CA rsyslog trusts, one from the other CA.
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj",
            "/CN=memsentry client");
        openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "client.pem", "-days", "2");
        openssl("x509", "-req", "-in", "client.csr", "-CA", "other-ca.pem", "-CAkey", "other-ca.key",
            "-CAcreateserial", "-out", "untrusted-client.pem", "-days", "2");
    }

    private void openssl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
            .redirectOutput(dir.resolve("openssl.log").toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "openssl " + String.join(" ", args) + ": "
            + Files.readString(dir.resolve("openssl.log")));
    }

    private void start() throws IOException, InterruptedException {
        Path tcpFile = dir.resolve("tcp.port");
        Path tlsFile = dir.resolve("tls.port");
        Path mtlsFile = dir.resolve("mtls.port");
        Files.deleteIfExists(tcpFile);
        Files.deleteIfExists(tlsFile);
        Files.deleteIfExists(mtlsFile);
        String conf = """
            global(workDirectory="%1$s/work" maxMessageSize="256k"
              DefaultNetstreamDriverCAFile="%1$s/ca.pem" DefaultNetstreamDriverCertFile="%1$s/server.pem"
              DefaultNetstreamDriverKeyFile="%1$s/server.key")
            module(load="imtcp")
            input(type="imtcp" address="127.0.0.1" port="%2$d" listenPortFileName="%1$s/tcp.port")
            input(type="imtcp" address="127.0.0.1" port="%3$d" listenPortFileName="%1$s/tls.port"
              StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
            input(type="imtcp" address="127.0.0.1" port="%4$d" listenPortFileName="%1$s/mtls.port"
              StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/certvalid")
            template(name="raw" type="string" string="%%rawmsg%%\\n")
            action(type="omfile" file="%1$s/received.log" template="raw")
            """.formatted(dir, tcpPort, tlsPort, mtlsPort);
        Files.writeString(dir.resolve("rsyslog.conf"), conf);
        process = new ProcessBuilder("/usr/sbin/rsyslogd", "-n", "-f", dir.resolve("rsyslog.conf").toString(), "-i",
            dir.resolve("rsyslogd.pid").toString()).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("rsyslogd.log").toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        // rsyslog writes listenPortFileName only for port 0 (the first start); a restart on the
        // same ports is ready when both accept a connection.
        while (!(tcpPort == 0 ? written(tcpFile) && written(tlsFile) && written(mtlsFile)
            : Servers.accepts(tcpPort) && Servers.accepts(tlsPort) && Servers.accepts(mtlsPort))) {
            assertTrue(process.isAlive(), "rsyslogd exited: " + Files.readString(dir.resolve("rsyslogd.log")));
            assertTrue(System.nanoTime() < deadline, "rsyslogd did not listen within 30 s: "
                + Files.readString(dir.resolve("rsyslogd.log")));
            Thread.sleep(50);
        }
        if (tcpPort == 0) {
            tcpPort = Integer.parseInt(Files.readString(tcpFile).trim());
            tlsPort = Integer.parseInt(Files.readString(tlsFile).trim());
            mtlsPort = Integer.parseInt(Files.readString(mtlsFile).trim());
        }
    }

    private static boolean written(Path portFile) throws IOException {
        return Files.exists(portFile) && Files.size(portFile) > 0;
    }

    /** SIGTERM, as a service manager stops it; waits until it is gone. */
    public void stop() throws InterruptedException {
        Servers.stop(process, 20);
    }

    /** Starts again on the same ports. */
    public void restart() throws IOException, InterruptedException {
        stop();
        start();
    }

    public int tcpPort() {
        return tcpPort;
    }

    public int tlsPort() {
        return tlsPort;
    }

    /** The TLS input that requires a client certificate signed by {@link #ca()}. */
    public int mtlsPort() {
        return mtlsPort;
    }

    /** A client certificate signed by {@link #ca()}, and its key (unencrypted PKCS#8 PEM). */
    public Path clientCert() {
        return dir.resolve("client.pem");
    }

    public Path clientKey() {
        return dir.resolve("client.key");
    }

    /** The same key's certificate signed by {@link #otherCa()}: one the mTLS input refuses. */
    public Path untrustedClientCert() {
        return dir.resolve("untrusted-client.pem");
    }

    public Path ca() {
        return dir.resolve("ca.pem");
    }

    /** A CA that did not sign the server's certificate. */
    public Path otherCa() {
        return dir.resolve("other-ca.pem");
    }

    /** What rsyslog wrote so far: one raw message a line. */
    public List<String> received() throws IOException {
        Path f = dir.resolve("received.log");
        return Files.exists(f) ? Files.readAllLines(f, StandardCharsets.UTF_8) : List.of();
    }

    /** Polls received() until it holds at least n lines or the timeout passes. */
    public List<String> awaitReceived(int n, long timeoutMs) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        List<String> got = received();
        while (got.size() < n && System.nanoTime() < deadline) {
            Thread.sleep(50);
            got = received();
        }
        return got;
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
