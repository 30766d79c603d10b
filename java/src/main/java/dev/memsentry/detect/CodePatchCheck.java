package dev.memsentry.detect;

import dev.memsentry.output.JsonFields;
import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.CodeDiff;
import dev.memsentry.agent.CompareStats;
import dev.memsentry.agent.Region;
import dev.memsentry.agent.RegionKind;
import dev.memsentry.output.Json;
import java.util.ArrayList;
import java.util.List;

/**
 * Code patching: the pages of private executable file mappings whose bytes differ from the
 * mapped file, compared by the agent page by page. By default only the pages the process holds a
 * private copy of are compared (an untouched page is the page cache's, so equal by construction);
 * scan.compare_all_pages compares every resident page.
 */
final class CodePatchCheck implements Check {
    static final int SAMPLES = 8;
    private static final long PAGE = 4096;

    @Override
    public List<Rule> rules() {
        return List.of(BuiltinRules.CODE_PATCHED);
    }

    @Override
    public void run(ProcessContext ctx, List<Finding> out) {
        int flags = ctx.policy().compareAllPages() ? Agent.COMPARE_ALL_PRESENT : 0;
        boolean deniedOnce = false;
        for (Region r : ctx.regions) {
            if (!r.executable() || (r.perms() & Region.PRIVATE) == 0 || !(r.kind() == RegionKind.FILE
                || r.kind() == RegionKind.DELETED || r.kind() == RegionKind.MEMFD)) {
                continue;
            }
            ctx.deadline.check();
            List<CodeDiff> diffs = new ArrayList<>();
            long[] bytes = {0};
            CompareStats stats;
            try {
                stats = ctx.agent.compareWithFile(ctx.pid, r, flags, ctx.deadline.remainingMillis(), d -> {
                    bytes[0] += d.diffBytes();
                    if (diffs.size() < SAMPLES) {
                        diffs.add(d);
                    }
                    return true;
                });
            } catch (AgentException e) {
                switch (e.status()) {
                    case NO_SUCH_PROCESS, UNSUPPORTED -> throw e;
                    case TIMEOUT -> throw new Deadline.ScanTimeoutException();
                    case ACCESS_DENIED -> {
                        if (!deniedOnce) {
                            ctx.warnings.add("code comparison denied (needs CAP_SYS_ADMIN or a readable file): "
                                + e.getMessage());
                            deniedOnce = true;
                        }
                    }
                    default -> ctx.warnings.add("code comparison of " + Json.hex(r.start()) + " " + r.path() + ": "
                        + e.getMessage());
                }
                continue;
            }
            ctx.bytesCompared += stats.compared() * PAGE;
            if (stats.differing() == 0 || diffs.isEmpty()) {
                continue;
            }
            CodeDiff first = diffs.get(0);
            Finding f = Finding.of(BuiltinRules.CODE_PATCHED, r, stats.differing() + " page(s) of " + r.path()
                + " differ from the file, first at " + Json.hex(first.firstDiff()));
            f.details()
                .put("file", r.path())
                .put("first_difference", Json.hex(first.firstDiff()))
                .put("file_offset", r.offset() + (first.firstDiff() - r.start()))
                .put("pages_differing", stats.differing())
                .put("bytes_differing", bytes[0])
                .put("pages_compared", stats.compared())
                .put("pages_private", stats.privateCopies());
            JsonFields.Array samples = f.details().putArray("samples");
            for (CodeDiff d : diffs) {
                samples.addObject()
                    .put("address", Json.hex(d.firstDiff()))
                    .put("bytes_differing", d.diffBytes())
                    .put("memory", d.memHex())
                    .put("file", d.fileHex());
            }
            out.add(f);
        }
    }
}
