package dev.memsentry.agent;

import java.util.EnumSet;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Stands in when no backend could start, so that the CLI still runs, {@code doctor} can explain
 * why, and every operation fails with one clear message instead of a stack trace.
 */
public final class UnavailableAgent implements Agent {
    private final String reason;

    public UnavailableAgent(String reason) {
        this.reason = reason;
    }

    public String reason() {
        return reason;
    }

    private AgentException unavailable() {
        return new AgentException(Status.UNSUPPORTED, "no agent backend is available: " + reason);
    }

    @Override
    public String backendName() {
        return "none";
    }

    @Override
    public String version() {
        return "-";
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.noneOf(Capability.class);
    }

    @Override
    public void forEachProcess(Predicate<ProcessInfo> sink) {
        throw unavailable();
    }

    @Override
    public ProcessInfo process(long pid) {
        throw unavailable();
    }

    @Override
    public void forEachRegion(long pid, Predicate<Region> sink) {
        throw unavailable();
    }

    @Override
    public int readMemory(long pid, long address, byte[] buf, int offset, int length) {
        throw unavailable();
    }

    @Override
    public TerminationReport terminate(long pid, java.time.Duration grace, boolean dryRun) {
        throw unavailable();
    }

    @Override
    public ProcessPin pin(long pid) {
        throw unavailable();
    }

    @Override
    public TerminationReport terminate(ProcessPin pin, java.time.Duration grace, boolean dryRun) {
        throw unavailable();
    }

    @Override
    public Protection protection(long pid) {
        throw unavailable();
    }

    @Override
    public void protect(String nameOrPath) {
        throw unavailable();
    }

    @Override
    public void clearProtected() {
        throw unavailable();
    }

    @Override
    public void protectDefaults() {
        throw unavailable();
    }

    @Override
    public java.util.List<ProtectedEntry> protectedEntries() {
        throw unavailable();
    }

    @Override
    public void close() {
    }

    @Override
    public DumpResult dump(long pid, java.nio.file.Path out, DumpOptions options, DumpListener listener,
                           CancelToken cancel) {
        throw unavailable();
    }

    @Override
    public TraceSession openTrace(TraceOptions options, TraceListener listener) {
        throw new AgentException(Status.UNSUPPORTED, "tracing needs the native agent; no agent backend is available: "
            + reason);
    }
}
