package dev.memsentry.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memsentry.output.Json;
import dev.memsentry.output.JsonLines;
import dev.memsentry.output.OwnedFiles;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Where alert and event documents go: standard output (with --json) and/or a file they are
 * appended to (--out). The file is created 0600, never through a symbolic link, and each line is
 * flushed as written so a crash loses nothing already reported.
 */
final class AlertOutput implements AutoCloseable {
    private final JsonLines stdout;
    private final BufferedWriter file;

    private AlertOutput(JsonLines stdout, BufferedWriter file) {
        this.stdout = stdout;
        this.file = file;
    }

    static AlertOutput open(Path path, JsonLines stdout) throws IOException {
        return new AlertOutput(stdout, path == null ? null : appendTo(path));
    }

    /**
     * A writer appending to path: created 0600 if missing; refused if a symbolic link, not a regular
     * file, or not the running user's alone ({@link OwnedFiles#requireOwnFile}: someone else's,
     * writable by others, hard-linked).
     */
    static BufferedWriter appendTo(Path path) throws IOException {
        if (Files.isSymbolicLink(path)) {
            throw new Refused("it is a symbolic link");
        }
        FileChannel ch;
        // O_NOFOLLOW as well: a link swapped in after the check is refused, not followed.
        Set<java.nio.file.OpenOption> append = Set.of(StandardOpenOption.WRITE, StandardOpenOption.APPEND,
            LinkOption.NOFOLLOW_LINKS);
        try {
            ch = FileChannel.open(path, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (FileAlreadyExistsException e) {
            if (isDevNull(path)) {
                ch = FileChannel.open(path, append, new java.nio.file.attribute.FileAttribute<?>[0]);
                return new BufferedWriter(new OutputStreamWriter(Channels.newOutputStream(ch), StandardCharsets.UTF_8));
            }
            if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
                throw new Refused("it exists and is not a regular file");
            }
            Object checked = ownFile(path);
            ch = FileChannel.open(path, append, new java.nio.file.attribute.FileAttribute<?>[0]);
            // The file opened must be the file checked: one swapped in between is refused.
            if (!checked.equals(ownFile(path))) {
                ch.close();
                throw new Refused("it was replaced while it was opened");
            }
        }
        return new BufferedWriter(new OutputStreamWriter(Channels.newOutputStream(ch), StandardCharsets.UTF_8));
    }

    /** An output file refused before anything was written to it: a usage error (exit 2), not a failure. */
    static final class Refused extends IOException {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    private static Object ownFile(Path path) throws Refused {
        try {
            return OwnedFiles.requireOwnFile(path);
        } catch (IOException e) {
            throw new Refused(e.getMessage());
        }
    }

    /** /dev/null itself: what a benchmark or a dry run appends to. */
    private static boolean isDevNull(Path path) {
        try {
            return Files.isSameFile(path, Path.of("/dev/null"));
        } catch (IOException e) {
            return false;
        }
    }

    void write(ObjectNode doc) {
        if (stdout != null) {
            stdout.write(doc);
        }
        if (file != null) {
            try {
                file.write(Json.MAPPER.writeValueAsString(doc));
                file.newLine();
                file.flush();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    @Override
    public void close() throws IOException {
        if (file != null) {
            file.close();
        }
    }
}
