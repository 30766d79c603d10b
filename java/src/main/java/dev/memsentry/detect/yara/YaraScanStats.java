package dev.memsentry.detect.yara;

import java.time.Duration;

/**
 * What one process scan did. bytesRead came from the target's memory (present or swapped pages),
 * bytesFromFile from mapped files for pages not in memory, bytesZero are pages that are not in
 * memory and have no file (never touched). stopped: the sink asked to stop.
 */
public record YaraScanStats(long pid, int rulesMatched, long regions, long blocks, long blocksSkipped,
                            long bytesScanned, long bytesRead, long bytesFromFile, long bytesZero, long blockFetches,
                            Duration elapsed, boolean stopped) {
    static YaraScanStats of(long pid, long[] v, boolean stopped) {
        return new YaraScanStats(pid, (int) v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8],
            Duration.ofNanos(v[9]), stopped);
    }
}
