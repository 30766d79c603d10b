package dev.memsentry.agent;

import java.util.Objects;

/**
 * How to dump a process (ms_dump_options). Sizes are bytes; 0 means no limit.
 *
 * @param format          core (default), raw, or minidump (Windows only)
 * @param freeze          stop every thread for a consistent snapshot and their registers; always resumed
 * @param force           replace an existing file or link at the destination (a link is replaced, never followed)
 * @param suspiciousOnly  only executable anonymous regions and writable+executable ones
 * @param sync            fsync the file and its directory before reporting success
 * @param maxRegionSize   bytes per region (default 10 MiB, the seed's cap); 0 = no cap
 * @param maxTotalSize    bytes in all; 0 = no cap
 * @param skipNonexecOver skip non-executable regions larger than this; 0 = never
 * @param threads         threads streaming the dump; 0 = automatic (several for big dumps), a sweep that
 *                        dumps processes in parallel passes 1
 */
public record DumpOptions(DumpFormat format, boolean freeze, boolean force, boolean suspiciousOnly, boolean sync,
                          long maxRegionSize, long maxTotalSize, long skipNonexecOver, int threads) {

    /** MS_DUMP_DEFAULT_MAX_REGION. */
    public static final long DEFAULT_MAX_REGION = 10L << 20;

    public DumpOptions {
        Objects.requireNonNull(format, "format");
        if (maxRegionSize < 0 || maxTotalSize < 0 || skipNonexecOver < 0) {
            throw new IllegalArgumentException("sizes must not be negative");
        }
        if (threads < 0 || threads > 64) {
            throw new IllegalArgumentException("threads must be between 0 (automatic) and 64");
        }
    }

    public static DumpOptions defaults() {
        return new DumpOptions(DumpFormat.CORE, false, false, false, false, DEFAULT_MAX_REGION, 0, 0, 0);
    }

    public DumpOptions withFormat(DumpFormat f) {
        return new DumpOptions(f, freeze, force, suspiciousOnly, sync, maxRegionSize, maxTotalSize, skipNonexecOver, threads);
    }

    public DumpOptions withFreeze(boolean on) {
        return new DumpOptions(format, on, force, suspiciousOnly, sync, maxRegionSize, maxTotalSize, skipNonexecOver, threads);
    }

    public DumpOptions withForce(boolean on) {
        return new DumpOptions(format, freeze, on, suspiciousOnly, sync, maxRegionSize, maxTotalSize, skipNonexecOver, threads);
    }

    public DumpOptions withMaxRegionSize(long bytes) {
        return new DumpOptions(format, freeze, force, suspiciousOnly, sync, bytes, maxTotalSize, skipNonexecOver, threads);
    }

    public DumpOptions withThreads(int n) {
        return new DumpOptions(format, freeze, force, suspiciousOnly, sync, maxRegionSize, maxTotalSize, skipNonexecOver, n);
    }

    /** MS_DUMP_PRIVATE_DIR: the agent refuses a destination directory another user owns or may write. */
    static final int PRIVATE_DIR = 0x10;

    /** The ms_dump_options flags word. */
    int flags() {
        return (freeze ? 0x01 : 0) | (force ? 0x02 : 0) | (suspiciousOnly ? 0x04 : 0) | (sync ? 0x08 : 0);
    }
}
