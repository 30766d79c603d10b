package dev.memsentry.watch;

import dev.memsentry.container.ContainerCatalog;
import dev.memsentry.container.ContainerResolver;
import dev.memsentry.container.ContainerScope;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which processes a watch may look at: {@code all}, {@code tree:PID} (that process and its
 * descendants, followed through fork events and, for a process first seen by its exec, its parent
 * links) or {@code cgroup:PATH} (processes whose cgroup is PATH or below it). Deciding reads only
 * /proc metadata (stat, cgroup); a process outside is never scanned, traced, dumped or signalled.
 * Thread-safe.
 */
public abstract class ProcessScope {
    /** How many parent links a tree lookup follows before it gives up (deeper chains are not in scope). */
    static final int MAX_DEPTH = 256;

    /** What --scope says, e.g. "tree:4242". */
    public abstract String describe();

    /** Whether pid (whose parent is ppid, or -1 if unknown) is in scope; parents are looked up in /proc. */
    public boolean admits(long pid, long ppid) {
        return admits(pid, ppid, ProcessScope::parentFromProc);
    }

    /**
     * Whether pid is in scope, with parentOf giving a process's parent (0 when unknown), e.g. from the
     * listing just made, so that deciding about a whole listing reads no more files.
     */
    public abstract boolean admits(long pid, long ppid, java.util.function.LongUnaryOperator parentOf);

    static long parentFromProc(long pid) {
        return ProcStat.read(pid).map(ProcStat::ppid).orElse(0L);
    }

    /** A fork event: the child of an in-scope parent joins a tree. */
    public void forked(long parent, long child) {
    }

    /** An exit event: the pid may be reused by an unrelated process. */
    public void exited(long pid) {
    }

    /** The scope ready to decide for agent's processes (a container scope needs the agent's facts). */
    public ProcessScope bind(dev.memsentry.agent.Agent agent) {
        return this;
    }

    /**
     * Parses --scope: "all", "tree:PID", "cgroup:PATH" (a cgroup v2 path as in /proc/PID/cgroup,
     * e.g. /system.slice/nginx.service) or "container:ID" (an id prefix or a name, as scan's).
     *
     * @throws IllegalArgumentException with a message naming what is wrong
     */
    public static ProcessScope parse(String text) {
        String s = text.trim();
        if (s.equals("all")) {
            return new All();
        }
        if (s.startsWith("tree:")) {
            long pid;
            try {
                pid = Long.parseLong(s.substring(5));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + text + "': tree:PID needs a process id");
            }
            if (pid < 1 || pid > 4_194_304) {
                throw new IllegalArgumentException("'" + text + "': not a valid process id");
            }
            return new Tree(pid);
        }
        if (s.startsWith("cgroup:")) {
            String path = s.substring(7);
            if (!path.startsWith("/") || path.contains("\n") || path.contains("/../") || path.endsWith("/..")) {
                throw new IllegalArgumentException("'" + text + "': cgroup:PATH needs an absolute cgroup path such as "
                    + "/system.slice/nginx.service");
            }
            return new Cgroup(path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path);
        }
        if (s.startsWith(ContainerScope.PREFIX)) {
            return new InContainer(ContainerScope.parse(s), null);
        }
        throw new IllegalArgumentException("'" + text + "' is not a scope (all, tree:PID, cgroup:PATH, container:ID)");
    }

    static final class All extends ProcessScope {
        @Override
        public String describe() {
            return "all";
        }

        @Override
        public boolean admits(long pid, long ppid, java.util.function.LongUnaryOperator parentOf) {
            return true;
        }
    }

    /** A process tree: members are remembered, so a descendant stays in scope when it is re-parented. */
    static final class Tree extends ProcessScope {
        private final long root;
        private final Set<Long> members = ConcurrentHashMap.newKeySet();

        Tree(long root) {
            this.root = root;
            members.add(root);
        }

        @Override
        public String describe() {
            return "tree:" + root;
        }

        @Override
        public boolean admits(long pid, long ppid, java.util.function.LongUnaryOperator parentOf) {
            if (members.contains(pid)) {
                return true;
            }
            long parent = ppid >= 0 ? ppid : parentOf.applyAsLong(pid);
            for (int depth = 0; parent > 1 && depth < MAX_DEPTH; depth++) {
                if (members.contains(parent)) {
                    members.add(pid);
                    return true;
                }
                parent = parentOf.applyAsLong(parent);
            }
            return false;
        }

        @Override
        public void forked(long parent, long child) {
            if (members.contains(parent)) {
                members.add(child);
            }
        }

        @Override
        public void exited(long pid) {
            if (pid != root) {
                members.remove(pid);
            }
        }
    }

    /** A cgroup v2 subtree, from /proc/PID/cgroup. */
    static final class Cgroup extends ProcessScope {
        private static final int MAX_BYTES = 64 * 1024;
        private final String path;

        Cgroup(String path) {
            this.path = path;
        }

        @Override
        public String describe() {
            return "cgroup:" + path;
        }

        @Override
        public boolean admits(long pid, long ppid, java.util.function.LongUnaryOperator parentOf) {
            return read(pid).map(this::covers).orElse(false);
        }

        /** Whether any line of a /proc/PID/cgroup text names path or a cgroup below it. */
        boolean covers(String cgroupFile) {
            for (String line : cgroupFile.split("\n")) {
                int second = line.indexOf(':', line.indexOf(':') + 1);
                if (second < 0) {
                    continue;
                }
                String p = line.substring(second + 1);
                if (p.equals(path) || path.equals("/") || p.startsWith(path + "/")) {
                    return true;
                }
            }
            return false;
        }

        private static Optional<String> read(long pid) {
            return ProcStat.readSmall(Path.of("/proc", Long.toString(pid), "cgroup"), MAX_BYTES);
        }
    }

    /** The processes of one container (scan's ContainerScope: an id prefix or a name), from the agent's facts. */
    static final class InContainer extends ProcessScope {
        private final ContainerScope container;
        private final ContainerResolver resolver;

        InContainer(ContainerScope container, ContainerResolver resolver) {
            this.container = container;
            this.resolver = resolver;
        }

        @Override
        public String describe() {
            return container.toString();
        }

        @Override
        public ProcessScope bind(dev.memsentry.agent.Agent agent) {
            return new InContainer(container, new ContainerResolver(agent, ContainerCatalog.local()));
        }

        @Override
        public boolean admits(long pid, long ppid, java.util.function.LongUnaryOperator parentOf) {
            if (resolver == null) {
                throw new IllegalStateException("a container scope decides only once bound to an agent");
            }
            return resolver.inScope(container, pid);
        }
    }
}
