package dev.memsentry.agent;

import java.util.Locale;

/** ms_dump_region_status, in the C enum's order. */
public enum DumpRegionStatus {
    /** The whole region is in the file. */
    OK,
    /** Cut at the per-region or the total cap. */
    TRUNCATED,
    /** Some present pages could not be read: zeros in the file. */
    PARTIAL,
    /** Not in the file; the reason says why. */
    SKIPPED;

    public static DumpRegionStatus fromCode(int code) {
        DumpRegionStatus[] all = values();
        return code >= 0 && code < all.length ? all[code] : SKIPPED;
    }

    /** As ms_dump_region_status_name() gives it. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
