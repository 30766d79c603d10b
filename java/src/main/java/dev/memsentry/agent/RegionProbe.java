package dev.memsentry.agent;

import java.util.HexFormat;

/**
 * What ms_region_probe found at the start of a region: its header kind and, for a file-backed
 * region, the file system of the mapped file (Linux) or, with {@link #IMAGE_PROTECTION}, the image
 * section whose rights the region exceeds and those rights as {@code Region} perms bits (Windows;
 * "" and 0 otherwise). {@code head} holds at most the first 16 bytes.
 */
public record RegionProbe(HeaderKind header, int flags, int elfType, int machine, long fsMagic, byte[] head,
                          String imageSection, int imageSectionPerms) {
    public static final int NOT_PRESENT = 0x1;
    public static final int UNREADABLE = 0x2;
    public static final int FROM_FILE = 0x4;
    public static final int FS_KNOWN = 0x8;
    public static final int ON_TMPFS = 0x10;
    public static final int IMAGE_PROTECTION = 0x20;

    public RegionProbe {
        head = head.clone();
        java.util.Objects.requireNonNull(imageSection, "imageSection");
    }

    /** A probe without image facts, as every probe on Linux is. */
    public RegionProbe(HeaderKind header, int flags, int elfType, int machine, long fsMagic, byte[] head) {
        this(header, flags, elfType, machine, fsMagic, head, "", 0);
    }

    /** Windows: the region has write or execute rights its image section does not give. */
    public boolean imageProtectionExceeded() {
        return (flags & IMAGE_PROTECTION) != 0;
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
