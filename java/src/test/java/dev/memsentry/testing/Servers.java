package dev.memsentry.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.TimeUnit;

/** What the server helpers (Rsyslog, KafkaBroker) share: readiness by connection, and stopping. */
final class Servers {
    private Servers() {
    }

    /** Whether 127.0.0.1:port accepts a TCP connection now. */
    static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** SIGTERM, as a service manager stops a server; SIGKILL if it is not gone within seconds. */
    static void stop(Process p, int seconds) throws InterruptedException {
        if (p != null && p.isAlive()) {
            p.destroy();
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
        }
    }
}
