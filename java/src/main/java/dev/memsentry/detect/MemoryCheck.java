package dev.memsentry.detect;

import dev.memsentry.agent.Region;
import dev.memsentry.agent.RegionKind;
import java.util.List;

/**
 * Executable memory no file backs: anonymous executable regions (named [anon:...] ones
 * included), RWX mappings, an executable heap or stack. A writable and executable region is
 * reported once, as RWX (unless that rule is off).
 */
final class MemoryCheck implements Check {
    @Override
    public List<Rule> rules() {
        return List.of(BuiltinRules.EXEC_ANONYMOUS, BuiltinRules.RWX, BuiltinRules.EXEC_HEAP_STACK);
    }

    @Override
    public void run(ProcessContext ctx, List<Finding> out) {
        DetectionPolicy policy = ctx.policy();
        for (Region r : ctx.regions) {
            RegionKind kind = r.kind();
            if (!r.executable() || kind == RegionKind.VDSO || kind == RegionKind.VSYSCALL || kind == RegionKind.VVAR) {
                continue;
            }
            Finding f = null;
            if (kind == RegionKind.HEAP || kind == RegionKind.STACK) {
                if (policy.enabled(BuiltinRules.EXEC_HEAP_STACK)) {
                    f = Finding.of(BuiltinRules.EXEC_HEAP_STACK, r,
                        "executable " + r.path() + " (" + r.permsString() + ")");
                }
            } else if (r.writable() && policy.enabled(BuiltinRules.RWX)) {
                f = Finding.of(BuiltinRules.RWX, r, "writable and executable " + kind.wireName() + " memory at "
                    + dev.memsentry.output.Json.hex(r.start()) + " (" + r.permsString() + ")");
            } else if (kind == RegionKind.ANONYMOUS && policy.enabled(BuiltinRules.EXEC_ANONYMOUS)) {
                f = Finding.of(BuiltinRules.EXEC_ANONYMOUS, r, "executable anonymous memory at "
                    + dev.memsentry.output.Json.hex(r.start()) + " (" + r.permsString() + ", " + r.size() + " bytes)");
            }
            if (f != null) {
                f.details().put("anonymous", kind == RegionKind.ANONYMOUS);
                if (r.path().startsWith("[anon")) {
                    f.details().put("anon_name", r.path());
                }
                out.add(f);
            }
        }
    }
}
