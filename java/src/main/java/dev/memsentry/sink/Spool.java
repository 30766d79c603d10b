package dev.memsentry.sink;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * One sink's on-disk queue, in the manner of Filebeat's disk queue and Vector's disk buffer:
 * documents appended as JSON lines to numbered segment files (0600, in a 0700 folder), read back
 * oldest first, and a cursor file (segment and byte offset, replaced atomically) recording what
 * the sink has acknowledged. At most maxBytes on disk: when an append would pass it, the oldest
 * segments are deleted and their unsent records counted as dropped. Appends are fsync'd: the
 * spool is for outages, when a crash must not lose what it holds. A crash between a delivery and
 * the cursor update replays the records again (same event.id). One process at a time: the lock
 * file is held while open.
 */
final class Spool implements AutoCloseable {
    private static final String SUFFIX = ".jsonl";
    private static final long MIN_SEGMENT = 4 << 10;
    private static final long MAX_SEGMENT = 4 << 20;

    private final Path dir;
    private final long maxBytes;
    private final long segmentBytes;
    private final FileChannel lockChannel;
    private final FileLock lock;
    /** segment number -> size in bytes, oldest first. */
    private final TreeMap<Long, Long> segments = new TreeMap<>();
    private long readSegment;
    private long readOffset;
    private long pending;
    private FileChannel writer;
    private long writerSegment = -1;
    /** Offsets just past each record handed out by the last peek, for commit. */
    private final List<long[]> peeked = new ArrayList<>();

    private Spool(Path dir, long maxBytes, FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.maxBytes = maxBytes;
        this.segmentBytes = Math.max(MIN_SEGMENT, Math.min(MAX_SEGMENT, maxBytes / 8));
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /** Opens (creating 0700) the spool folder dir; fails if another process holds it. */
    static Spool open(Path dir, long maxBytes) throws IOException {
        if (Files.isSymbolicLink(dir)) {
            throw new IOException(dir + " is a symbolic link");
        }
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(dir + " is not a directory");
        }
        FileChannel ch = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            LinkOption.NOFOLLOW_LINKS);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            ch.close();
            throw new IOException(dir + " is in use by another memsentry");
        }
        Spool s = new Spool(dir, maxBytes, ch, lock);
        try {
            s.load();
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    private void load() throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                String number = name.substring(0, name.length() - SUFFIX.length());
                if (number.matches("[0-9]{1,18}") && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    segments.put(Long.parseLong(number), Files.size(p));
                }
            }
        }
        if (!segments.isEmpty()) {
            truncateTornTail(segments.lastKey());
        }
        Path cursor = dir.resolve("cursor");
        if (Files.isRegularFile(cursor, LinkOption.NOFOLLOW_LINKS)) {
            String[] f = Files.readString(cursor).trim().split(" ");
            if (f.length == 2 && f[0].matches("[0-9]{1,18}") && f[1].matches("[0-9]{1,18}")) {
                readSegment = Long.parseLong(f[0]);
                readOffset = Long.parseLong(f[1]);
            }
        }
        segments.headMap(readSegment).keySet().forEach(n -> delete(n));
        segments.headMap(readSegment).clear();
        if (segments.isEmpty() || segments.firstKey() != readSegment) {
            readSegment = segments.isEmpty() ? 0 : segments.firstKey();
            readOffset = 0;
        }
        for (var e : segments.entrySet()) {
            pending += countLines(e.getKey(), e.getKey() == readSegment ? readOffset : 0);
        }
    }

    /** A crash in the middle of an append leaves part of a line: cut it. */
    private void truncateTornTail(long segment) throws IOException {
        try (FileChannel ch = FileChannel.open(path(segment), StandardOpenOption.READ, StandardOpenOption.WRITE,
            LinkOption.NOFOLLOW_LINKS)) {
            long size = ch.size();
            long keep = size;
            ByteBuffer one = ByteBuffer.allocate(1);
            while (keep > 0) {
                one.clear();
                ch.read(one, keep - 1);
                if (one.get(0) == '\n') {
                    break;
                }
                keep--;
            }
            if (keep < size) {
                ch.truncate(keep);
                segments.put(segment, keep);
            }
        }
    }

    private long countLines(long segment, long from) throws IOException {
        byte[] bytes = readFrom(segment, from);
        long n = 0;
        for (byte b : bytes) {
            if (b == '\n') {
                n++;
            }
        }
        return n;
    }

    private byte[] readFrom(long segment, long from) throws IOException {
        try (FileChannel ch = FileChannel.open(path(segment), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            long size = Math.max(0, ch.size() - from);
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(size, Integer.MAX_VALUE - 16));
            while (buf.hasRemaining() && ch.read(buf, from + buf.position()) > 0) {
                // read to the end
            }
            return buf.array();
        }
    }

    private Path path(long segment) {
        return dir.resolve(String.format("%018d%s", segment, SUFFIX));
    }

    /** Records waiting, oldest first. */
    synchronized long pending() {
        return pending;
    }

    synchronized long bytes() {
        return segments.values().stream().mapToLong(Long::longValue).sum();
    }

    Path directory() {
        return dir;
    }

    /**
     * Appends records after those already waiting. Returns how many records were dropped (the
     * oldest, or records of this batch that alone exceed the limit) to stay within maxBytes.
     */
    synchronized long append(List<SinkRecord> records) throws IOException {
        List<byte[]> lines = new ArrayList<>(records.size());
        long total = 0;
        for (SinkRecord r : records) {
            byte[] b = (r.json() + "\n").getBytes(StandardCharsets.UTF_8);
            lines.add(b);
            total += b.length;
        }
        long dropped = 0;
        while (!lines.isEmpty() && total > maxBytes) { // the batch alone is too big: its oldest go
            total -= lines.remove(0).length;
            dropped++;
        }
        while (!segments.isEmpty() && bytes() + total > maxBytes) {
            dropped += dropOldest();
        }
        if (lines.isEmpty()) {
            return dropped;
        }
        if (writer == null || segments.getOrDefault(writerSegment, 0L) + total > segmentBytes) {
            startSegment();
        }
        ByteBuffer buf = ByteBuffer.allocate((int) total);
        lines.forEach(buf::put);
        buf.flip();
        while (buf.hasRemaining()) {
            writer.write(buf);
        }
        writer.force(false);
        segments.merge(writerSegment, total, Long::sum);
        pending += lines.size();
        return dropped;
    }

    private void startSegment() throws IOException {
        closeWriter();
        long next = segments.isEmpty() ? readSegment + 1 : segments.lastKey() + 1;
        writer = FileChannel.open(path(next), java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
            StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS),
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        writerSegment = next;
        segments.put(next, 0L);
        if (segments.size() == 1) {
            readSegment = next;
            readOffset = 0;
        }
    }

    /** Deletes the oldest segment; returns how many unsent records it held. */
    private long dropOldest() throws IOException {
        long oldest = segments.firstKey();
        long lost = countLines(oldest, oldest == readSegment ? readOffset : 0);
        if (oldest == writerSegment) {
            closeWriter();
        }
        segments.remove(oldest);
        delete(oldest);
        pending -= lost;
        peeked.clear();
        readSegment = segments.isEmpty() ? oldest + 1 : segments.firstKey();
        readOffset = 0;
        saveCursor();
        return lost;
    }

    /** Up to max of the oldest waiting records (not removed: {@link #commit} does, once delivered). */
    synchronized List<SinkRecord> peek(int max) throws IOException {
        peeked.clear();
        List<SinkRecord> out = new ArrayList<>();
        long segment = readSegment;
        long offset = readOffset;
        while (out.size() < max && segments.containsKey(segment)) {
            byte[] bytes = readFrom(segment, offset);
            int start = 0;
            for (int i = 0; i < bytes.length && out.size() < max; i++) {
                if (bytes[i] == '\n') {
                    SinkRecord r = SinkRecord.parse(new String(bytes, start, i - start, StandardCharsets.UTF_8));
                    long end = offset + i + 1;
                    peeked.add(new long[] {segment, end, r == null ? 0 : 1});
                    if (r != null) {
                        out.add(r);
                    }
                    start = i + 1;
                }
            }
            if (out.size() < max) {
                Long next = segments.higherKey(segment);
                if (next == null) {
                    break;
                }
                segment = next;
                offset = 0;
            }
        }
        return out;
    }

    /** Removes the records the last peek returned (all of them: n is checked against it). */
    synchronized void commit(int n) throws IOException {
        int seen = 0;
        int lines = 0;
        long[] last = null;
        for (long[] p : peeked) {
            if (seen == n) {
                break;
            }
            last = p;
            lines++;
            seen += (int) p[2];
        }
        if (last == null) {
            return;
        }
        pending -= lines;
        peeked.clear();
        while (segments.firstKey() < last[0]) {
            long done = segments.pollFirstEntry().getKey();
            delete(done);
        }
        readSegment = last[0];
        readOffset = last[1];
        if (readOffset >= segments.get(readSegment) && readSegment != writerSegment) {
            segments.remove(readSegment);
            delete(readSegment);
            readSegment = segments.isEmpty() ? readSegment + 1 : segments.firstKey();
            readOffset = 0;
        } else if (pending == 0) {
            // everything sent: start afresh, nothing left on disk
            closeWriter();
            segments.keySet().forEach(this::delete);
            long next = readSegment + 1;
            segments.clear();
            readSegment = next;
            readOffset = 0;
        }
        saveCursor();
    }

    private void saveCursor() throws IOException {
        Path tmp = dir.resolve("cursor.tmp");
        Files.deleteIfExists(tmp);
        Files.writeString(tmp, readSegment + " " + readOffset + "\n", StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE);
        Files.move(tmp, dir.resolve("cursor"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private void delete(long segment) {
        try {
            Files.deleteIfExists(path(segment));
        } catch (IOException e) {
            // counted as gone; a later run skips it by the cursor
        }
    }

    private void closeWriter() throws IOException {
        if (writer != null) {
            writer.close();
            writer = null;
            writerSegment = -1;
        }
    }

    @Override
    public synchronized void close() throws IOException {
        closeWriter();
        lock.release();
        lockChannel.close();
    }
}
