package dev.memsentry.detect;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.ProcessFacts;
import dev.memsentry.agent.ProcessInfo;
import dev.memsentry.agent.Region;
import dev.memsentry.agent.RegionKind;
import dev.memsentry.agent.RegionProbe;
import dev.memsentry.agent.Status;
import dev.memsentry.config.JitRuntime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** One process while it is scanned: its facts, regions, deadline and counters. One thread only. */
final class ProcessContext {
    final ScanSession session;
    final Agent agent;
    final long pid;
    final ProcessInfo info;
    final List<Region> regions;
    final ProcessFacts facts; // null when they could not be read
    final Deadline deadline;
    final Optional<JitRuntime> jit;
    final List<String> warnings = new ArrayList<>();
    long bytesCompared;
    long regionsProbed;
    private final Map<Long, RegionProbe> probes = new HashMap<>();

    ProcessContext(ScanSession session, ProcessInfo info, List<Region> regions, ProcessFacts facts, Deadline deadline) {
        this.session = session;
        this.agent = session.agent();
        this.pid = info.pid();
        this.info = info;
        this.regions = List.copyOf(regions);
        this.facts = facts;
        this.deadline = deadline;
        this.jit = jitRuntime(session.policy().jitRuntimes(), info, this.regions);
    }

    DetectionPolicy policy() {
        return session.policy();
    }

    /**
     * The first runtime whose library is mapped from a regular file, or whose name the executable
     * has. Libraries are tried first for every runtime: they are the stronger evidence.
     */
    static Optional<JitRuntime> jitRuntime(List<JitRuntime> runtimes, ProcessInfo info, List<Region> regions) {
        for (JitRuntime rt : runtimes) {
            for (Region r : regions) {
                if (r.kind() == RegionKind.FILE && rt.matchesLibrary(fileName(r.path()))) {
                    return Optional.of(rt);
                }
            }
        }
        if (info.exeDeleted() || info.exe().startsWith("/memfd:")) {
            return Optional.empty();
        }
        String exeName = fileName(info.exe());
        return runtimes.stream().filter(rt -> rt.matchesExecutable(exeName)).findFirst();
    }

    static String fileName(String path) {
        int slash = path.lastIndexOf('/');
        return slash >= 0 ? path.substring(slash + 1) : path;
    }

    Region regionAt(long address) {
        for (Region r : regions) {
            if (r.contains(address)) {
                return r;
            }
        }
        return null;
    }

    /** The region that follows r directly in the address space, or null. */
    Region next(Region r) {
        int i = regions.indexOf(r);
        if (i >= 0 && i + 1 < regions.size() && regions.get(i + 1).start() == r.end()) {
            return regions.get(i + 1);
        }
        return null;
    }

    boolean isExecutableFile(Region r) {
        return facts != null && facts.isExecutable(r);
    }

    /**
     * Probes a region once per scan; failures other than the process ending become null. A backend
     * that cannot probe at all throws UNSUPPORTED, so that the asking check is skipped whole.
     */
    RegionProbe probe(Region r) {
        if (probes.containsKey(r.start())) {
            return probes.get(r.start());
        }
        RegionProbe p = null;
        try {
            p = agent.probeRegion(pid, r);
            regionsProbed++;
        } catch (AgentException e) {
            if (e.status() == Status.NO_SUCH_PROCESS || e.status() == Status.UNSUPPORTED) {
                throw e;
            }
            warnings.add("probe of " + dev.memsentry.output.Json.hex(r.start()) + ": " + e.getMessage());
        }
        probes.put(r.start(), p);
        return p;
    }
}
