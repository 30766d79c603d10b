package dev.memsentry.config;

import java.util.Locale;

/** What --respond does for alerts at or above the minimum severity. */
public enum ResponseAction {
    ALERT("alert"), DUMP("dump"), KILL("kill"), DUMP_KILL("dump-kill");

    private final String wireName;

    ResponseAction(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    public boolean dumps() {
        return this == DUMP || this == DUMP_KILL;
    }

    public boolean kills() {
        return this == KILL || this == DUMP_KILL;
    }

    public static ResponseAction parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        for (ResponseAction a : values()) {
            if (a.wireName.equals(t)) {
                return a;
            }
        }
        throw new IllegalArgumentException("'" + text + "' is not a response (alert, dump, kill, dump-kill)");
    }
}
