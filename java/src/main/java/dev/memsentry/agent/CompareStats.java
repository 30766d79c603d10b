package dev.memsentry.agent;

/** Counters of one ms_region_compare_file call, in pages. */
public record CompareStats(long total, long resident, long privateCopies, long compared, long differing) {
}
