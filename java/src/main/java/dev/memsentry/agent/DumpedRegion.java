package dev.memsentry.agent;

/**
 * One region of a dumped process as it went into the file (ms_dump_region). Addresses are
 * unsigned 64-bit values in longs.
 *
 * @param fileOffset where its bytes start in the output
 * @param length     its bytes in the output, from {@code start}
 * @param sha256     hex digest of those bytes (raw format), or null
 */
public record DumpedRegion(long start, long end, int perms, RegionKind kind, String path, long fileOffset,
                           long length, long bytesRead, long bytesFromFile, long bytesHole, long bytesUnreadable,
                           DumpRegionStatus status, String reason, String sha256) {
}
