package dev.memsentry.agent;

import java.util.HexFormat;

/**
 * What ms_region_probe found at the start of a region: its header kind and, for a file-backed
 * region, the file system of the mapped file (Linux) or, with {@link #IMAGE_PROTECTION}, the image
 * section whose rights the region exceeds and those rights as {@code Region} perms bits (Windows;
 * "" and 0 otherwise). {@code head} holds at most the first 16 bytes.
 */
public record RegionProbe(HeaderKind header, int flags, int elfType, int machine, long fsMagic, byte[] head,
                          String imageSection, int imageSectionPerms, long elfEntry) {
    public static final int NOT_PRESENT = 0x1;
    public static final int UNREADABLE = 0x2;
    public static final int FROM_FILE = 0x4;
    public static final int FS_KNOWN = 0x8;
    public static final int ON_TMPFS = 0x10;
    public static final int IMAGE_PROTECTION = 0x20;
    /** ELF: the program headers in the first page were read ({@link #elfEntry()} is valid). */
    public static final int ELF_PHDRS = 0x40;
    /** ELF: a PT_INTERP program header, so a dynamically linked program rather than a library. */
    public static final int ELF_INTERP = 0x80;

    public RegionProbe {
        head = head.clone();
        java.util.Objects.requireNonNull(imageSection, "imageSection");
    }

    /** A probe without image facts, as every probe on Linux is. */
    public RegionProbe(HeaderKind header, int flags, int elfType, int machine, long fsMagic, byte[] head) {
        this(header, flags, elfType, machine, fsMagic, head, "", 0, 0);
    }

    /** A probe without ELF program facts (the stub's, Windows'). */
    public RegionProbe(HeaderKind header, int flags, int elfType, int machine, long fsMagic, byte[] head,
                       String imageSection, int imageSectionPerms) {
        this(header, flags, elfType, machine, fsMagic, head, imageSection, imageSectionPerms, 0);
    }

    /**
     * An ELF image of a program rather than a library: an executable (ET_EXEC), or one that names
     * a program interpreter. A static PIE, which has neither, looks like a library here.
     */
    public boolean elfProgram() {
        return header == HeaderKind.ELF && (elfType == 2 || (flags & ELF_INTERP) != 0);
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
