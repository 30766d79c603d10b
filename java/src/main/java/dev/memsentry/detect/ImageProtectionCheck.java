package dev.memsentry.detect;

import dev.memsentry.agent.Region;
import dev.memsentry.agent.RegionKind;
import dev.memsentry.agent.RegionProbe;
import dev.memsentry.output.Json;
import java.util.List;

/**
 * Pages of a loaded image with rights its section does not give (Windows): executable data is
 * code staged where no code belongs, reported at full severity; writable code or headers are
 * what a patch or hook needs first (and what some packers and hot-patchers leave), one step lower.
 * The agent compares each image region with the section table of the file on disk and says so in
 * the region probe; this check turns that into findings.
 */
final class ImageProtectionCheck implements Check {
    @Override
    public List<Rule> rules() {
        return List.of(BuiltinRules.IMAGE_PROTECTION);
    }

    @Override
    public void run(ProcessContext ctx, List<Finding> out) {
        if (!ctx.policy().enabled(BuiltinRules.IMAGE_PROTECTION)) {
            return;
        }
        for (Region r : ctx.regions) {
            if (!candidate(r)) {
                continue;
            }
            ctx.deadline.check();
            Finding f = finding(r, ctx.probe(r));
            if (f != null) {
                out.add(f);
            }
        }
    }

    /**
     * Whether the agent may know section rights for r: a file view with write or execute rights
     * and no inode. Only the Windows agent compares images with their section tables, and its
     * regions carry no inode; a Linux file mapping always has one, so a Linux scan probes nothing
     * here.
     */
    static boolean candidate(Region r) {
        return r.kind() == RegionKind.FILE && r.inode() == 0 && (r.writable() || r.executable());
    }

    /** The finding for region r with probe p (null when the probe failed), or null. */
    static Finding finding(Region r, RegionProbe p) {
        if (p == null || !p.imageProtectionExceeded()) {
            return null;
        }
        int extra = r.perms() & (Region.WRITE | Region.EXEC) & ~p.imageSectionPerms();
        if (extra == 0) {
            return null; // the region changed between the listing and the probe
        }
        boolean executable = (extra & Region.EXEC) != 0;
        Finding f = Finding.of(BuiltinRules.IMAGE_PROTECTION, r, (executable ? "executable" : "writable")
            + " image pages at " + Json.hex(r.start()) + " of " + r.path() + " (" + Region.rights(r.perms())
            + ") where section " + p.imageSection() + " allows " + Region.rights(p.imageSectionPerms()));
        f.details().put("file", r.path())
            .put("section", p.imageSection())
            .put("section_rights", Region.rights(p.imageSectionPerms()))
            .put("rights", Region.rights(r.perms()))
            .put("rights_added", Region.rights(extra))
            .put("image_offset", r.offset());
        return executable ? f : f.lowered(1);
    }
}
