package dev.memsentry.cli;

import dev.memsentry.agent.Status;

/** The documented exit codes (README "Exit codes"), and the one mapping from a status to them. */
public final class ExitCodes {
    /** Success, nothing found. */
    public static final int OK = 0;
    /** Success, findings reported (scan). */
    public static final int FINDINGS = 1;
    /** Usage error or bad input. */
    public static final int USAGE = 2;
    /** The operation failed: access denied, no such process, protected, I/O. */
    public static final int FAILED = 3;

    private ExitCodes() {
    }

    public static int of(Status status) {
        return switch (status) {
            case OK -> OK;
            case INVALID_ARGUMENT, MALFORMED -> USAGE;
            default -> FAILED;
        };
    }
}
