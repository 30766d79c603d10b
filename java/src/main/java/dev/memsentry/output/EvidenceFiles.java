package dev.memsentry.output;

import dev.memsentry.agent.DumpFormat;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Names and folders for evidence files. A process name is chosen by whoever started the process
 * (an attacker, for the processes that matter), so it is reduced to a short, harmless file name.
 */
public final class EvidenceFiles {
    /** Longest name part kept; the pid, time and extension follow it. */
    static final int MAX_NAME = 64;
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
        .withZone(ZoneOffset.UTC);

    private EvidenceFiles() {
    }

    /** Letters, digits, '.', '_' and '-' only (others become '_'), no leading dot, at most 64 characters. */
    public static String safeName(String processName) {
        String safe = processName.replaceAll("[^A-Za-z0-9._-]", "_");
        if (safe.isEmpty() || safe.startsWith(".")) {
            safe = "process" + safe;
        }
        return safe.length() > MAX_NAME ? safe.substring(0, MAX_NAME) : safe;
    }

    /** NAME.PID.EXT (core, raw, dmp), as the dump command names its files. */
    public static String fileName(String processName, long pid, DumpFormat format) {
        return safeName(processName) + "." + pid + "." + format.extension();
    }

    /** NAME.PID.YYYYMMDDTHHMMSSZ.EXT (UTC), as the scan responses name theirs. */
    public static String timestampedName(String processName, long pid, Instant when, DumpFormat format) {
        return safeName(processName) + "." + pid + "." + STAMP.format(when) + "." + format.extension();
    }

    /**
     * Makes sure dir is a directory evidence can be written to: created 0700 (with its parents)
     * when missing, owned by the running user and writable by no one else ({@link OwnedFiles}).
     * With refuseLink a symbolic link at dir is refused rather than followed, so whoever can plant
     * the link cannot choose where evidence lands. The agent checks the same on the directory it
     * opens for each dump, and refuses a link there: the real directory is returned.
     *
     * @throws IOException with a message that names dir and says what is wrong
     */
    public static Path prepareDirectory(Path dir, boolean refuseLink) throws IOException {
        if (refuseLink && Files.isSymbolicLink(dir)) {
            throw new IOException(dir + " is a symbolic link (give the real directory)");
        }
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (FileAlreadyExistsException raced) {
                // created meanwhile: fine if it is a directory, checked below
            } catch (IOException | UnsupportedOperationException e) {
                throw new IOException("cannot create " + dir + ": " + e.getMessage(), e);
            }
        }
        if (refuseLink && Files.isSymbolicLink(dir)) {
            throw new IOException(dir + " is a symbolic link (give the real directory)");
        }
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + " is not a directory");
        }
        if (!Files.isWritable(dir)) {
            throw new IOException(dir + " is not writable");
        }
        Path real = dir.toRealPath();
        OwnedFiles.requirePrivateDirectory(real);
        return real;
    }

    /** The directory a single output file goes into, checked as {@link #prepareDirectory} checks (never created). */
    public static Path prepareFile(Path file) throws IOException {
        Path name = file.getFileName();
        if (name == null) {
            throw new IOException(file + " names no file");
        }
        Path parent = file.toAbsolutePath().getParent();
        if (!Files.isDirectory(parent)) {
            throw new IOException(parent + " is not a directory");
        }
        Path real = parent.toRealPath();
        OwnedFiles.requirePrivateDirectory(real);
        return real.resolve(name);
    }
}
