package dev.memsentry.detect;

import java.util.List;

/**
 * The scan of one process: how it ended, its alerts (after policy and allowlist), and counters.
 * A process that vanished or refused access mid-scan keeps the alerts found before.
 *
 * @param bytesScanned bytes of the target read by YARA (memory and, for pages not in memory, mapped files)
 * @param process null when the process could not be looked at
 */
public record ProcessResult(long pid, ProcessRef process, Outcome outcome, String detail, List<Alert> alerts,
                            int suppressed, long regions, long bytesMapped, long bytesCompared, long bytesScanned,
                            long elapsedNanos,
                            List<String> warnings) {
    public ProcessResult {
        alerts = List.copyOf(alerts);
        warnings = List.copyOf(warnings);
    }

    /** How a process's scan ended. Everything but SCANNED and TIMED_OUT counts as skipped. */
    public enum Outcome {
        SCANNED("scanned"),
        TIMED_OUT("timed out (partial results)"),
        VANISHED("exited before or during the scan"),
        DENIED("access denied"),
        KERNEL_THREAD("kernel thread"),
        SELF("memsentry itself"),
        FAILED("failed");

        private final String description;

        Outcome(String description) {
            this.description = description;
        }

        public String description() {
            return description;
        }

        public String wireName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public boolean scanned() {
            return this == SCANNED || this == TIMED_OUT;
        }
    }

    static ProcessResult skipped(long pid, ProcessRef process, Outcome outcome, String detail, long elapsedNanos) {
        return new ProcessResult(pid, process, outcome, detail, List.of(), 0, 0, 0, 0, 0, elapsedNanos, List.of());
    }
}
