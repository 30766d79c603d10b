package dev.memsentry.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Whether a file memsentry is told to run as code (MEMSENTRY_NATIVE_LIB, MEMSENTRY_PYTHON) may be
 * trusted by root: the file (links resolved) must be owned by root and writable by nobody else, and
 * so must every directory above it (a sticky directory such as /tmp excepted, where others cannot
 * replace root's entries). Whoever else can write any of them chooses the code root runs. The C
 * agent applies the same rule to MEMSENTRY_LIBYARA.
 */
public final class TrustedCode {
    private static final int GROUP_OR_OTHER_WRITE = 0022;
    private static final int STICKY = 01000;

    private TrustedCode() {
    }

    /** Whether this process runs with an effective uid of 0. */
    public static boolean runningAsRoot() {
        return effectiveUid() == 0;
    }

    /** This process's effective uid (the second field of Uid: in /proc/self/status); -1 when unknown (not Linux). */
    public static long effectiveUid() {
        String status;
        try {
            status = new String(Files.readAllBytes(Path.of("/proc/self/status")), StandardCharsets.US_ASCII);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        // Parsed by hand: every run asks (the library cache is root's), and a regular expression
        // compiled for it costs a short command more than the file's read.
        int line = status.startsWith("Uid:") ? 0 : status.indexOf("\nUid:");
        if (line < 0) {
            return -1;
        }
        int i = status.indexOf(':', line) + 1;
        long[] ids = new long[2];
        for (int field = 0; field < 2; field++) {
            while (i < status.length() && (status.charAt(i) == ' ' || status.charAt(i) == '\t')) {
                i++;
            }
            int start = i;
            long value = 0;
            while (i < status.length() && status.charAt(i) >= '0' && status.charAt(i) <= '9' && i - start < 10) {
                value = value * 10 + (status.charAt(i) - '0');
                i++;
            }
            if (i == start) {
                return -1;
            }
            ids[field] = value;
        }
        return ids[1];
    }

    /**
     * Why root must not run file as code (what names it, e.g. "MEMSENTRY_PYTHON"), or empty when it may.
     * A file that does not exist is left to the loader, which reports it.
     */
    public static Optional<String> problem(String what, Path file) {
        Path real;
        try {
            real = file.toRealPath();
        } catch (IOException e) {
            return Optional.empty();
        }
        for (Path p = real; p != null; p = p.getParent()) {
            Map<String, Object> a;
            try {
                a = Files.readAttributes(p, "unix:uid,mode", LinkOption.NOFOLLOW_LINKS);
            } catch (IOException | UnsupportedOperationException e) {
                return Optional.of(what + " " + file + ": cannot check " + p + " (" + e.getMessage() + ")");
            }
            int uid = (Integer) a.get("uid");
            int mode = (Integer) a.get("mode");
            String which = p.equals(real) ? real.toString() : "its directory " + p;
            if (uid != 0) {
                return Optional.of(what + " " + file + ": " + which + " is owned by uid " + uid + ", not root");
            }
            boolean sharedDir = !p.equals(real) && (mode & STICKY) != 0;
            if ((mode & GROUP_OR_OTHER_WRITE) != 0 && !sharedDir) {
                return Optional.of(what + " " + file + ": " + which + " is writable by group or others");
            }
        }
        return Optional.empty();
    }

    /** {@link #problem} when running as root, as an AgentException (exit 3); nothing otherwise. */
    public static void require(String what, Path file) {
        if (runningAsRoot()) {
            problem(what, file).ifPresent(why -> {
                throw new AgentException(Status.ACCESS_DENIED, "refusing to load code as root: " + why);
            });
        }
    }
}
