package dev.memsentry.agent;

import java.util.HexFormat;

/**
 * What ms_region_probe found at the start of a region: its header kind and, for a file-backed
 * region, the file system of the mapped file. {@code head} holds at most the first 16 bytes.
 */
public record RegionProbe(HeaderKind header, int flags, int elfType, int machine, long fsMagic, byte[] head) {
    public static final int NOT_PRESENT = 0x1;
    public static final int UNREADABLE = 0x2;
    public static final int FROM_FILE = 0x4;
    public static final int FS_KNOWN = 0x8;
    public static final int ON_TMPFS = 0x10;

    public RegionProbe {
        head = head.clone();
    }

    @Override
    public byte[] head() {
        return head.clone();
    }

    public boolean onTmpfs() {
        return (flags & ON_TMPFS) != 0;
    }

    public boolean notPresent() {
        return (flags & NOT_PRESENT) != 0;
    }

    public String headHex() {
        return HexFormat.of().formatHex(head);
    }
}
