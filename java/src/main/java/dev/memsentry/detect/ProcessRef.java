package dev.memsentry.detect;

import dev.memsentry.agent.ContainerFacts;
import dev.memsentry.agent.ProcessInfo;
import dev.memsentry.container.Container;
import dev.memsentry.container.ContainerResolver;
import java.util.List;

/**
 * The process an alert or event is about, as ECS process.* (and container.*) fields. sha256 may be
 * null (not computed); container is null outside a recognised container; hostExecutable is the
 * executable as the host reaches it (through /proc/PID/root) when the process has a root or
 * namespace of its own, else null.
 */
public record ProcessRef(long pid, String name, String executable, List<String> args, String sha256,
                         Container container, String hostExecutable) {
    public ProcessRef {
        args = List.copyOf(args);
    }

    public ProcessRef(long pid, String name, String executable, List<String> args, String sha256) {
        this(pid, name, executable, args, sha256, null, null);
    }

    public static ProcessRef of(ProcessInfo p) {
        return new ProcessRef(p.pid(), p.name(), p.exe(), p.cmdline(), null);
    }

    /** The process with its container, as the resolver finds it (facts from the agent, names from the runtime). */
    public static ProcessRef of(ProcessInfo p, ContainerResolver containers) {
        ContainerFacts facts = containers.facts(p.pid());
        return of(p).inContainer(containers.container(facts).orElse(null),
            facts != null && facts.has(ContainerFacts.OTHER_NS));
    }

    public static ProcessRef pidOnly(long pid) {
        return new ProcessRef(pid, "", "", List.of(), null);
    }

    public String commandLine() {
        return String.join(" ", args);
    }

    public ProcessRef withSha256(String hash) {
        return new ProcessRef(pid, name, executable, args, hash, container, hostExecutable);
    }

    /**
     * This process in its container (null: none), seen from another root or namespace or not: the
     * host-side path of a containerised executable is /proc/PID/root followed by the path it sees.
     */
    public ProcessRef inContainer(Container c, boolean ownRoot) {
        String host = (c != null || ownRoot) && executable.startsWith("/") ? "/proc/" + pid + "/root" + executable : null;
        return new ProcessRef(pid, name, executable, args, sha256, c, host);
    }
}
