package dev.memsentry.detect;

import dev.memsentry.output.JsonFields;
import dev.memsentry.agent.ModuleInfo;
import dev.memsentry.agent.Region;
import dev.memsentry.output.Json;
import java.util.List;

/**
 * Files the process runs code from, judged by how they came (the executable's DT_NEEDED closure,
 * or later: dlopen, an injector) and by who can replace them (facts from ms_module_list, which
 * knows each file by its mapping's inode and trusts a path only after walking it in the
 * process's root):
 * <ul>
 *   <li>{@code inject.library_runtime}: a shared object loaded at run time; high where another
 *       user can write it, two steps lower where nobody can but it lies outside the system library
 *       directories, the program's own installation tree and every package's files (a plugin under
 *       /usr/lib stays quiet);
 *   <li>{@code inject.library_writable}: the executable or a library it needs, mapped from a place
 *       another user can write (others-writable directory such as /tmp, a foreign owner); one step
 *       lower when only the process's own user or a group can.
 * </ul>
 * One finding per file, so the same library never raises both.
 */
final class LibraryCheck implements Check {
    private static final int STRONG = ModuleInfo.WORLD_WRITABLE | ModuleInfo.OWNER_OTHER;
    private static final int WEAK = ModuleInfo.GROUP_WRITABLE | ModuleInfo.OWNER_SELF;

    @Override
    public List<Rule> rules() {
        return List.of(BuiltinRules.LIBRARY_RUNTIME, BuiltinRules.LIBRARY_WRITABLE);
    }

    @Override
    public void run(ProcessContext ctx, List<Finding> out) {
        DetectionPolicy policy = ctx.policy();
        for (ModuleInfo m : ctx.agent.modules(ctx.pid)) {
            ctx.deadline.check();
            boolean strong = (m.flags() & STRONG) != 0;
            boolean writable = strong || (m.flags() & WEAK) != 0;
            Region region = ctx.regionAt(m.execStart());
            if (m.loadedAtRunTime()) {
                if (!policy.enabled(BuiltinRules.LIBRARY_RUNTIME)) {
                    continue;
                }
                boolean system = m.has(ModuleInfo.PATH_VERIFIED) && PackageFiles.inSystemLibraryDir(m.path());
                if (!writable && (system || !m.has(ModuleInfo.PATH_VERIFIED) || inProgramTree(ctx.info.exe(), m.path())
                    || ctx.session.packageFiles().owns(ctx.pid, m.path()))) {
                    continue;
                }
                Finding f = Finding.of(BuiltinRules.LIBRARY_RUNTIME, region, "shared object " + m.path()
                    + " was loaded at run time (not in the executable's DT_NEEDED closure)"
                    + (writable ? " from a place " + who(m) + " can write: " + m.writableAt()
                        : ", from outside the system library directories and the packages' files"));
                details(f.details(), m).put("system_library_directory", system);
                if (!writable) {
                    f.details().put("packaged", false);
                }
                out.add(writable ? f : f.lowered(2));
            } else if (writable && policy.enabled(BuiltinRules.LIBRARY_WRITABLE)) {
                String what = m.has(ModuleInfo.MAIN) ? "executable " : m.has(ModuleInfo.CLOSURE_KNOWN) ? "needed library "
                    : "code file ";
                Finding f = Finding.of(BuiltinRules.LIBRARY_WRITABLE, region, what + m.path() + " is mapped from a place "
                    + who(m) + " can write: " + m.writableAt());
                details(f.details(), m);
                out.add(strong ? f : f.lowered(1));
            }
        }
    }

    /**
     * Whether path lies in the installation tree of the executable: its directory, or the one above
     * when that is bin, sbin or libexec (/opt/app/bin/app: /opt/app/). A program's own plugins and
     * extension modules live there (a pyenv Python's lib-dynload, an application's plugins).
     */
    static boolean inProgramTree(String exe, String path) {
        if (!exe.startsWith("/") || exe.endsWith(" (deleted)")) {
            return false;
        }
        java.nio.file.Path dir = java.nio.file.Path.of(exe).getParent();
        String name = dir == null || dir.getFileName() == null ? "" : dir.getFileName().toString();
        if (List.of("bin", "sbin", "libexec").contains(name) && dir.getParent() != null) {
            dir = dir.getParent();
        }
        if (dir == null || dir.getParent() == null) {
            return false; // never the whole file system
        }
        String prefix = dir.toString() + "/";
        return path.startsWith(prefix) && !path.contains("/../");
    }

    /** Who besides root can write the file, strongest first ("every user", "user 1000", ...). */
    static String who(ModuleInfo m) {
        if (m.has(ModuleInfo.WORLD_WRITABLE)) {
            return "every user";
        }
        if (m.has(ModuleInfo.OWNER_OTHER)) {
            return "another user";
        }
        if (m.has(ModuleInfo.GROUP_WRITABLE)) {
            return "a group";
        }
        return "the process's own user";
    }

    private static JsonFields details(JsonFields d, ModuleInfo m) {
        d.put("file", m.path()).put("address", Json.hex(m.execStart())).put("inode", m.inode())
            .put("device", m.devMajor() + ":" + m.devMinor());
        if (!m.soname().isEmpty()) {
            d.put("soname", m.soname());
        }
        d.put("loaded_at_run_time", m.loadedAtRunTime()).put("executable", m.has(ModuleInfo.MAIN))
            .put("path_verified", m.has(ModuleInfo.PATH_VERIFIED));
        JsonFields.Array by = d.putArray("writable_by");
        if (m.has(ModuleInfo.WORLD_WRITABLE)) {
            by.add("every user");
        }
        if (m.has(ModuleInfo.OWNER_OTHER)) {
            by.add("another user");
        }
        if (m.has(ModuleInfo.GROUP_WRITABLE)) {
            by.add("group");
        }
        if (m.has(ModuleInfo.OWNER_SELF)) {
            by.add("own user");
        }
        if (!m.writableAt().isEmpty()) {
            d.put("writable_at", m.writableAt());
        }
        if (m.has(ModuleInfo.FILE_KNOWN)) {
            d.put("owner_uid", m.ownerUid()).put("mode", String.format("%04o", m.mode() & 07777));
        }
        if (m.processUid() != 0xffffffffL) {
            d.put("process_uid", m.processUid());
        }
        return d;
    }
}
