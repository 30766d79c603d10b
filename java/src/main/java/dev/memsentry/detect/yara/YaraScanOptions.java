package dev.memsentry.detect.yara;

import java.time.Duration;

/**
 * Per-process scan options.
 *
 * @param timeout          the per-process deadline (whole seconds, as libyara counts); zero for none
 * @param maxBlockSize     the largest block: larger mappings are scanned in blocks of this size from
 *                         their start, as {@code yara --max-process-memory-chunk} does; it bounds the
 *                         memory each scanner uses. 0 takes libyara's setting (1 GiB), the value a plain
 *                         {@code yara RULES PID} uses, so results are identical to it
 * @param maxStringMatches string matches reported per rule (0: 1000)
 */
public record YaraScanOptions(Duration timeout, long maxBlockSize, int maxStringMatches) {
    public static final YaraScanOptions DEFAULTS = new YaraScanOptions(Duration.ZERO, 0, 0);

    public YaraScanOptions {
        if (timeout.isNegative() || maxBlockSize < 0 || maxStringMatches < 0) {
            throw new IllegalArgumentException("negative scan option");
        }
        if (timeout.toSeconds() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("timeout too large");
        }
    }

    public YaraScanOptions withTimeout(Duration t) {
        return new YaraScanOptions(t, maxBlockSize, maxStringMatches);
    }

    public YaraScanOptions withMaxBlockSize(long size) {
        return new YaraScanOptions(timeout, size, maxStringMatches);
    }

    int timeoutSeconds() {
        if (timeout.isZero()) {
            return 0;
        }
        long s = timeout.toSeconds() + (timeout.toNanosPart() > 0 ? 1 : 0);
        return (int) Math.max(1, s);
    }
}
