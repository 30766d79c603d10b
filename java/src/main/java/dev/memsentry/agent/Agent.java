package dev.memsentry.agent;

import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * What the orchestrator asks of a backend. Implementations: {@link NativeAgent} (the C library
 * through JNI) and {@link UnavailableAgent} (no backend could start). Every failure is an
 * {@link AgentException} carrying the shared {@link Status}.
 */
public interface Agent extends AutoCloseable {

    /** "native", "stub" or "none". */
    String backendName();

    /** The backend's version string. */
    String version();

    Set<Capability> capabilities();

    /** Streams every visible process; the sink returns false to stop early. */
    void forEachProcess(Predicate<ProcessInfo> sink);

    default List<ProcessInfo> processes() {
        List<ProcessInfo> all = new java.util.ArrayList<>();
        forEachProcess(all::add);
        return all;
    }

    ProcessInfo process(long pid);

    /** Streams the regions of a process in address order; the sink returns false to stop early. */
    void forEachRegion(long pid, Predicate<Region> sink);

    default List<Region> regions(long pid) {
        List<Region> all = new java.util.ArrayList<>();
        forEachRegion(pid, all::add);
        return all;
    }

    /**
     * Reads a small range of another process's memory into buf (diagnostics and tests; dumps and
     * scans never bring target bytes into the Java heap). Returns the bytes read, fewer than
     * length when the range runs into unreadable memory; throws when nothing could be read.
     */
    int readMemory(long pid, long address, byte[] buf, int offset, int length);

    /** Flag for {@link #compareWithFile}: compare every resident page, not only the private copies. */
    int COMPARE_ALL_PRESENT = 0x1;

    /**
     * What lies at the start of a region (ELF/PE header) and, for file-backed regions, the file
     * system of the mapped file. Reads one page inside the agent; only 16 bytes come back.
     */
    default RegionProbe probeRegion(long pid, Region region) {
        throw new AgentException(Status.UNSUPPORTED, backendName() + " backend cannot probe regions");
    }

    /**
     * Compares a private file mapping with the mapped file page by page; each differing page goes
     * to the sink (false stops). timeoutMs 0 means none; past it the call throws TIMEOUT.
     */
    default CompareStats compareWithFile(long pid, Region region, int flags, long timeoutMs,
                                         Predicate<CodeDiff> sink) {
        throw new AgentException(Status.UNSUPPORTED, backendName() + " backend cannot compare code with files");
    }

    /** Streams the threads of a process with their registers where the kernel reports them. */
    default void forEachThread(long pid, Predicate<ThreadInfo> sink) {
        throw new AgentException(Status.UNSUPPORTED, backendName() + " backend cannot list threads");
    }

    default List<ThreadInfo> threads(long pid) {
        List<ThreadInfo> all = new java.util.ArrayList<>();
        forEachThread(pid, all::add);
        return all;
    }

    /** Tracer, LD_PRELOAD/LD_AUDIT and executable identity of a process. */
    default ProcessFacts processFacts(long pid) {
        throw new AgentException(Status.UNSUPPORTED, backendName() + " backend cannot read process facts");
    }

    /**
     * The files a process runs code from (ms_module_list): whether the executable's DT_NEEDED
     * closure brought each in, and who besides root can write it.
     */
    default List<ModuleInfo> modules(long pid) {
        throw new AgentException(Status.UNSUPPORTED, backendName() + " backend cannot list modules");
    }

    /** The longest grace the agent accepts before the forced kill (ms_terminate.h). */
    java.time.Duration MAX_GRACE = java.time.Duration.ofHours(1);

    /**
     * Terminates a process unless it is protected: the polite request, up to {@code grace} to
     * leave, then the forced kill, confirmed before returning. A zero grace kills at once. With
     * {@code dryRun} nothing is sent and the result says what would happen, protection included.
     * Refused, not-found and denied are results in the report, not exceptions.
     *
     * @throws IllegalArgumentException for a grace below zero or above {@link #MAX_GRACE}
     */
    TerminationReport terminate(long pid, java.time.Duration grace, boolean dryRun);

    /**
     * Pins a process so that a later {@link #terminate(ProcessPin, java.time.Duration, boolean)} can reach
     * no other process. Close the pin when done.
     *
     * @throws AgentException NO_SUCH_PROCESS when it is gone; UNSUPPORTED where processes cannot be
     *                        pinned (Windows, Linux before 5.3)
     */
    ProcessPin pin(long pid);

    /**
     * {@link #terminate(long, java.time.Duration, boolean)} of a pinned process: a process that has
     * exited since it was pinned is not-found and nothing is sent, whoever holds its PID now.
     */
    TerminationReport terminate(ProcessPin pin, java.time.Duration grace, boolean dryRun);

    /** Whether a process is protected from termination and why; nothing is sent. */
    Protection protection(long pid);

    /**
     * Adds an executable name or (with a path separator) an executable path to the protected list.
     *
     * @throws IllegalArgumentException for an empty entry, one holding a NUL byte, or one over 4095 bytes
     */
    void protect(String nameOrPath);

    /** Empties the configurable protected list, defaults included; the built-in rules stay. */
    void clearProtected();

    /** Adds the platform's default protected list back. */
    void protectDefaults();

    List<ProtectedEntry> protectedEntries();

    /**
     * Dumps a process to {@code out} (and, in the raw format, {@code out + ".json"}) as evidence:
     * mode 0600, written under a temporary name and renamed when complete, never replacing an
     * existing file unless {@link DumpOptions#force()}. The bytes go from the target to the file
     * inside the agent; the listener hears progress and per-region facts only.
     *
     * @throws AgentException with the status (access denied, no such process, exists, no space,
     *                        interrupted when {@code cancel} fired, ...); nothing is left at out then
     */
    DumpResult dump(long pid, java.nio.file.Path out, DumpOptions options, DumpListener listener, CancelToken cancel);

    /**
     * A session that traces the syscalls making memory executable (mmap, mprotect, munmap and
     * options.extraSyscalls) in one process at a time; see {@link TraceSession}.
     *
     * @throws AgentException INVALID_ARGUMENT for an unknown syscall name; UNSUPPORTED where the
     *                        backend cannot trace
     */
    default TraceSession openTrace(TraceOptions options, TraceListener listener) {
        throw new AgentException(Status.UNSUPPORTED, "tracing needs the native agent (the " + backendName()
            + " backend cannot trace)");
    }

    /**
     * A source of process events for {@code watch}; see {@link ProcessEventSource}.
     *
     * @throws AgentException UNSUPPORTED where the backend cannot follow processes; ACCESS_DENIED
     */
    default ProcessEventSource processEvents(WatchOptions options) {
        throw new AgentException(Status.UNSUPPORTED, backendName() + " backend cannot follow process events");
    }

    @Override
    void close();
}
