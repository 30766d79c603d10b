package dev.memsentry.agent;

/** ms_header_kind: what lies at the start of a region. */
public enum HeaderKind {
    NONE, ELF, PE, MZ;

    public static HeaderKind fromCode(long code) {
        HeaderKind[] all = values();
        return code >= 0 && code < all.length ? all[(int) code] : NONE;
    }

    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
