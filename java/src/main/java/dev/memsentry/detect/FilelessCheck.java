package dev.memsentry.detect;

import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.Region;
import dev.memsentry.agent.RegionKind;
import dev.memsentry.agent.RegionProbe;
import dev.memsentry.agent.Status;
import dev.memsentry.output.Json;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Code without a file on disk: the executable is a memfd or was deleted; executable mappings of
 * memfds, of deleted files, or of files on tmpfs (/dev/shm, a tmpfs /tmp). A deleted file that
 * now has a successor at its path (a package upgrade) is reported two steps lower.
 */
final class FilelessCheck implements Check {
    private static final String DELETED = " (deleted)";

    @Override
    public List<Rule> rules() {
        return List.of(BuiltinRules.EXE_MEMFD, BuiltinRules.EXE_DELETED, BuiltinRules.MAP_MEMFD,
            BuiltinRules.MAP_DELETED, BuiltinRules.MAP_TMPFS);
    }

    @Override
    public void run(ProcessContext ctx, List<Finding> out) {
        DetectionPolicy policy = ctx.policy();
        String exe = ctx.info.exe();
        Region exeRegion = ctx.regions.stream().filter(ctx::isExecutableFile).findFirst().orElse(null);
        if (exe.startsWith("/memfd:")) {
            if (policy.enabled(BuiltinRules.EXE_MEMFD)) {
                Finding f = Finding.of(BuiltinRules.EXE_MEMFD, exeRegion, "process runs from " + exe);
                f.details().put("exe", exe);
                out.add(f);
            }
        } else if (ctx.info.exeDeleted() && policy.enabled(BuiltinRules.EXE_DELETED)) {
            boolean replaced = replacedOnDisk(ctx.pid, exe);
            Finding f = Finding.of(BuiltinRules.EXE_DELETED, exeRegion, "executable " + exe
                + (replaced ? "; a different file now sits at its path" : ""));
            f.details().put("exe", exe).put("replaced_on_disk", replaced);
            out.add(replaced ? f.lowered(2) : f);
        }

        Set<String> seen = new HashSet<>();
        boolean[] canProbe = {true};
        for (Region r : ctx.regions) {
            if (!r.executable()) {
                continue;
            }
            String file = r.devMajor() + ":" + r.devMinor() + ":" + r.inode();
            if (!seen.add(file)) {
                continue;
            }
            if (ctx.isExecutableFile(r) && r.kind() != RegionKind.FILE) {
                // The executable's own memfd or deleted file was reported above; tmpfs still counts.
                if (r.kind() == RegionKind.DELETED) {
                    tmpfs(ctx, r, out, canProbe);
                }
                continue;
            }
            switch (r.kind()) {
                case MEMFD -> {
                    if (policy.enabled(BuiltinRules.MAP_MEMFD)) {
                        Finding f = Finding.of(BuiltinRules.MAP_MEMFD, r, "code mapped from " + r.path());
                        f.details().put("file", r.path()).put("mappings", countMappings(ctx, r));
                        out.add(f);
                    }
                }
                case DELETED -> {
                    if (policy.enabled(BuiltinRules.MAP_DELETED)) {
                        boolean replaced = replacedOnDisk(ctx.pid, r.path());
                        Finding f = Finding.of(BuiltinRules.MAP_DELETED, r, "code mapped from " + r.path()
                            + (replaced ? "; a different file now sits at its path" : ""));
                        f.details().put("file", r.path()).put("replaced_on_disk", replaced)
                            .put("mappings", countMappings(ctx, r));
                        out.add(replaced ? f.lowered(2) : f);
                    }
                    tmpfs(ctx, r, out, canProbe);
                }
                case FILE -> tmpfs(ctx, r, out, canProbe);
                default -> {
                }
            }
        }
    }

    /** canProbe[0] turns false once the backend says it cannot probe: the other rules still run. */
    private static void tmpfs(ProcessContext ctx, Region r, List<Finding> out, boolean[] canProbe) {
        // Memory file systems have anonymous device numbers (major 0); disks do not need a look.
        if (r.devMajor() != 0 || !canProbe[0] || !ctx.policy().enabled(BuiltinRules.MAP_TMPFS)) {
            return;
        }
        ctx.deadline.check();
        RegionProbe p;
        try {
            p = ctx.probe(r);
        } catch (AgentException e) {
            if (e.status() != Status.UNSUPPORTED) {
                throw e;
            }
            ctx.session.unsupported(List.of(BuiltinRules.MAP_TMPFS), e.getMessage());
            canProbe[0] = false;
            return;
        }
        if (p != null && p.onTmpfs()) {
            Finding f = Finding.of(BuiltinRules.MAP_TMPFS, r, "code mapped from " + r.path() + " on tmpfs");
            f.details().put("file", r.path()).put("fs_magic", Json.hex(p.fsMagic()))
                .put("mappings", countMappings(ctx, r));
            out.add(f);
        }
    }

    private static long countMappings(ProcessContext ctx, Region like) {
        return ctx.regions.stream().filter(x -> x.inode() == like.inode() && x.devMajor() == like.devMajor()
            && x.devMinor() == like.devMinor()).count();
    }

    /** Whether something now exists at the deleted file's path, seen from the process's root. */
    static boolean replacedOnDisk(long pid, String pathWithSuffix) {
        String path = pathWithSuffix.endsWith(DELETED)
            ? pathWithSuffix.substring(0, pathWithSuffix.length() - DELETED.length()) : pathWithSuffix;
        if (!path.startsWith("/")) {
            return false;
        }
        try {
            return TargetRoot.resolve(pid, path).map(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).orElse(false);
        } catch (InvalidPathException | SecurityException e) {
            return false;
        }
    }
}
