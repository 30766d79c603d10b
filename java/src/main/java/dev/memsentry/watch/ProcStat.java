package dev.memsentry.watch;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The identity fields of /proc/PID/stat: parent and start time (clock ticks since boot). The pair
 * (pid, start time) names one process instance: a reused pid has another start time. Only this
 * metadata is read to decide the scope; the file is hostile input (the name between the parentheses is
 * the target's choice), so the read is bounded and the fields are taken after the last ')'.
 */
public record ProcStat(long pid, long ppid, long startTicks) {
    /** A stat line is well under this; anything longer is not trusted. */
    static final int MAX_BYTES = 4096;

    /** The process as it is now, or empty when it is gone or the file cannot be parsed. */
    public static Optional<ProcStat> read(long pid) {
        return readSmall(Path.of("/proc", Long.toString(pid), "stat"), MAX_BYTES).flatMap(text -> parse(pid, text));
    }

    /**
     * A small /proc file as text (bytes above 0x7f kept as Latin-1 characters), or empty when it
     * cannot be read or holds max bytes or more: a bounded read, whatever the target put there.
     */
    static Optional<String> readSmall(Path file, int max) {
        byte[] buf = new byte[max];
        int n = 0;
        try (InputStream in = Files.newInputStream(file)) {
            int r;
            while (n < buf.length && (r = in.read(buf, n, buf.length - n)) > 0) {
                n += r;
            }
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
        return n == buf.length ? Optional.empty() : Optional.of(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
    }

    /** Parses a stat line: "pid (comm) state ppid ... starttime(22nd field) ...". */
    static Optional<ProcStat> parse(long pid, String line) {
        int close = line.lastIndexOf(')');
        if (close < 0 || line.length() >= MAX_BYTES) {
            return Optional.empty();
        }
        // After ") ": field 3 (state) is index 0, ppid (4) index 1, starttime (22) index 19.
        String[] f = line.substring(close + 1).trim().split(" ", 21);
        if (f.length < 21) {
            return Optional.empty();
        }
        try {
            long ppid = Long.parseLong(f[1]);
            long start = Long.parseLong(f[19]);
            if (ppid < 0 || start < 0) {
                return Optional.empty();
            }
            return Optional.of(new ProcStat(pid, ppid, start));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
