package dev.memsentry.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Just enough of an ELF64 core file reader for tests, independent of the writer: the PT_LOAD
 * segments and the bytes at an address. Reads piecewise (cores are sparse and can be huge).
 */
public final class ElfCore implements AutoCloseable {
    public record Load(long vaddr, long memsz, long filesz, long offset, int flags) {
    }

    private final FileChannel file;
    private final List<Load> loads = new ArrayList<>();
    private int noteCount;

    public ElfCore(Path path) throws IOException {
        file = FileChannel.open(path, StandardOpenOption.READ);
        ByteBuffer eh = read(0, 64);
        if (eh.getInt(0) != 0x464c457f || eh.get(4) != 2 || eh.getShort(16) != 4) {
            throw new IOException(path + " is not an ELF64 core file");
        }
        long phoff = eh.getLong(32);
        int phentsize = eh.getShort(54) & 0xffff;
        int phnum = eh.getShort(56) & 0xffff;
        for (int i = 0; i < phnum; i++) {
            ByteBuffer ph = read(phoff + (long) i * phentsize, 56);
            int type = ph.getInt(0);
            if (type == 1) {
                loads.add(new Load(ph.getLong(16), ph.getLong(40), ph.getLong(32), ph.getLong(8), ph.getInt(4)));
            } else if (type == 4) {
                noteCount = countNotes(ph.getLong(8), ph.getLong(32));
            }
        }
    }

    private int countNotes(long offset, long size) throws IOException {
        ByteBuffer notes = read(offset, (int) size);
        int at = 0;
        int n = 0;
        while (at + 12 <= size) {
            int namesz = notes.getInt(at);
            int descsz = notes.getInt(at + 4);
            at += 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3);
            n++;
        }
        return n;
    }

    private ByteBuffer read(long offset, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining() && file.read(b, offset + b.position()) > 0) {
            // keep reading
        }
        return b.flip();
    }

    public List<Load> loads() {
        return loads;
    }

    public int noteCount() {
        return noteCount;
    }

    public Load loadAt(long addr) {
        for (Load l : loads) {
            if (Long.compareUnsigned(l.vaddr, addr) <= 0 && Long.compareUnsigned(addr, l.vaddr + l.memsz) < 0) {
                return l;
            }
        }
        return null;
    }

    /** The bytes the core holds at addr, or null beyond p_filesz. */
    public byte[] at(long addr, int len) throws IOException {
        Load l = loadAt(addr);
        if (l == null || addr - l.vaddr + len > l.filesz) {
            return null;
        }
        ByteBuffer b = read(l.offset + (addr - l.vaddr), len);
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
