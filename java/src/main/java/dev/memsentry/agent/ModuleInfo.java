package dev.memsentry.agent;

/**
 * A file a process runs code from (ms_module_list): its identity (device, inode), its first and
 * first executable mapping, what the executable's DT_NEEDED closure says of it, and who besides
 * root can write it (the file, or, when the path was verified in the process's root, a directory
 * on it; {@code writableAt} names the first such place).
 *
 * @param ownerUid   the mapped file's owner when {@link #FILE_KNOWN}
 * @param processUid the process's effective uid; 4294967295 when unknown
 */
public record ModuleInfo(long start, long execStart, long inode, int devMajor, int devMinor, int flags, long ownerUid,
                         int mode, long processUid, int elfType, String path, String soname, String writableAt) {
    public static final int MAIN = 0x1;
    public static final int INTERP = 0x2;
    public static final int NEEDED = 0x4;
    public static final int CLOSURE_KNOWN = 0x8;
    public static final int ELF = 0x10;
    public static final int PATH_VERIFIED = 0x20;
    public static final int FILE_KNOWN = 0x40;
    public static final int WORLD_WRITABLE = 0x80;
    public static final int GROUP_WRITABLE = 0x100;
    public static final int OWNER_OTHER = 0x200;
    public static final int OWNER_SELF = 0x400;
    public static final int NAMES_TRUNCATED = 0x800;

    public boolean has(int flag) {
        return (flags & flag) != 0;
    }

    /** A shared object the process loaded after it started: not the executable, its interpreter or its closure. */
    public boolean loadedAtRunTime() {
        return has(CLOSURE_KNOWN) && has(ELF) && elfType == 3 && !has(NEEDED) && !has(MAIN) && !has(INTERP);
    }
}
