package dev.memsentry.sink;

import java.io.IOException;
import java.util.List;

/**
 * A sink could not take events. transient: the sink may come back (refused, timed out, broker
 * down), so the events wait in the spool; otherwise retrying cannot help (TLS trust, authorization,
 * unknown topic) and the problem is reported as a failure at start.
 */
public final class SinkException extends IOException {
    private static final long serialVersionUID = 1L;
    private final boolean transientFailure;
    private final transient List<SinkRecord> unconfirmed;

    public SinkException(String message, boolean transientFailure, Throwable cause) {
        this(message, transientFailure, cause, List.of());
    }

    /** unconfirmed: records an earlier deliver returned for, that the sink now knows it may have lost. */
    public SinkException(String message, boolean transientFailure, Throwable cause, List<SinkRecord> unconfirmed) {
        super(message, cause);
        this.transientFailure = transientFailure;
        this.unconfirmed = List.copyOf(unconfirmed);
    }

    /** Records to deliver again, before the failed batch (oldest first). */
    public List<SinkRecord> unconfirmed() {
        return unconfirmed;
    }

    public boolean isTransient() {
        return transientFailure;
    }
}
