package dev.memsentry.detect;

import dev.memsentry.agent.Region;

/** The memory region an alert points at (memsentry.region). */
public record AlertRegion(long start, long end, String perms, String path, String kind) {
    public static AlertRegion of(Region r) {
        return new AlertRegion(r.start(), r.end(), r.permsString(), r.path(), r.kind().wireName());
    }
}
