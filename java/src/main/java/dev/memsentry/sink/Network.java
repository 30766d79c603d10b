package dev.memsentry.sink;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;

/** TCP connections for the network sinks, and the one line that says why one failed. */
final class Network {
    static final int CONNECT_TIMEOUT_MS = 3000;

    private Network() {
    }

    /** A connected socket, or a transient SinkException saying why not (DNS, refused, timed out). */
    static Socket connect(SinkUri.HostPort hp) throws SinkException {
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress(hp.host(), hp.port()), CONNECT_TIMEOUT_MS);
            return s;
        } catch (IOException e) {
            try {
                s.close();
            } catch (IOException ignored) {
                // never connected
            }
            throw new SinkException(why(e, hp), true, e);
        }
    }

    static String why(IOException e, SinkUri.HostPort hp) {
        if (e instanceof UnknownHostException) {
            return "cannot resolve " + hp.host() + " (DNS)";
        }
        if (e instanceof ConnectException) {
            return "connection to " + hp + " refused";
        }
        if (e instanceof SocketTimeoutException) {
            return "no answer from " + hp + " within " + CONNECT_TIMEOUT_MS / 1000 + " s";
        }
        if (e instanceof NoRouteToHostException) {
            return "no route to " + hp;
        }
        if (e instanceof PortUnreachableException) {
            return "port unreachable at " + hp;
        }
        return "connection to " + hp + ": " + e.getMessage();
    }
}
