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
 * @param streaming        read large blocks while libyara already scans them (a second thread and
 *                         userfaultfd; it turns itself off where userfaultfd is refused). false reads
 *                         each block whole before it is scanned, as yara does. Results are the same.
 */
public record YaraScanOptions(Duration timeout, long maxBlockSize, int maxStringMatches, boolean streaming) {
    public static final YaraScanOptions DEFAULTS = new YaraScanOptions(Duration.ZERO, 0, 0, true);

    public YaraScanOptions(Duration timeout, long maxBlockSize, int maxStringMatches) {
        this(timeout, maxBlockSize, maxStringMatches, true);
    }

    public YaraScanOptions {
        if (timeout.isNegative() || maxBlockSize < 0 || maxStringMatches < 0) {
            throw new IllegalArgumentException("negative scan option");
        }
        if (timeout.toSeconds() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("timeout too large");
        }
    }

    public YaraScanOptions withTimeout(Duration t) {
        return new YaraScanOptions(t, maxBlockSize, maxStringMatches, streaming);
    }

    public YaraScanOptions withMaxBlockSize(long size) {
        return new YaraScanOptions(timeout, size, maxStringMatches, streaming);
    }

    public YaraScanOptions withStreaming(boolean on) {
        return new YaraScanOptions(timeout, maxBlockSize, maxStringMatches, on);
    }

    int timeoutSeconds() {
        if (timeout.isZero()) {
            return 0;
        }
        long s = timeout.toSeconds() + (timeout.toNanosPart() > 0 ? 1 : 0);
        return (int) Math.max(1, s);
    }
}
