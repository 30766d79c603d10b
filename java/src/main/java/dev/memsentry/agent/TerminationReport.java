package dev.memsentry.agent;

import java.util.List;

/**
 * What a termination request did. Refusal, absence and denial are results, not exceptions:
 * {@link #status()} carries the matching {@link Status} for the exit code.
 *
 * @param pid       the process asked for
 * @param result    the outcome
 * @param protection why it was refused ({@link ProtectionReason#NONE} unless refused)
 * @param signals   what was sent, in order: "SIGTERM", "SIGKILL" or "TerminateProcess"
 * @param elapsedMs from the request to the confirmed outcome
 * @param reason    one sentence for a human
 * @param status    the library's status for the call
 */
public record TerminationReport(long pid, TerminationResult result, ProtectionReason protection,
                                List<String> signals, long elapsedMs, String reason, Status status) {
    public TerminationReport {
        signals = List.copyOf(signals);
    }

    /** ms_terminate_signal to its name, as ms_terminate_signal_name() gives it. */
    static String signalName(int code) {
        return switch (code) {
            case 1 -> "SIGTERM";
            case 2 -> "SIGKILL";
            case 3 -> "TerminateProcess";
            default -> "unknown";
        };
    }
}
