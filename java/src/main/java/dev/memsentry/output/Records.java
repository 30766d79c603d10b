package dev.memsentry.output;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memsentry.agent.ProcessInfo;
import dev.memsentry.agent.Region;
import dev.memsentry.agent.TerminationReport;
import dev.memsentry.container.Container;
import java.util.LinkedHashMap;
import java.util.Map;

/** JSON shapes of the agent's records, one place for every command that prints them. */
public final class Records {
    private Records() {
    }

    /** A process, and its container when it is in one (null: none). */
    public static void writeProcess(JsonObjectLines record, ProcessInfo p, Container container) {
        record.field("pid", p.pid())
            .field("ppid", p.ppid())
            .field("uid", p.uid())
            .field("name", p.name())
            .field("exe", p.exe())
            .field("cmdline", p.commandLine())
            .field("argv", p.cmdline())
            .field("kernel_thread", p.kernelThread())
            .field("exe_deleted", p.exeDeleted());
        if (container != null) {
            record.startObject("container");
            containerFields(container).forEach(record::field);
            record.endObject();
        }
    }

    /** A container: id, runtime, and the names the runtime's files gave (absent ones left out). */
    public static ObjectNode container(Container c) {
        ObjectNode o = Json.object();
        containerFields(c).forEach(o::put);
        return o;
    }

    private static Map<String, String> containerFields(Container c) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("id", c.id());
        o.put("runtime", c.runtime());
        if (c.metadata().name() != null) {
            o.put("name", c.metadata().name());
        }
        if (c.metadata().imageName() != null) {
            o.put("image", c.metadata().imageName());
        }
        if (!c.facts().podUid().isEmpty()) {
            o.put("pod_uid", c.facts().podUid());
        }
        if (c.metadata().podName() != null) {
            o.put("pod", c.metadata().podName());
        }
        if (c.metadata().podNamespace() != null) {
            o.put("namespace", c.metadata().podNamespace());
        }
        return o;
    }

    public static ObjectNode region(long pid, Region r) {
        ObjectNode o = Json.object();
        o.put("pid", pid);
        o.put("start", Json.hex(r.start()));
        o.put("end", Json.hex(r.end()));
        o.put("size", r.size());
        o.put("perms", r.permsString());
        o.put("offset", r.offset());
        o.put("dev", String.format("%02x:%02x", r.devMajor(), r.devMinor()));
        o.put("inode", r.inode());
        o.put("kind", r.kind().wireName());
        o.put("path", r.path());
        return o;
    }

    /** A kill result: pid, result, signals and elapsed_ms, plus why and how it was asked. */
    public static ObjectNode termination(TerminationReport r, boolean dryRun, long graceMs) {
        ObjectNode o = Json.object();
        o.put("pid", r.pid());
        o.put("result", r.result().wireName());
        r.signals().forEach(o.putArray("signals")::add);
        o.put("elapsed_ms", r.elapsedMs());
        o.put("protection", r.protection().wireName());
        o.put("reason", r.reason());
        o.put("dry_run", dryRun);
        o.put("grace_ms", graceMs);
        return o;
    }
}
