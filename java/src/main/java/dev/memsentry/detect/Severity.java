package dev.memsentry.detect;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Alert severity. The numbers are the ones Elastic's detection rules put in event.severity
 * (21, 47, 73, 99), so memsentry alerts sort alongside theirs.
 */
public enum Severity {
    LOW(21), MEDIUM(47), HIGH(73), CRITICAL(99);

    private final int score;
    private final String wireName = name().toLowerCase(Locale.ROOT); // made once: written per alert

    Severity(int score) {
        this.score = score;
    }

    public int score() {
        return score;
    }

    public String wireName() {
        return wireName;
    }

    /** This severity moved by steps (negative lowers), clamped to LOW..CRITICAL. */
    public Severity shifted(int steps) {
        int i = Math.max(0, Math.min(values().length - 1, ordinal() + steps));
        return values()[i];
    }

    public boolean atLeast(Severity other) {
        return compareTo(other) >= 0;
    }

    /** Parses "low", "medium", "high" or "critical" (any case). */
    public static Severity parse(String text) {
        for (Severity s : values()) {
            if (s.wireName().equalsIgnoreCase(text.trim())) {
                return s;
            }
        }
        throw new IllegalArgumentException("'" + text + "' is not a severity (" + names() + ")");
    }

    public static String names() {
        return Arrays.stream(values()).map(Severity::wireName).collect(Collectors.joining(", "));
    }
}
