package dev.memsentry.agent;

import java.util.Locale;

/**
 * ms_dump_format: an ELF core file (gdb opens it), raw bytes with a JSON manifest, or a Windows
 * minidump (WinDbg opens it). Core files are written on Linux only, minidumps on Windows only.
 */
public enum DumpFormat {
    CORE("core"), RAW("raw"), MINIDUMP("dmp");

    private final String extension;

    DumpFormat(String extension) {
        this.extension = extension;
    }

    /** The C enum's value. */
    int code() {
        return ordinal();
    }

    /** The CLI's and the JSON records' spelling. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The file name extension the tools that open the format expect (.dmp for a minidump). */
    public String extension() {
        return extension;
    }

    /**
     * Whether the native agent built for the operating system named {@code osName} (the
     * {@code os.name} property) writes this format: raw everywhere, core on every other system
     * than Windows, minidump on Windows.
     */
    public boolean writtenOn(String osName) {
        boolean windows = osName.startsWith("Windows");
        return switch (this) {
            case RAW -> true;
            case CORE -> !windows;
            case MINIDUMP -> windows;
        };
    }
}
