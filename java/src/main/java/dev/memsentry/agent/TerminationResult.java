package dev.memsentry.agent;

import java.util.Locale;

/** ms_terminate_result, in the C enum's order; wire names as ms_terminate_result_name() gives them. */
public enum TerminationResult {
    /** Exited after the polite request (SIGTERM). */
    TERMINATED,
    /** Needed the forced kill (SIGKILL, TerminateProcess). */
    KILLED,
    /** Did not exist, or had already exited. */
    NOT_FOUND,
    /** Protected: nothing was sent. */
    REFUSED,
    /** The system refused permission. */
    DENIED,
    /** Dry run: allowed, permitted and alive; nothing was sent. */
    WOULD_TERMINATE,
    /** The forced kill was sent but the process had not gone when the confirmation wait ended. */
    UNCONFIRMED,
    /** Another error; see the report's status and reason. */
    FAILED;

    public static TerminationResult fromCode(int code) {
        TerminationResult[] all = values();
        return code >= 0 && code < all.length ? all[code] : FAILED;
    }

    /** "terminated", "not-found", "would-terminate", ... */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Whether the request did what was asked (for a dry run: that it would). */
    public boolean succeeded() {
        return this == TERMINATED || this == KILLED || this == WOULD_TERMINATE;
    }
}
