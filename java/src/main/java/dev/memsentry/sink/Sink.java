package dev.memsentry.sink;

import java.util.List;

/**
 * One destination of ECS documents. Called from one delivery thread only ({@link Delivery});
 * {@link #abort()} may come from another thread to unblock it at shutdown.
 */
public interface Sink extends AutoCloseable {
    /**
     * Delivers the batch in order; returns once the sink has taken all of it (written, sent, or
     * acknowledged: see each transport). Throws if it cannot be sure: the caller then keeps the
     * whole batch and delivers it again, so a record may arrive twice, with the same event.id.
     */
    void deliver(List<SinkRecord> batch) throws SinkException;

    /** Connects (or opens) and checks that the sink can take documents, without sending one (doctor). */
    void probe() throws SinkException;

    /**
     * The check a run makes at start, before its first document: by default the full probe. A
     * sink whose full check is slow (Kafka: the client library, metadata) checks only that it can
     * be reached, and completes the rest on its delivery thread while the scan runs.
     */
    default void reach() throws SinkException {
        probe();
    }

    /**
     * On the delivery thread, before the first document: whatever makes the first delivery slow
     * (Kafka: the client's classes, the producer, metadata and producer id), done while the scan
     * runs. Failures are left for the first delivery to report.
     */
    default void warmUp() {
    }

    /**
     * Before close: makes sure what deliver returned for has arrived (a stream transport closes
     * its side and waits, bounded, for the peer's). Throws, with the records that may be lost in
     * {@link SinkException#unconfirmed()}, if it cannot.
     */
    default void finish() throws SinkException {
    }

    /** Ends a blocked deliver or probe (close of the socket or producer); the sink reconnects after. */
    default void abort() {
    }

    @Override
    void close();
}
