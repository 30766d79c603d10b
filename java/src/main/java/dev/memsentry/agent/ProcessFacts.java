package dev.memsentry.agent;

/**
 * Facts about a process for the injection heuristics (ms_process_facts_get): tracer, the initial
 * environment's LD_PRELOAD and LD_AUDIT, and the executable's identity. Values that could not be
 * read are absent (flags clear, -1 counts).
 */
public record ProcessFacts(int flags, long tracerPid, long threads, long exeInode, int exeDevMajor, int exeDevMinor,
                           long exeFsMagic, long exeSize, String ldPreload, String ldAudit) {
    public static final int ENV_READ = 0x1;
    public static final int LD_PRELOAD = 0x2;
    public static final int LD_AUDIT = 0x4;
    public static final int EXE_KNOWN = 0x8;
    public static final int EXE_ON_TMPFS = 0x10;
    public static final int TRUNCATED = 0x20;

    public boolean has(int flag) {
        return (flags & flag) != 0;
    }

    /** Whether region maps the executable's own file (same device and inode). */
    public boolean isExecutable(Region r) {
        return has(EXE_KNOWN) && r.inode() == exeInode && r.devMajor() == exeDevMajor && r.devMinor() == exeDevMinor;
    }
}
