package dev.memsentry.agent;

/** ms_region_kind, in the C enum's order. */
public enum RegionKind {
    ANONYMOUS, FILE, HEAP, STACK, VDSO, VVAR, VSYSCALL, MEMFD, DELETED, SHM;

    private final String wireName = name().toLowerCase(java.util.Locale.ROOT); // made once: written per alert

    public static RegionKind fromCode(int code) {
        RegionKind[] all = values();
        return code >= 0 && code < all.length ? all[code] : ANONYMOUS;
    }

    /** The lowercase name used in JSON and tables, as ms_region_kind_name() gives it. */
    public String wireName() {
        return wireName;
    }

    public static RegionKind fromWireName(String name) {
        return valueOf(name.toUpperCase(java.util.Locale.ROOT));
    }
}
