package dev.memsentry.agent;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The C library behind the {@link Agent} interface. One instance owns one native handle. */
public final class NativeAgent implements Agent {
    /** The library's major version this orchestrator was written against. */
    static final int EXPECTED_MAJOR = 0;

    private static final int LOG_DEBUG = 0;
    private static final int LOG_INFO = 1;
    private static final int LOG_WARN = 2;

    /** Created at the first message: setting slf4j up costs a short command such as ps more than its work. */
    private static final class Log {
        static final Logger NATIVE = LoggerFactory.getLogger("memsentry.agent");
    }

    /** The least level the library passes on; -1: ask slf4j (which sets it up). */
    private static volatile int threshold = -1;

    private final long handle;
    private boolean closed;

    private NativeAgent(long handle) {
        this.handle = handle;
    }

    /** Opens a handle; the library must already be loaded (see {@link NativeLoader}). */
    public static NativeAgent open() {
        int version = NativeBridge.versionNumber();
        if (version / 1_000_000 != EXPECTED_MAJOR) {
            throw new AgentException(Status.UNSUPPORTED, "library version " + NativeBridge.version()
                + " does not match the orchestrator (expects " + EXPECTED_MAJOR + ".x)");
        }
        long[] out = new long[1];
        check(NativeBridge.open(out));
        NativeAgent agent = new NativeAgent(out[0]);
        int level = threshold >= 0 ? threshold
            : Log.NATIVE.isDebugEnabled() ? LOG_DEBUG : Log.NATIVE.isInfoEnabled() ? LOG_INFO : LOG_WARN;
        check(NativeBridge.setLog(out[0], NativeAgent::log, level));
        return agent;
    }

    /**
     * The level the program logs at ("debug", "info", ...), told by whoever configured logging, so
     * that opening an agent need not set slf4j up to ask; the library then passes on only messages
     * at that level or above.
     */
    public static void logLevel(String level) {
        threshold = switch (level.toLowerCase(java.util.Locale.ROOT)) {
            case "trace", "debug" -> LOG_DEBUG;
            case "info" -> LOG_INFO;
            default -> LOG_WARN;
        };
    }

    private static void log(int level, byte[] message) {
        String text = BytesText.decode(message);
        switch (level) {
            case LOG_DEBUG -> Log.NATIVE.debug(text);
            case LOG_INFO -> Log.NATIVE.info(text);
            case LOG_WARN -> Log.NATIVE.warn(text);
            default -> Log.NATIVE.error(text);
        }
    }

    /** The one place a native status becomes an exception. */
    static void check(int code) {
        if (code != 0) {
            throw new AgentException(Status.fromCode(code), BytesText.decode(NativeBridge.lastError()));
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("agent is closed");
        }
    }

    /**
     * The native handle, for the library's other JNI glue (the YARA engine in
     * dev.memsentry.detect.yara); never dereferenced in Java. Valid until {@link #close()}.
     */
    public long nativeHandle() {
        ensureOpen();
        return handle;
    }

    @Override
    public String backendName() {
        return "native";
    }

    @Override
    public String version() {
        return NativeBridge.version();
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(Capability.PROCESS_LIST, Capability.REGION_LIST, Capability.MEMORY_READ,
            Capability.TERMINATE, Capability.YARA, Capability.DUMP, Capability.INSPECT, Capability.TRACE,
            Capability.PROCESS_EVENTS);
    }

    private static NativeBridge.ProcessSink processSink(Predicate<ProcessInfo> sink) {
        return (pid, ppid, uid, flags, name, exe, cmdline) -> sink.test(new ProcessInfo(pid, ppid, uid, flags,
            BytesText.decode(name), BytesText.decode(exe), BytesText.splitNul(cmdline)));
    }

    @Override
    public void forEachProcess(Predicate<ProcessInfo> sink) {
        ensureOpen();
        int code = NativeBridge.listProcesses(handle, processSink(sink));
        if (code != Status.STOPPED.ordinal()) {
            check(code);
        }
    }

    @Override
    public ProcessInfo process(long pid) {
        ensureOpen();
        ProcessInfo[] found = new ProcessInfo[1];
        check(NativeBridge.getProcess(handle, pid, processSink(p -> {
            found[0] = p;
            return true;
        })));
        return found[0];
    }

    @Override
    public void forEachRegion(long pid, Predicate<Region> sink) {
        ensureOpen();
        int code = NativeBridge.listRegions(handle, pid, (start, end, offset, inode, major, minor, perms, kind, path) ->
            sink.test(new Region(start, end, offset, inode, major, minor, perms, RegionKind.fromCode(kind),
                BytesText.decode(path))));
        if (code != Status.STOPPED.ordinal()) {
            check(code);
        }
    }

    @Override
    public int readMemory(long pid, long address, byte[] buf, int offset, int length) {
        ensureOpen();
        java.util.Objects.checkFromIndexSize(offset, length, buf.length);
        long[] got = new long[1];
        int code = NativeBridge.readMemory(handle, pid, address, buf, offset, length, got);
        if (code == Status.PARTIAL_READ.ordinal() && got[0] > 0) {
            return (int) got[0];
        }
        check(code);
        return (int) got[0];
    }

    private static byte[] pathBytes(Region r) {
        return r.path().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Override
    public RegionProbe probeRegion(long pid, Region r) {
        ensureOpen();
        long[] nums = new long[8];
        byte[] head = new byte[16];
        byte[] section = new byte[8];
        check(NativeBridge.probeRegion(handle, pid, r.start(), r.end(), r.offset(), r.inode(), r.devMajor(),
            r.devMinor(), r.perms(), r.kind().ordinal(), pathBytes(r), nums, head, section));
        int len = (int) Math.max(0, Math.min(head.length, nums[5]));
        int sectionLen = 0;
        while (sectionLen < section.length && section[sectionLen] != 0) {
            sectionLen++;
        }
        return new RegionProbe(HeaderKind.fromCode(nums[0]), (int) nums[1], (int) nums[2], (int) nums[3], nums[4],
            java.util.Arrays.copyOf(head, len),
            new String(section, 0, sectionLen, java.nio.charset.StandardCharsets.US_ASCII), (int) nums[6], nums[7]);
    }

    @Override
    public List<ModuleInfo> modules(long pid) {
        ensureOpen();
        List<ModuleInfo> out = new java.util.ArrayList<>();
        check(NativeBridge.listModules(handle, pid, (start, execStart, inode, devMajor, devMinor, flags, ownerUid, mode,
                                                     processUid, elfType, path, soname, writableAt) ->
            out.add(new ModuleInfo(start, execStart, inode, devMajor, devMinor, flags, Integer.toUnsignedLong(ownerUid),
                mode, Integer.toUnsignedLong(processUid), elfType, BytesText.decode(path), BytesText.decode(soname),
                BytesText.decode(writableAt)))));
        return out;
    }

    @Override
    public CompareStats compareWithFile(long pid, Region r, int flags, long timeoutMs, Predicate<CodeDiff> sink) {
        ensureOpen();
        if (timeoutMs < 0) {
            throw new IllegalArgumentException("timeout must not be negative");
        }
        long[] stats = new long[5];
        int code = NativeBridge.compareRegion(handle, pid, r.start(), r.end(), r.offset(), r.inode(), r.devMajor(),
            r.devMinor(), r.perms(), r.kind().ordinal(), pathBytes(r), flags, timeoutMs,
            (page, first, bytes, mem, file) -> sink.test(new CodeDiff(page, first, bytes, mem, file)), stats);
        if (code != Status.STOPPED.ordinal()) {
            check(code);
        }
        return new CompareStats(stats[0], stats[1], stats[2], stats[3], stats[4]);
    }

    @Override
    public void forEachThread(long pid, Predicate<ThreadInfo> sink) {
        ensureOpen();
        int code = NativeBridge.listThreads(handle, pid, (tid, flags, syscall, sp, pc, name) ->
            sink.test(new ThreadInfo(tid, flags, syscall, sp, pc, BytesText.decode(name))));
        if (code != Status.STOPPED.ordinal()) {
            check(code);
        }
    }

    @Override
    public ContainerFacts containerFacts(long pid) {
        ensureOpen();
        long[] n = new long[5];
        byte[][] strings = new byte[3][];
        check(NativeBridge.processContainer(handle, pid, n, strings));
        return new ContainerFacts((int) n[0], text(strings[0]), text(strings[1]), text(strings[2]), n[1], n[2], n[3], n[4]);
    }

    private static String text(byte[] b) {
        return b == null ? "" : BytesText.decode(b);
    }

    @Override
    public ProcessFacts processFacts(long pid) {
        ensureOpen();
        long[] n = new long[8];
        byte[][] strings = new byte[2][];
        check(NativeBridge.processFacts(handle, pid, n, strings));
        return new ProcessFacts((int) n[0], n[1], n[2], n[3], (int) n[4], (int) n[5], n[6], n[7],
            text(strings[0]), text(strings[1]));
    }

    @Override
    public TerminationReport terminate(long pid, Duration grace, boolean dryRun) {
        return terminate(pid, -1, grace, dryRun);
    }

    @Override
    public ProcessPin pin(long pid) {
        ensureOpen();
        int[] fd = {-1};
        check(NativeBridge.pidfdOpen(pid, fd));
        return new ProcessPin(pid, fd[0], -1);
    }

    @Override
    public TerminationReport terminate(ProcessPin pin, Duration grace, boolean dryRun) {
        return terminate(pin.pid(), pin.pidfd(), grace, dryRun);
    }

    private TerminationReport terminate(long pid, int pidfd, Duration grace, boolean dryRun) {
        ensureOpen();
        if (grace.isNegative() || grace.compareTo(MAX_GRACE) > 0) {
            throw new IllegalArgumentException("grace must be between 0 and " + MAX_GRACE.toMinutes() + " minutes");
        }
        TerminationReport[] filled = new TerminationReport[1];
        int code = NativeBridge.terminate(handle, pid, pidfd, (int) grace.toMillis(), dryRun,
            (status, reportedPid, result, protection, signals, elapsedMs, reason) -> {
                List<String> names = new ArrayList<>();
                for (int s : signals) {
                    names.add(TerminationReport.signalName(s));
                }
                filled[0] = new TerminationReport(reportedPid, TerminationResult.fromCode(result),
                    ProtectionReason.fromCode(protection), names, elapsedMs, BytesText.decode(reason),
                    Status.fromCode(status));
            });
        if (filled[0] == null) {
            check(code); // the arguments were rejected before anything happened
            throw new AgentException(Status.INTERNAL, "terminate returned no report");
        }
        return filled[0];
    }

    @Override
    public Protection protection(long pid) {
        ensureOpen();
        Protection[] found = new Protection[1];
        check(NativeBridge.protectCheck(handle, pid,
            (reason, detail) -> found[0] = new Protection(ProtectionReason.fromCode(reason), BytesText.decode(detail))));
        return found[0];
    }

    /** The longest entry ms_protect_add accepts, in bytes. */
    static final int MAX_ENTRY_BYTES = 4095;

    @Override
    public void protect(String nameOrPath) {
        ensureOpen();
        byte[] bytes = nameOrPath.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > MAX_ENTRY_BYTES || nameOrPath.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("a protected name or path must be 1 to " + MAX_ENTRY_BYTES
                + " bytes without NUL characters");
        }
        check(NativeBridge.protectAdd(handle, bytes));
    }

    @Override
    public void clearProtected() {
        ensureOpen();
        check(NativeBridge.protectClear(handle));
    }

    @Override
    public void protectDefaults() {
        ensureOpen();
        check(NativeBridge.protectAddDefaults(handle));
    }

    @Override
    public List<ProtectedEntry> protectedEntries() {
        ensureOpen();
        List<ProtectedEntry> all = new ArrayList<>();
        check(NativeBridge.protectList(handle, (entry, isPath) -> all.add(new ProtectedEntry(BytesText.decode(entry), isPath))));
        return all;
    }

    private static boolean isWindows() {
        return System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).startsWith("windows");
    }

    @Override
    public DumpResult dump(long pid, java.nio.file.Path out, DumpOptions options, DumpListener listener,
                           CancelToken cancel) {
        ensureOpen();
        java.util.Objects.requireNonNull(out, "out");
        java.util.Objects.requireNonNull(options, "options");
        DumpListener l = listener == null ? DumpListener.NONE : listener;
        String text = out.toString();
        if (text.isEmpty() || text.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("output path must be non-empty and hold no NUL character");
        }
        byte[] path = text.getBytes(StandardCharsets.UTF_8);
        long[] limits = {options.maxRegionSize(), options.maxTotalSize(), options.skipNonexecOver(), options.threads()};
        long[] result = new long[13];
        NativeBridge.DumpRegionSink regions = !l.wantsRegions() ? null
            : (start, end, perms, kind, p, fileOffset, length, read, fromFile, hole, unreadable, status, reason, sha) -> {
                l.region(new DumpedRegion(start, end, perms, RegionKind.fromCode(kind), BytesText.decode(p), fileOffset,
                    length, read, fromFile, hole, unreadable, DumpRegionStatus.fromCode(status), BytesText.decode(reason),
                    sha));
                return true;
            };
        long flag = cancel == null ? 0 : NativeBridge.cancelNew();
        if (cancel != null && flag == 0) {
            throw new AgentException(Status.OUT_OF_MEMORY, "cancel flag");
        }
        int code;
        CancelToken.Registration reg = cancel == null ? () -> { } : cancel.onCancel(() -> NativeBridge.cancelSet(flag));
        try {
            // On Linux the agent checks the destination directory on the descriptor it then writes through.
            int flags = options.flags() | (isWindows() ? 0 : DumpOptions.PRIVATE_DIR);
            code = NativeBridge.dump(handle, pid, path, options.format().code(), flags, limits, flag,
                l == DumpListener.NONE ? null : l::progress, regions, result);
        } finally {
            reg.close(); // from here on no cancel can reach the flag
            if (flag != 0) {
                NativeBridge.cancelFree(flag);
            }
        }
        check(code);
        return DumpResult.of(result);
    }

    @Override
    public TraceSession openTrace(TraceOptions options, TraceListener listener) {
        ensureOpen();
        java.util.Objects.requireNonNull(options, "options");
        return NativeTraceSession.open(handle, options, listener);
    }

    @Override
    public ProcessEventSource processEvents(WatchOptions options) {
        ensureOpen();
        java.util.Objects.requireNonNull(options, "options");
        return NativeProcessEventSource.open(handle, options);
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            NativeBridge.close(handle);
        }
    }
}
