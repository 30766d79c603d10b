package dev.memsentry.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** Reads a field of /proc/PID/status for the dump tests. */
final class NativeDumpTestAccess {
    private NativeDumpTestAccess() {
    }

    static String status(long pid, String field) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1).trim();
            }
        }
        return "";
    }
}
