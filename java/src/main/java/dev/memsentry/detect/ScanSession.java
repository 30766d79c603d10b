package dev.memsentry.detect;

import dev.memsentry.agent.Agent;
import dev.memsentry.container.ContainerCatalog;
import dev.memsentry.container.ContainerResolver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * State shared by every process of one scan run: the agent, the policy, who memsentry itself
 * is, host-wide findings already reported, and executable hashes already computed. Thread-safe.
 */
public final class ScanSession {
    private final Agent agent;
    private final DetectionPolicy policy;
    private final ProcessPins pins;
    private final long selfPid;
    private final String selfJar;
    private final Set<Object> reportedHostFiles = ConcurrentHashMap.newKeySet();
    private final Map<String, Optional<String>> hashes = new ConcurrentHashMap<>();
    private final Map<String, String> unsupported = new java.util.concurrent.ConcurrentSkipListMap<>();
    private final PackageFiles packageFiles = new PackageFiles();
    private final ContainerResolver containers;

    public ScanSession(Agent agent, DetectionPolicy policy) {
        this(agent, policy, null);
    }

    /** pins: where each process is pinned when its scan starts (for a kill response); null for none. */
    public ScanSession(Agent agent, DetectionPolicy policy, ProcessPins pins) {
        this(agent, policy, pins, new ContainerResolver(agent, ContainerCatalog.local()));
    }

    public ScanSession(Agent agent, DetectionPolicy policy, ProcessPins pins, ContainerResolver containers) {
        this.agent = agent;
        this.policy = policy;
        this.pins = pins;
        this.containers = containers;
        this.selfPid = ProcessHandle.current().pid();
        this.selfJar = ownJar();
    }

    /** Null when the scan pins nothing. */
    public ProcessPins pins() {
        return pins;
    }

    public Agent agent() {
        return agent;
    }

    /** Each process's container, shared by the scan's threads (the runtime metadata is cached). */
    public ContainerResolver containers() {
        return containers;
    }

    public DetectionPolicy policy() {
        return policy;
    }

    public long selfPid() {
        return selfPid;
    }

    /** The jar memsentry runs from, or null (running from classes, in tests). */
    public String selfJar() {
        return selfJar;
    }

    /** The jar this program runs from (null when not run from a jar): another memsentry runs the same one. */
    public static String ownJar() {
        try {
            Path p = Path.of(ScanSession.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return Files.isRegularFile(p) ? p.toAbsolutePath().toString() : null;
        } catch (Exception e) {
            return null;
        }
    }

    /**
     * Notes that the backend cannot feed these rules (the agent said unsupported), with its reason;
     * rules the policy switched off are left out. The first reason per rule is kept.
     */
    void unsupported(java.util.List<Rule> rules, String reason) {
        for (Rule r : rules) {
            if (policy.enabled(r)) {
                unsupported.putIfAbsent(r.id(), reason);
            }
        }
    }

    /** Rule id to the reason the backend could not run it, for the summary. */
    public Map<String, String> unsupportedRules() {
        return Map.copyOf(unsupported);
    }

    /** The package manager's file lists, read once per root file system in a run. */
    PackageFiles packageFiles() {
        return packageFiles;
    }

    /** True the first time a host-level file (such as one ld.so.preload) is reported. */
    boolean firstReport(Object fileKey) {
        return reportedHostFiles.add(fileKey);
    }

    /**
     * SHA-256 of a process's executable as the kernel holds it (/proc/PID/exe, which reaches a
     * deleted file or a memfd too), cached by file identity. Empty when it cannot be read.
     */
    public Optional<String> exeSha256(long pid, String identity) {
        return hashes.computeIfAbsent(identity, k -> sha256(Path.of("/proc", Long.toString(pid), "exe")));
    }

    static Optional<String> sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                sha.update(buf, 0, n);
            }
            return Optional.of(HexFormat.of().formatHex(sha.digest()));
        } catch (IOException | NoSuchAlgorithmException | SecurityException e) {
            return Optional.empty();
        }
    }
}
