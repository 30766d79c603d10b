package dev.memsentry.agent;

/**
 * The container of a process as the kernel shows it (ms_process_container_get): the id and runtime
 * recognised in its cgroup path, the Kubernetes pod UID, its namespaces and its PID inside them.
 * Names and images are not here: they come from the runtimes' own files
 * ({@code dev.memsentry.container.ContainerCatalog}).
 *
 * @param id      64 hex digits, "" when not in a recognised container
 * @param runtime "docker", "containerd", "cri-o", "podman", "unknown" (a Kubernetes path that does not
 *                say), "none"
 * @param podUid  the Kubernetes pod UID, "" when not a pod
 * @param nsPid   the PID in the process's own PID namespace, -1 when unknown
 */
public record ContainerFacts(int flags, String id, String runtime, String podUid, long nsPid, long pidNs, long mntNs,
                             long userNs) {
    public static final int CGROUP_READ = 0x1;
    public static final int ID = 0x2;
    public static final int POD = 0x4;
    public static final int NS_KNOWN = 0x8;
    public static final int NSPID_KNOWN = 0x10;
    public static final int OTHER_NS = 0x20;

    public boolean has(int flag) {
        return (flags & flag) != 0;
    }

    /** Whether the process is in a container whose id is known. */
    public boolean inContainer() {
        return has(ID) && !id.isEmpty();
    }
}
