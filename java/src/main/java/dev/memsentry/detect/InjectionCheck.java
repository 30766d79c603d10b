package dev.memsentry.detect;

import dev.memsentry.output.JsonFields;
import dev.memsentry.agent.ProcessFacts;
import dev.memsentry.agent.Region;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * Injection hints: LD_PRELOAD or LD_AUDIT in the initial environment, a non-empty
 * /etc/ld.so.preload in the process's root (reported once per file for the whole scan), and a
 * ptrace tracer that is neither a known debugger nor memsentry itself.
 */
final class InjectionCheck implements Check {
    private static final int PRELOAD_FILE_MAX = 4096;
    /** The rules that need the agent's process facts; without them these say nothing. */
    static final List<Rule> FACT_RULES = List.of(BuiltinRules.LD_PRELOAD, BuiltinRules.TRACER);

    @Override
    public List<Rule> rules() {
        return List.of(BuiltinRules.LD_PRELOAD, BuiltinRules.LD_SO_PRELOAD, BuiltinRules.TRACER);
    }

    @Override
    public void run(ProcessContext ctx, List<Finding> out) {
        ProcessFacts facts = ctx.facts;
        DetectionPolicy policy = ctx.policy();
        if (facts != null && policy.enabled(BuiltinRules.LD_PRELOAD)) {
            preloadVariable(ctx, "LD_PRELOAD", facts.has(ProcessFacts.LD_PRELOAD) ? facts.ldPreload() : "", out);
            preloadVariable(ctx, "LD_AUDIT", facts.has(ProcessFacts.LD_AUDIT) ? facts.ldAudit() : "", out);
        }
        if (policy.enabled(BuiltinRules.LD_SO_PRELOAD)) {
            ldSoPreload(ctx, out);
        }
        if (facts != null && facts.tracerPid() > 0 && policy.enabled(BuiltinRules.TRACER)) {
            tracer(ctx, facts.tracerPid(), out);
        }
    }

    private static void preloadVariable(ProcessContext ctx, String variable, String value, List<Finding> out) {
        if (value.isBlank()) {
            return;
        }
        List<String> libraries = splitLibraries(value);
        Finding f = Finding.of(BuiltinRules.LD_PRELOAD, null, variable + "=" + value);
        f.details().put("variable", variable).put("value", value);
        JsonFields.Array libs = f.details().putArray("libraries");
        for (String lib : libraries) {
            Region mapped = mappedLibrary(ctx, lib);
            libs.addObject().put("name", lib).put("mapped", mapped != null)
                .put("mapped_path", mapped == null ? null : mapped.path());
        }
        out.add(f);
    }

    /** ld.so splits these lists on spaces and colons. */
    static List<String> splitLibraries(String value) {
        List<String> out = new ArrayList<>();
        for (String s : value.split("[ :]+")) {
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        return out;
    }

    /** The region mapping the library: by full path, or by file name for a bare name. */
    private static Region mappedLibrary(ProcessContext ctx, String lib) {
        for (Region r : ctx.regions) {
            String path = r.path();
            if (path.equals(lib) || (!lib.contains("/") && ProcessContext.fileName(path).equals(lib))) {
                return r;
            }
        }
        return null;
    }

    private static void ldSoPreload(ProcessContext ctx, List<Finding> out) {
        Path file = TargetRoot.resolve(ctx.pid, "/etc/ld.so.preload").orElse(null);
        if (file == null) {
            return;
        }
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException | SecurityException e) {
            return; // absent (the normal case), or the root is not reachable
        }
        if (!attrs.isRegularFile() || attrs.size() == 0) {
            return;
        }
        String content;
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            content = new String(in.readNBytes(PRELOAD_FILE_MAX), StandardCharsets.UTF_8);
        } catch (IOException | SecurityException e) {
            ctx.warnings.add("cannot read " + file + ": " + e.getMessage());
            return;
        }
        List<String> libraries = new ArrayList<>();
        for (String line : content.split("\n")) {
            String l = line.strip();
            if (!l.isEmpty() && !l.startsWith("#")) {
                libraries.addAll(splitLibraries(l));
            }
        }
        Object key = attrs.fileKey() != null ? attrs.fileKey() : file.toString();
        if (libraries.isEmpty() || !ctx.session.firstReport(key)) {
            return;
        }
        Finding f = Finding.of(BuiltinRules.LD_SO_PRELOAD, null, "/etc/ld.so.preload lists " + String.join(", ", libraries));
        f.details().put("file", "/etc/ld.so.preload").put("seen_through", file.toString()).put("content", content);
        JsonFields.Array libs = f.details().putArray("libraries");
        for (String lib : libraries) {
            libs.addObject().put("name", lib).put("mapped_here", mappedLibrary(ctx, lib) != null);
        }
        out.add(f);
    }

    private static void tracer(ProcessContext ctx, long tracerPid, List<Finding> out) {
        TracerFinding.of(ctx.agent, ctx.policy(), tracerPid, ctx.session.selfPid(), ctx.session.selfJar())
            .ifPresent(out::add);
    }
}
