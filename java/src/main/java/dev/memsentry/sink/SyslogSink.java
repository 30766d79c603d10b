package dev.memsentry.sink;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * syslog+tcp, syslog+tls (RFC 5425: TLS, octet counting) and syslog+udp (RFC 5426: one message a
 * datagram, no acknowledgement: lossy, for relays that take nothing else).
 *
 * <p>Plain syslog over TCP has no acknowledgement: bytes the kernel accepted may still die in the
 * peer's buffer when it stops. So a stream connection keeps what it wrote as unconfirmed until the
 * connection is seen alive more than {@link #CONFIRM_MS} later, or the peer answered the close of
 * our side with its own (it read everything). When the connection is found dead, the unconfirmed
 * records are written again first: a consumer may see a record twice, with the same event.id, but
 * never miss one.
 */
final class SyslogSink implements Sink {
    static final int WRITE_TIMEOUT_MS = 10_000;
    static final long CONFIRM_MS = 1000;
    private static final int MAX_UNCONFIRMED = 100_000;
    /** The largest UDP payload over IPv4; a longer message is refused, not cut. */
    private static final int MAX_DATAGRAM = 65_507;
    /**
     * How long a new TLS connection is watched for the server's verdict on the client: in TLS 1.3
     * a server that wants a client certificate (rsyslog's x509/certvalid, x509/name) lets the
     * handshake finish and then closes the connection.
     */
    static final int TLS_VERDICT_MS = 500;

    private record Sent(SinkRecord record, long atNanos) {
    }

    private final SinkUri uri;
    private final Rfc5424 format;
    private final SSLContext tls;
    private final Deque<Sent> unconfirmed = new ArrayDeque<>();
    private volatile Socket socket;
    private OutputStream out;
    private DatagramSocket udp;
    /** The server kept the current connection past {@link #TLS_VERDICT_MS} (always true for plain TCP). */
    private boolean accepted;

    SyslogSink(SinkUri uri) {
        this.uri = uri;
        this.format = new Rfc5424(Rfc5424.facility(uri), ProcessHandle.current().pid());
        this.tls = uri.scheme() == SinkUri.Scheme.SYSLOG_TLS ? TlsContext.of(uri) : null;
    }

    private SinkUri.HostPort target() {
        return uri.hosts().get(0);
    }

    @Override
    public void probe() throws SinkException {
        if (uri.scheme() == SinkUri.Scheme.SYSLOG_UDP) {
            openUdp();
            return;
        }
        if (socket == null) {
            connect(List.of());
        }
        checkAccepted(List.of());
    }

    /** At a run's start: connected (and TLS handshaken); the server's verdict on the client comes on the delivery thread. */
    @Override
    public void reach() throws SinkException {
        if (uri.scheme() == SinkUri.Scheme.SYSLOG_UDP) {
            openUdp();
        } else if (socket == null) {
            connect(List.of());
        }
    }

    /** The wait for the server's verdict on a TLS client, while the scan runs rather than at the first delivery. */
    @Override
    public void warmUp() {
        if (socket != null) {
            try {
                checkAccepted(List.of());
            } catch (SinkException e) {
                // the connection is dropped: the first delivery connects again and reports
            }
        }
    }

    @Override
    public void deliver(List<SinkRecord> batch) throws SinkException {
        if (uri.scheme() == SinkUri.Scheme.SYSLOG_UDP) {
            sendUdp(batch);
            return;
        }
        List<SinkRecord> again = List.of();
        if (socket != null && !alive()) {
            again = dropConnection();
        } else if (socket != null) {
            confirmOlderThan(System.nanoTime() - CONFIRM_MS * 1_000_000);
        }
        if (socket == null) {
            connect(again);
        }
        checkAccepted(again);
        List<SinkRecord> all = new ArrayList<>(again);
        all.addAll(batch);
        try {
            long now = System.nanoTime();
            for (SinkRecord r : all) {
                out.write(format.frame(r));
            }
            out.flush();
            for (SinkRecord r : all) {
                unconfirmed.add(new Sent(r, now));
            }
            while (unconfirmed.size() > MAX_UNCONFIRMED) {
                unconfirmed.removeFirst();
            }
        } catch (IOException e) {
            List<SinkRecord> lost = dropConnection();
            lost.addAll(again);
            throw new SinkException(describe(e), true, e, lost);
        }
    }

    private void connect(List<SinkRecord> pending) throws SinkException {
        SinkUri.HostPort hp = target();
        Socket s = null;
        try {
            s = Network.connect(hp);
            if (tls != null) {
                SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(s, hp.host(), hp.port(), true);
                SSLParameters params = ssl.getSSLParameters();
                params.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name HOST
                ssl.setSSLParameters(params);
                ssl.setSoTimeout(Network.CONNECT_TIMEOUT_MS);
                ssl.startHandshake();
                s = ssl;
            }
            s.setSoTimeout(WRITE_TIMEOUT_MS);
            s.setKeepAlive(true);
            s.setTcpNoDelay(true);
            socket = s;
            accepted = tls == null;
            // One write (one TLS record, few segments) per batch, not per message.
            out = new java.io.BufferedOutputStream(s.getOutputStream(), 1 << 16);
        } catch (SinkException e) {
            throw new SinkException(e.getMessage(), true, e.getCause(), pending);
        } catch (IOException e) {
            closeQuietly(s);
            boolean permanent = e instanceof SSLHandshakeException;
            throw new SinkException(describe(e), !permanent, e, pending);
        }
    }

    /**
     * Waits (once per TLS connection, at most {@link #TLS_VERDICT_MS}) to see whether the server
     * drops the connection after the handshake: it did not accept the client (no certificate, or
     * one it does not trust). A permanent failure: retrying cannot help.
     */
    private void checkAccepted(List<SinkRecord> pending) throws SinkException {
        if (accepted) {
            return;
        }
        try {
            socket.setSoTimeout(TLS_VERDICT_MS);
            if (socket.getInputStream().read() < 0) {
                throw new java.io.EOFException();
            }
            accepted = true; // a byte from a syslog server is unexpected, but the connection lives
        } catch (SocketTimeoutException e) {
            accepted = true;
        } catch (IOException e) {
            dropConnection();
            String cert = uri.param("cert");
            throw new SinkException("TLS: " + target() + " closed the connection after the handshake: "
                + (cert == null ? "it wants a client certificate (cert=FILE&key=FILE)"
                : "it did not accept the client certificate " + cert), false, e, pending);
        }
        try {
            socket.setSoTimeout(WRITE_TIMEOUT_MS);
        } catch (IOException e) {
            // the next write reports it
        }
    }

    /** One line for a failure: what the user can act on, not the exception's class. */
    private String describe(IOException e) {
        String where = target().toString();
        if (e instanceof SSLHandshakeException) {
            String m = String.valueOf(e.getMessage());
            if (m.contains("PKIX") || m.contains("certification path")) {
                return "TLS: the certificate of " + where + " is not signed by the CA "
                    + (uri.param("ca") != null ? uri.param("ca") : "of the JVM's trust store");
            }
            if (m.contains("No subject alternative") || m.contains("No name matching")) {
                return "TLS: the certificate of " + where + " does not name " + target().host();
            }
            return "TLS handshake with " + where + " failed: " + m;
        }
        return Network.why(e, target());
    }

    /**
     * Whether the peer has not closed or reset the connection: a read with a 1 ms timeout times
     * out on a healthy syslog connection (the server never writes).
     */
    private boolean alive() {
        try {
            socket.setSoTimeout(1);
            InputStream in = socket.getInputStream();
            int b = in.read();
            return b >= 0; // a byte from a syslog server is unexpected, but the connection lives
        } catch (SocketTimeoutException e) {
            return true;
        } catch (IOException e) {
            return false;
        } finally {
            try {
                if (socket != null) {
                    socket.setSoTimeout(WRITE_TIMEOUT_MS);
                }
            } catch (IOException e) {
                // the next write reports it
            }
        }
    }

    private void confirmOlderThan(long nanos) {
        while (!unconfirmed.isEmpty() && unconfirmed.peekFirst().atNanos() < nanos) {
            unconfirmed.removeFirst();
        }
    }

    /** Closes the connection and hands back what may not have arrived. */
    private List<SinkRecord> dropConnection() {
        List<SinkRecord> lost = new ArrayList<>();
        unconfirmed.forEach(s -> lost.add(s.record()));
        unconfirmed.clear();
        closeQuietly(socket);
        socket = null;
        out = null;
        return lost;
    }

    @Override
    public void finish() throws SinkException {
        Socket s = socket;
        if (s == null || unconfirmed.isEmpty()) {
            return;
        }
        // Our FIN after the last record: a server that answers with its own read everything.
        try {
            out.flush();
            if (s instanceof SSLSocket) {
                // No half-close in TLS: close_notify, then wait for the peer's close.
                s.setSoTimeout(WRITE_TIMEOUT_MS);
                s.shutdownOutput();
            } else {
                s.shutdownOutput();
            }
            s.setSoTimeout(WRITE_TIMEOUT_MS);
            InputStream in = s.getInputStream();
            byte[] sink = new byte[256];
            while (in.read(sink) >= 0) {
                // a syslog server sends nothing; read to its end
            }
            unconfirmed.clear();
        } catch (IOException e) {
            List<SinkRecord> lost = dropConnection();
            throw new SinkException("closing " + target() + ": " + e.getMessage(), true, e, lost);
        }
    }

    private void openUdp() throws SinkException {
        if (udp == null) {
            try {
                DatagramSocket d = new DatagramSocket();
                d.connect(new java.net.InetSocketAddress(target().host(), target().port()));
                udp = d;
            } catch (IOException e) {
                throw new SinkException(describe(e), true, e);
            }
        }
    }

    private void sendUdp(List<SinkRecord> batch) throws SinkException {
        openUdp();
        for (SinkRecord r : batch) {
            byte[] msg = format.message(r).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            if (msg.length > MAX_DATAGRAM) {
                continue; // counted as delivered and lost by the transport; documented
            }
            try {
                udp.send(new DatagramPacket(msg, msg.length));
            } catch (IOException e) {
                udp.close();
                udp = null;
                throw new SinkException(describe(e), true, e);
            }
        }
    }

    @Override
    public void abort() {
        closeQuietly(socket);
    }

    private static void closeQuietly(Socket s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

    @Override
    public void close() {
        closeQuietly(socket);
        socket = null;
        if (udp != null) {
            udp.close();
        }
    }
}
