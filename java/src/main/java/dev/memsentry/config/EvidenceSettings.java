package dev.memsentry.config;

import dev.memsentry.agent.DumpFormat;
import java.nio.file.Path;

/**
 * How the dump responses keep evidence (the configuration's response.evidence_dir, dump_format,
 * max_region_size and freeze). A null field keeps the default; the command line overrides.
 *
 * @param evidenceDir   where the dumps go, already resolved against the configuration file's folder
 * @param format        core or raw
 * @param maxRegionSize bytes kept per region; 0 = no cap
 * @param freeze        stop the target's threads while it is read (native backend only)
 */
public record EvidenceSettings(Path evidenceDir, DumpFormat format, Long maxRegionSize, Boolean freeze) {
    public static final EvidenceSettings DEFAULTS = new EvidenceSettings(null, null, null, null);
}
