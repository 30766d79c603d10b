package dev.memsentry.sink;

/** A sink URI or setting that cannot be used as given: one line for the user, exit 2. */
public final class SinkUriException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public SinkUriException(String message) {
        super(message);
    }
}
