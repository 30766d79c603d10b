package dev.memsentry.agent;

import java.util.Locale;

/** ms_dump_format: an ELF core file (gdb opens it) or raw bytes with a JSON manifest. */
public enum DumpFormat {
    CORE, RAW;

    /** The C enum's value. */
    int code() {
        return ordinal();
    }

    /** The file name extension and the CLI's spelling. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
