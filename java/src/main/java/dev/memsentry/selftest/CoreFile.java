package dev.memsentry.selftest;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Just enough of an ELF core file to check a dump: its header says ET_CORE, and the PT_LOAD
 * segment that covers an address holds the expected bytes there (as gdb would read them).
 */
final class CoreFile {
    private static final int PT_LOAD = 1;
    private static final int ET_CORE = 4;

    private CoreFile() {
    }

    /** The bytes at a virtual address of the dumped process; null when no segment holds them. */
    static byte[] bytesAt(Path core, long address, int length) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(core.toFile(), "r")) {
            ByteBuffer header = read(f, 0, 64);
            if (header.getInt(0) != 0x464c457f || header.get(4) != 2 || header.getShort(16) != ET_CORE) {
                throw new IOException(core + " is not a 64-bit ELF core file");
            }
            long phoff = header.getLong(32);
            int phentsize = Short.toUnsignedInt(header.getShort(54));
            int phnum = Short.toUnsignedInt(header.getShort(56));
            if (phentsize < 56 || phnum == 0xffff) {
                throw new IOException(core + ": unexpected program header layout");
            }
            for (int i = 0; i < phnum; i++) {
                ByteBuffer ph = read(f, phoff + (long) i * phentsize, 56);
                long offset = ph.getLong(8);
                long vaddr = ph.getLong(16);
                long filesz = ph.getLong(32);
                if (ph.getInt(0) == PT_LOAD && Long.compareUnsigned(address, vaddr) >= 0
                    && Long.compareUnsigned(address - vaddr + length, filesz) <= 0) {
                    byte[] out = new byte[length];
                    f.seek(offset + (address - vaddr));
                    f.readFully(out);
                    return out;
                }
            }
            return null;
        }
    }

    private static ByteBuffer read(RandomAccessFile f, long at, int n) throws IOException {
        byte[] b = new byte[n];
        f.seek(at);
        f.readFully(b);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }
}
