package dev.memsentry.agent;

/**
 * One memory region of a process. Addresses are unsigned 64-bit values held in longs
 * (the vsyscall page lies above 2^63); compare them with Long.compareUnsigned.
 */
public record Region(long start, long end, long offset, long inode, int devMajor, int devMinor, int perms,
                     RegionKind kind, String path) {

    public static final int READ = 0x1;
    public static final int WRITE = 0x2;
    public static final int EXEC = 0x4;
    public static final int PRIVATE = 0x8;

    public boolean readable() {
        return (perms & READ) != 0;
    }

    public boolean writable() {
        return (perms & WRITE) != 0;
    }

    public boolean executable() {
        return (perms & EXEC) != 0;
    }

    // equals and hashCode written out: a record's generated ones are bootstrapped through method
    // handles at their first use, which spins some fifty classes (about 30 ms of a scan's CPU) the
    // first time a region keys a map (a YARA match grouped by region).
    @Override
    public boolean equals(Object o) {
        return o instanceof Region r && start == r.start && end == r.end && offset == r.offset && inode == r.inode
            && devMajor == r.devMajor && devMinor == r.devMinor && perms == r.perms && kind == r.kind
            && java.util.Objects.equals(path, r.path);
    }

    @Override
    public int hashCode() {
        int h = Long.hashCode(start);
        h = 31 * h + Long.hashCode(end);
        h = 31 * h + Long.hashCode(offset);
        h = 31 * h + Long.hashCode(inode);
        h = 31 * h + devMajor;
        h = 31 * h + devMinor;
        h = 31 * h + perms;
        h = 31 * h + java.util.Objects.hashCode(kind);
        return 31 * h + java.util.Objects.hashCode(path);
    }

    public long size() {
        return end - start;
    }

    public boolean contains(long address) {
        return Long.compareUnsigned(start, address) <= 0 && Long.compareUnsigned(address, end) < 0;
    }

    /** The maps-style permission string, e.g. "r-xp". */
    public String permsString() {
        return rights(perms) + ((perms & PRIVATE) != 0 ? 'p' : 's');
    }

    /** The read, write and execute rights of perms bits, e.g. "r-x". */
    public static String rights(int perms) {
        return new String(new char[] {
            (perms & READ) != 0 ? 'r' : '-',
            (perms & WRITE) != 0 ? 'w' : '-',
            (perms & EXEC) != 0 ? 'x' : '-'
        });
    }

    public static int parsePerms(String s) {
        if (s.length() != 4) {
            throw new IllegalArgumentException("permissions must be 4 characters like r-xp: " + s);
        }
        int p = 0;
        p |= s.charAt(0) == 'r' ? READ : 0;
        p |= s.charAt(1) == 'w' ? WRITE : 0;
        p |= s.charAt(2) == 'x' ? EXEC : 0;
        p |= s.charAt(3) == 'p' ? PRIVATE : 0;
        return p;
    }
}
