package dev.memsentry.sink;

import dev.memsentry.config.Sizes;
import dev.memsentry.output.OwnedFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;

/**
 * {@code file:PATH}: JSON lines appended to PATH (0600, never through a symbolic link), rotated
 * when it reaches max_size (default 100M; 0: never) to PATH.1 ... PATH.keep (default 5), the
 * oldest removed. A batch is delivered once written to the kernel (as --out does).
 */
public final class FileSink implements Sink {
    static final long DEFAULT_MAX_SIZE = 100L << 20;
    static final int DEFAULT_KEEP = 5;

    private final Path path;
    private final long maxSize;
    private final int keep;
    private FileChannel channel;

    FileSink(SinkUri uri) {
        this.path = Path.of(uri.target());
        try {
            this.maxSize = uri.param("max_size") == null ? DEFAULT_MAX_SIZE : Sizes.parse(uri.param("max_size"));
        } catch (IllegalArgumentException e) {
            throw new SinkUriException("sink '" + uri + "': max_size: " + e.getMessage());
        }
        String k = uri.param("keep");
        if (k != null && !k.matches("[0-9]{1,3}")) {
            throw new SinkUriException("sink '" + uri + "': keep: '" + k + "' is not a number from 0 to 999");
        }
        this.keep = k == null ? DEFAULT_KEEP : Integer.parseInt(k);
    }

    /**
     * A channel appending to path: created 0600 if missing; refused ({@link Refused}) if a symbolic
     * link, not a regular file, or not the running user's alone ({@link OwnedFiles#requireOwnFile}:
     * someone else's, writable by others, hard-linked). Used for --out too.
     */
    public static FileChannel append(Path path) throws IOException {
        if (Files.isSymbolicLink(path)) {
            throw new Refused("it is a symbolic link");
        }
        // O_NOFOLLOW as well: a link swapped in after the check is refused, not followed.
        Set<OpenOption> append = Set.of(StandardOpenOption.WRITE, StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS);
        try {
            return FileChannel.open(path, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (FileAlreadyExistsException e) {
            if (isDevNull(path)) {
                return FileChannel.open(path, append, new FileAttribute<?>[0]);
            }
            if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
                throw new Refused("it exists and is not a regular file");
            }
            Object checked = ownFile(path);
            FileChannel ch = FileChannel.open(path, append, new FileAttribute<?>[0]);
            // The file opened must be the file checked: one swapped in between is refused.
            if (!checked.equals(ownFile(path))) {
                ch.close();
                throw new Refused("it was replaced while it was opened");
            }
            return ch;
        }
    }

    /** An output file refused before anything was written to it: a usage error (exit 2), not a failure. */
    public static final class Refused extends IOException {
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

    @Override
    public void probe() throws SinkException {
        open();
    }

    private FileChannel open() throws SinkException {
        if (channel == null) {
            try {
                channel = append(path);
            } catch (IOException e) {
                throw new SinkException("cannot write " + path + ": " + e.getMessage(), !(e instanceof Refused), e);
            }
        }
        return channel;
    }

    @Override
    public void deliver(List<SinkRecord> batch) throws SinkException {
        StringBuilder text = new StringBuilder();
        for (SinkRecord r : batch) {
            text.append(r.json()).append('\n');
        }
        ByteBuffer bytes = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
        try {
            FileChannel ch = open();
            while (bytes.hasRemaining()) {
                ch.write(bytes);
            }
            if (maxSize > 0 && ch.size() >= maxSize) {
                rotate();
            }
        } catch (IOException e) {
            closeChannel();
            throw new SinkException("cannot write " + path + ": " + e.getMessage(), true, e);
        }
    }

    /** PATH -> PATH.1 -> ... -> PATH.keep; renames never follow links. keep 0: the full file is removed. */
    private void rotate() throws IOException {
        closeChannel();
        if (keep == 0) {
            Files.deleteIfExists(path);
            return;
        }
        Files.deleteIfExists(sibling(keep));
        for (int i = keep - 1; i >= 1; i--) {
            if (Files.exists(sibling(i), LinkOption.NOFOLLOW_LINKS)) {
                Files.move(sibling(i), sibling(i + 1), StandardCopyOption.ATOMIC_MOVE);
            }
        }
        Files.move(path, sibling(1), StandardCopyOption.ATOMIC_MOVE);
    }

    private Path sibling(int n) {
        return path.resolveSibling(path.getFileName() + "." + n);
    }

    private void closeChannel() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // nothing left to write through it
            }
            channel = null;
        }
    }

    @Override
    public void close() {
        closeChannel();
    }
}
