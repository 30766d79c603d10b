package dev.memsentry.detect;

import dev.memsentry.agent.Region;
import dev.memsentry.agent.RegionKind;
import dev.memsentry.agent.ThreadInfo;
import dev.memsentry.output.Json;
import java.util.List;

/**
 * A thread whose instruction pointer lies in executable memory that no image file backs
 * (anonymous, heap, stack or memfd): the Linux form of "thread in non-image memory", which finds
 * implants that sleep between callbacks. Registers come from /proc/PID/task/TID/syscall, which
 * reports them for blocked threads only; a running thread is left alone.
 */
final class ThreadCheck implements Check {
    @Override
    public List<Rule> rules() {
        return List.of(BuiltinRules.THREAD_ANONYMOUS);
    }

    @Override
    public void run(ProcessContext ctx, List<Finding> out) {
        ctx.deadline.check();
        for (ThreadInfo t : ctx.agent.threads(ctx.pid)) {
            if (!t.registersKnown()) {
                continue;
            }
            Region r = ctx.regionAt(t.pc());
            if (r == null || !r.executable() || !(r.kind() == RegionKind.ANONYMOUS || r.kind() == RegionKind.HEAP
                || r.kind() == RegionKind.STACK || r.kind() == RegionKind.MEMFD)) {
                continue;
            }
            Finding f = Finding.of(BuiltinRules.THREAD_ANONYMOUS, r, "thread " + t.tid() + " (" + t.name()
                + ") has its instruction pointer at " + Json.hex(t.pc()) + " in " + r.kind().wireName() + " memory");
            f.details().put("tid", t.tid()).put("thread_name", t.name()).put("pc", Json.hex(t.pc()))
                .put("sp", Json.hex(t.sp()));
            if ((t.flags() & ThreadInfo.IN_SYSCALL) != 0) {
                f.details().put("syscall", t.syscall());
            }
            out.add(f);
        }
    }
}
