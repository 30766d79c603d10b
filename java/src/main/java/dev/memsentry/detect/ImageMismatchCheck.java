package dev.memsentry.detect;

import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.Region;
import dev.memsentry.agent.RegionKind;
import dev.memsentry.agent.RegionProbe;
import dev.memsentry.agent.Status;
import dev.memsentry.agent.ThreadInfo;
import dev.memsentry.output.Json;
import java.util.ArrayList;
import java.util.List;

/**
 * A process that became another program in place: an ELF program image (an executable, or one
 * naming an interpreter; the agent reads the program headers of the region's first page) in
 * anonymous memory, while /proc/PID/exe still names the file the process was started from, and
 * that image is what runs: a thread's instruction pointer lies in it, or the original executable
 * is no longer mapped at all. One
 * finding per process naming the exe and the image, beside the generic anonymous-memory alerts.
 * A memfd executable is {@code fileless.exe_memfd}'s; libraries loaded by hand are
 * {@code memory.reflective_elf}'s.
 */
final class ImageMismatchCheck implements Check {
    @Override
    public List<Rule> rules() {
        return List.of(BuiltinRules.IMAGE_MISMATCH);
    }

    @Override
    public void run(ProcessContext ctx, List<Finding> out) {
        if (ctx.info.exe().isEmpty() || ctx.info.exe().startsWith("/memfd:")) {
            return;
        }
        List<Region> images = new ArrayList<>();
        for (Region r : ctx.regions) {
            if (r.kind() != RegionKind.ANONYMOUS || !r.readable()) {
                continue;
            }
            ctx.deadline.check();
            RegionProbe p = ctx.probe(r);
            if (p != null && p.elfProgram()) {
                images.add(r);
            }
        }
        if (images.isEmpty()) {
            return;
        }
        Region image = images.get(0);
        Region last = image;
        for (Region n = ctx.next(image); n != null && n.kind() == RegionKind.ANONYMOUS; n = ctx.next(n)) {
            last = n;
        }
        long imageEnd = last.end();
        boolean exeMapped = ctx.regions.stream().anyMatch(ctx::isExecutableFile);
        int threadsInImage = 0;
        try {
            for (ThreadInfo t : ctx.agent.threads(ctx.pid)) {
                if (t.registersKnown() && Long.compareUnsigned(t.pc(), image.start()) >= 0
                    && Long.compareUnsigned(t.pc(), imageEnd) < 0) {
                    threadsInImage++;
                }
            }
        } catch (AgentException e) {
            if (e.status() == Status.NO_SUCH_PROCESS) {
                throw e;
            }
        }
        if (exeMapped && threadsInImage == 0) {
            return; // a copy of a program lying around (memory.reflective_elf's), not what runs
        }
        RegionProbe p = ctx.probe(image);
        Finding f = Finding.of(BuiltinRules.IMAGE_MISMATCH, image, "/proc/" + ctx.pid + "/exe names " + ctx.info.exe()
            + " but an ELF program image lies in anonymous memory at " + Json.hex(image.start())
            + (exeMapped ? "" : "; the original image is no longer mapped")
            + (threadsInImage > 0 ? "; " + threadsInImage + " thread(s) run in it" : ""));
        f.details().put("exe", ctx.info.exe()).put("image_address", Json.hex(image.start()))
            .put("image_end", Json.hex(imageEnd))
            .put("elf_type", p.elfType() == 2 ? "executable" : "shared-object")
            .put("interpreter", (p.flags() & RegionProbe.ELF_INTERP) != 0)
            .put("entry", Json.hex(p.elfEntry()))
            .put("exe_mapped", exeMapped)
            .put("threads_in_image", threadsInImage)
            .put("images", images.size());
        out.add(f);
    }
}
