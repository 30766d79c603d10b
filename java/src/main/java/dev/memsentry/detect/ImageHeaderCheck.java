package dev.memsentry.detect;

import dev.memsentry.agent.HeaderKind;
import dev.memsentry.agent.Region;
import dev.memsentry.agent.RegionKind;
import dev.memsentry.agent.RegionProbe;
import dev.memsentry.output.Json;
import java.util.List;

/**
 * An ELF or PE header at the start of anonymous or memfd memory: an image loaded by hand. The
 * header bytes are read and classified by the agent; only 16 bytes come back. Full severity when
 * the image's memory is executable (the region, or the anonymous region right after it, as a
 * loader mapping segments one by one leaves it); one step lower otherwise.
 */
final class ImageHeaderCheck implements Check {
    @Override
    public List<Rule> rules() {
        return List.of(BuiltinRules.REFLECTIVE_ELF, BuiltinRules.REFLECTIVE_PE);
    }

    @Override
    public void run(ProcessContext ctx, List<Finding> out) {
        for (Region r : ctx.regions) {
            if (!r.readable() || (r.kind() != RegionKind.ANONYMOUS && r.kind() != RegionKind.MEMFD)) {
                continue;
            }
            // A memfd mapped at a later offset is a later segment: the header sits at offset 0.
            if (r.kind() == RegionKind.MEMFD && (r.offset() != 0 || ctx.isExecutableFile(r))) {
                continue;
            }
            ctx.deadline.check();
            RegionProbe p = ctx.probe(r);
            if (p == null || (p.header() != HeaderKind.ELF && p.header() != HeaderKind.PE)) {
                continue;
            }
            Rule rule = p.header() == HeaderKind.ELF ? BuiltinRules.REFLECTIVE_ELF : BuiltinRules.REFLECTIVE_PE;
            if (!ctx.policy().enabled(rule)) {
                continue;
            }
            Region next = ctx.next(r);
            boolean executable = r.executable()
                || (next != null && next.executable() && next.kind() == r.kind() && next.path().equals(r.path()));
            Finding f = Finding.of(rule, r, p.header().wireName().toUpperCase(java.util.Locale.ROOT) + " header at "
                + Json.hex(r.start()) + " in " + r.kind().wireName() + " memory" + (executable ? ", executable" : ""));
            f.details().put("header", p.header().wireName())
                .put("executable", executable)
                .put("head", p.headHex())
                .put("machine", p.machine());
            if (p.header() == HeaderKind.ELF) {
                f.details().put("elf_type", p.elfType() == 2 ? "executable" : p.elfType() == 3 ? "shared-object" : Integer.toString(p.elfType()));
            }
            out.add(executable ? f : f.lowered(1));
        }
    }
}
