package dev.memsentry.output;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memsentry.agent.DumpResult;
import dev.memsentry.agent.DumpedRegion;
import dev.memsentry.agent.Region;

/** JSON shapes of dump results: one per process, one per region, the sweep's summary. */
public final class DumpRecords {
    private DumpRecords() {
    }

    /** A process that was dumped; freezeFailed says why an asked-for freeze did not happen (null: no such thing). */
    public static ObjectNode dumped(long pid, String name, String file, String format, DumpResult r, long elapsedMs,
                                    String freezeFailed) {
        ObjectNode o = Json.object();
        o.put("pid", pid);
        o.put("name", name);
        o.put("status", "dumped");
        o.put("file", file);
        o.put("format", format);
        o.put("threads", r.threads());
        o.put("frozen", r.frozen());
        if (freezeFailed != null) {
            o.put("freeze_failed", freezeFailed);
        }
        o.put("regions", r.regions());
        o.put("regions_dumped", r.regionsDumped());
        o.put("regions_truncated", r.regionsTruncated());
        o.put("regions_partial", r.regionsPartial());
        o.put("regions_skipped", r.regionsSkipped());
        o.put("bytes_dumped", r.bytesDumped());
        o.put("bytes_read", r.bytesRead());
        o.put("bytes_from_file", r.bytesFromFile());
        o.put("bytes_hole", r.bytesHole());
        o.put("bytes_unreadable", r.bytesUnreadable());
        o.put("file_size", r.fileSize());
        o.put("elapsed_ms", elapsedMs);
        return o;
    }

    /** A process that was not dumped: status "skipped" (expected: vanished, denied, ...) or "failed". */
    public static ObjectNode notDumped(long pid, String name, String status, String reason, String detail) {
        ObjectNode o = Json.object();
        o.put("pid", pid);
        o.put("name", name);
        o.put("status", status);
        o.put("reason", reason);
        o.put("detail", detail);
        return o;
    }

    /** One region as the raw manifests spell it (docs/PROTOCOL.md "dump"), with the pid. */
    public static ObjectNode region(long pid, DumpedRegion r) {
        ObjectNode o = Json.object();
        o.put("pid", pid);
        o.put("start", Json.hex(r.start()));
        o.put("end", Json.hex(r.end()));
        o.put("perms", new Region(r.start(), r.end(), 0, 0, 0, 0, r.perms(), r.kind(), r.path()).permsString());
        o.put("kind", r.kind().wireName());
        o.put("path", r.path());
        o.put("file_offset", r.fileOffset());
        o.put("bytes", r.length());
        o.put("bytes_read", r.bytesRead());
        o.put("bytes_from_file", r.bytesFromFile());
        o.put("bytes_hole", r.bytesHole());
        o.put("bytes_unreadable", r.bytesUnreadable());
        o.put("status", r.status().wireName());
        if (r.status() != dev.memsentry.agent.DumpRegionStatus.OK) {
            o.put("reason", r.reason());
        }
        if (r.sha256() != null) {
            o.put("sha256", r.sha256());
        }
        return o;
    }
}
