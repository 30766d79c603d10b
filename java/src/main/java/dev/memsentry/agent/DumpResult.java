package dev.memsentry.agent;

/**
 * What a finished dump holds (ms_dump_result). Byte counts are of the process's address space:
 * read from the target, copied from mapped files for absent file-backed pages, holes (absent
 * anonymous pages, zeros, sparse in the file) and unreadable pages (zeros).
 */
public record DumpResult(int threads, boolean frozen, int regions, int regionsDumped, int regionsTruncated,
                         int regionsPartial, int regionsSkipped, long bytesDumped, long bytesRead,
                         long bytesFromFile, long bytesHole, long bytesUnreadable, long fileSize) {

    static DumpResult of(long[] r) {
        return new DumpResult((int) r[0], r[1] != 0, (int) r[2], (int) r[3], (int) r[4], (int) r[5], (int) r[6],
            r[7], r[8], r[9], r[10], r[11], r[12]);
    }
}
