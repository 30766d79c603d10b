package dev.memsentry.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.CancelToken;
import dev.memsentry.agent.DumpFormat;
import dev.memsentry.agent.DumpListener;
import dev.memsentry.agent.DumpOptions;
import dev.memsentry.agent.DumpResult;
import dev.memsentry.agent.FreezeFallback;
import dev.memsentry.agent.DumpedRegion;
import dev.memsentry.agent.ProcessInfo;
import dev.memsentry.agent.Status;
import dev.memsentry.container.Container;
import dev.memsentry.container.ContainerCatalog;
import dev.memsentry.container.ContainerResolver;
import dev.memsentry.output.DumpRecords;
import dev.memsentry.output.EvidenceFiles;
import dev.memsentry.output.JsonLines;
import dev.memsentry.output.Records;
import dev.memsentry.output.TerminalText;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "dump",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
        "Dump the memory of one process (--pid) or of every process (--all) to evidence files.",
        "",
        "Formats: core (default), an ELF core file that gdb opens ('gdb EXE -c FILE'); raw, the regions' bytes "
            + "back to back plus FILE.json, a manifest with each region's addresses, offset in the file, status "
            + "and SHA-256; minidump (Windows only), a MiniDumpWriteDump file with full memory that WinDbg opens, "
            + "named .dmp (--max-region-size does not apply to it; the other size options, --suspicious-only, --freeze "
            + "and --sync are refused). On Linux --format minidump is refused with one "
            + "line and exit code 3, as the agent cannot write it.",
        "",
        "Only pages present in the target are read from it, so dumping never allocates memory there; absent pages "
            + "of mapped files are copied from the files, absent anonymous pages are zeros written as holes. Each "
            + "region is cut at --max-region-size (default 10M; 0 = no cap). Files are created mode 0600 under a "
            + "temporary name and renamed when complete; an existing file or link is refused unless --force.",
        "",
        "--all dumps every process but kernel threads and memsentry itself on a pool of --parallel threads. "
            + "Processes that vanish, deny access or have no memory left are skipped with a WARN; a summary line "
            + "ends the run. Progress is drawn on standard error when it is a terminal.",
        "",
        "Exit codes: 0 dumped (--all: every process dumped or skipped for one of those reasons); 2 bad input; "
            + "3 the dump failed (--all: at least one process failed otherwise), or the format is not written on "
            + "this system."})
final class DumpCommand implements Callable<Integer> {
    /** Apart, so that slf4j is set up only when a dump has something to warn about. */
    private static final class Log {
        static final Logger LOG = LoggerFactory.getLogger("memsentry.dump");
    }

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    static final class Target {
        @Option(names = {"-p", "--pid"}, required = true, paramLabel = "PID", converter = PidConverter.class,
            description = "The process to dump.")
        Long pid;

        @Option(names = "--all", required = true, description = "Every process (needs --out-dir).")
        boolean all;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE",
        description = "Output file for --pid (default NAME.PID.core, .raw or .dmp in --out-dir or the current directory); "
            + "its directory must be yours and writable by no one else.")
    Path out;

    @Option(names = "--out-dir", paramLabel = "DIR",
        description = "Directory for the files (created 0700 when missing; must be yours and writable by no one else); "
            + "one file NAME.PID.FORMAT per process.")
    Path outDir;

    @Option(names = "--format", defaultValue = "core", paramLabel = "core|raw|minidump",
        description = "core (default), raw, or minidump (Windows only).")
    DumpFormat format;

    @Option(names = "--max-region-size", defaultValue = "10M", paramLabel = "SIZE", converter = SizeConverter.class,
        description = "Bytes kept per region (default ${DEFAULT-VALUE}; 0 = no cap). Examples: 4096, 512K, 10M, 1G.")
    long maxRegionSize;

    @Option(names = "--max-total-size", defaultValue = "0", paramLabel = "SIZE", converter = SizeConverter.class,
        description = "Bytes kept per process in all (default 0 = no cap).")
    long maxTotalSize;

    @Option(names = "--skip-nonexec-over", defaultValue = "0", paramLabel = "SIZE", converter = SizeConverter.class,
        description = "Skip non-executable regions larger than SIZE (default 0 = never).")
    long skipNonexecOver;

    @Option(names = "--suspicious-only",
        description = "Only executable anonymous regions (heap, stack, memfd, deleted files too) and writable+executable ones.")
    boolean suspiciousOnly;

    @Option(names = "--freeze",
        description = "Stop every thread of the target while it is read (a consistent snapshot, and registers in the "
            + "core); always resumed, on errors and Ctrl-C too.")
    boolean freeze;

    @Option(names = "--force", description = "Replace an existing output file (a symbolic link is replaced, never followed).")
    boolean force;

    @Option(names = "--sync", description = "fsync each file and its directory before reporting it.")
    boolean sync;

    @Option(names = "--parallel", paramLabel = "N",
        description = "--all: processes dumped at once (default: the number of processors).")
    Integer parallel;

    @Option(names = "--json",
        description = "One JSON object per process (status dumped, skipped or failed), then {\"summary\": ...}.")
    boolean json;

    @Option(names = "--regions", description = "With --json: also one object per region of each dumped process.")
    boolean regions;

    @Option(names = "--no-progress", description = "Never draw the progress bar.")
    boolean noProgress;

    private PrintWriter stdout;
    private JsonLines jsonOut;

    @Override
    public Integer call() {
        validate();
        refuseFormatNotWrittenHere(format, System.getProperty("os.name", ""));
        stdout = spec.commandLine().getOut();
        jsonOut = json ? new JsonLines(stdout) : null; // Jackson loads only when asked for
        // A sweep runs processes in parallel already: one thread per dump there.
        DumpOptions options = new DumpOptions(format, freeze, force, suspiciousOnly, sync, maxRegionSize, maxTotalSize,
            skipNonexecOver, target.all ? 1 : 0);
        Agent agent = main.agent();
        CancelToken cancel = new CancelToken();
        ExecutorService pool = target.all ? Executors.newFixedThreadPool(threads(), r -> {
            Thread t = new Thread(r, "memsentry-dump");
            t.setDaemon(true);
            return t;
        }) : null;
        // Ctrl-C: cancel the running dumps and wait for them, so every frozen target is resumed
        // and every temporary file removed before the JVM goes.
        Thread hook = new Thread(() -> {
            cancel.cancel();
            if (pool != null) {
                pool.shutdownNow();
                awaitQuietly(pool, 30);
            }
            synchronized (this) {
                // The single dump holds this monitor while it runs.
            }
        }, "memsentry-dump-cancel");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return target.all ? dumpAll(agent, options, cancel, pool) : dumpOne(agent, options, cancel);
        } finally {
            if (pool != null) {
                pool.shutdownNow();
            }
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // The hook is running and will finish the cancellation.
            }
        }
    }

    private void validate() {
        if (target.all) {
            if (outDir == null) {
                throw new ParameterException(spec.commandLine(), "--all needs --out-dir");
            }
            if (out != null) {
                throw new ParameterException(spec.commandLine(), "--out names one file: use --out-dir with --all");
            }
        } else if (parallel != null) {
            throw new ParameterException(spec.commandLine(), "--parallel applies to --all only");
        }
        if (parallel != null && (parallel < 1 || parallel > 256)) {
            throw new ParameterException(spec.commandLine(), "--parallel: between 1 and 256");
        }
        if (regions && !json) {
            throw new ParameterException(spec.commandLine(), "--regions needs --json");
        }
    }

    /**
     * Refuses up front a format this system's agent cannot write: every process would fail the
     * same way, and a sweep would count them as skipped.
     */
    static void refuseFormatNotWrittenHere(DumpFormat format, String osName) {
        if (!format.writtenOn(osName)) {
            throw new AgentException(Status.UNSUPPORTED, "--format " + format.wireName() + " is written on "
                + (format == DumpFormat.MINIDUMP ? "Windows only (MiniDumpWriteDump); use core or raw here"
                    : "Linux only; use raw or minidump here"));
        }
    }

    private int threads() {
        return parallel != null ? parallel : Runtime.getRuntime().availableProcessors();
    }

    static String fileName(String processName, long pid, DumpFormat format) {
        return EvidenceFiles.fileName(processName, pid, format);
    }

    /** --out-dir (or the current directory), which must be the running user's alone: a usage error otherwise. */
    private Path outputDirectory() {
        try {
            return EvidenceFiles.prepareDirectory(outDir == null ? Path.of(".") : outDir, false);
        } catch (IOException e) {
            throw new AgentException(Status.INVALID_ARGUMENT, "output directory: " + e.getMessage());
        }
    }

    /** --out, whose directory must be the running user's alone. */
    private Path outputFile() {
        try {
            return EvidenceFiles.prepareFile(out);
        } catch (IOException e) {
            throw new AgentException(Status.INVALID_ARGUMENT, "output directory: " + e.getMessage());
        }
    }

    /** A listener that hands progress on and, with --regions, prints the region records. */
    private DumpListener listener(long pid, java.util.function.BiConsumer<Long, Long> onProgress) {
        return new DumpListener() {
            @Override
            public boolean progress(long done, long total) {
                onProgress.accept(done, total);
                return true;
            }

            @Override
            public void region(DumpedRegion r) {
                synchronized (DumpCommand.this) {
                    jsonOut.write(DumpRecords.region(pid, r));
                }
            }

            @Override
            public boolean wantsRegions() {
                return regions;
            }
        };
    }

    private ContainerResolver containerResolver;

    private synchronized ContainerResolver containers(Agent agent) {
        if (containerResolver == null) {
            containerResolver = new ContainerResolver(agent, ContainerCatalog.local());
        }
        return containerResolver;
    }

    private static ObjectNode withContainer(ObjectNode record, Optional<Container> container) {
        container.ifPresent(c -> record.set("container", Records.container(c)));
        return record;
    }

    private synchronized int dumpOne(Agent agent, DumpOptions options, CancelToken cancel) {
        long pid = target.pid;
        ProcessInfo info = agent.process(pid);
        Optional<Container> container = containers(agent).container(pid);
        Path file = out != null ? outputFile() : outputDirectory().resolve(fileName(info.name(), pid, format));
        long started = System.nanoTime();
        FreezeFallback.Outcome o;
        try (ProgressBar bar = new ProgressBar(spec.commandLine().getErr(), !noProgress && ProgressBar.onTerminal(), 1000)) {
            o = FreezeFallback.dump(agent, pid, file, options, listener(pid, (done, total) -> bar.update(done, total,
                SizeConverter.human(done) + " / " + SizeConverter.human(total) + " of pid " + pid)), cancel);
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        DumpResult r = o.result();
        warnNotFrozen(pid, info.name(), o.freezeFailed(), null);
        warnPartial(pid, info.name(), r, null);
        if (json) {
            jsonOut.write(withContainer(DumpRecords.dumped(pid, info.name(), file.toString(), format.wireName(), r, ms,
                o.freezeFailed()), container));
        } else {
            stdout.println(describe(pid, info.name(), file, r, ms, o.freezeFailed()));
            stdout.flush();
        }
        return ExitCodes.OK;
    }

    private String describe(long pid, String name, Path file, DumpResult r, long ms, String freezeFailed) {
        String frozen = r.frozen() ? ", frozen" : freezeFailed != null ? ", not frozen: " + freezeFailed : "";
        return String.format(Locale.ROOT,
            "pid %d (%s): %s dump in %s: %d regions (%d truncated, %d partial, %d skipped), %s read, %s from files, "
                + "%s holes; %d thread%s%s; %d ms",
            pid, TerminalText.escape(name), format.wireName(), TerminalText.escape(file.toString()), r.regionsDumped(), r.regionsTruncated(), r.regionsPartial(),
            r.regionsSkipped(), SizeConverter.human(r.bytesRead()), SizeConverter.human(r.bytesFromFile()),
            SizeConverter.human(r.bytesHole()), r.threads(), r.threads() == 1 ? "" : "s", frozen, ms);
    }

    private static void warnNotFrozen(long pid, String name, String freezeFailed, ProgressBar bar) {
        if (freezeFailed != null) {
            if (bar != null) {
                bar.clear();
            }
            Log.LOG.warn("pid {} ({}): cannot freeze it ({}); dumped it running", pid, name, freezeFailed);
        }
    }

    private void warnPartial(long pid, String name, DumpResult r, ProgressBar bar) {
        if (r.regionsPartial() > 0) {
            if (bar != null) {
                bar.clear();
            }
            Log.LOG.warn("pid {} ({}): {} regions partly unreadable ({} zero-filled); dump kept", pid, name,
                r.regionsPartial(), SizeConverter.human(r.bytesUnreadable()));
        }
    }

    /** Why a process was not dumped, when that is expected in a sweep (WARN and skip); null otherwise. */
    static String skipReason(Status status) {
        return switch (status) {
            case NO_SUCH_PROCESS -> "vanished";
            case ACCESS_DENIED -> "access denied";
            case UNSUPPORTED -> "no user memory";
            case BUSY -> "traced by another process";
            case PROTECTED -> "protected";
            default -> null;
        };
    }

    private final class Sweep {
        final AtomicInteger dumped = new AtomicInteger();
        final AtomicInteger finished = new AtomicInteger();
        final AtomicLong regions = new AtomicLong();
        final AtomicLong bytesRead = new AtomicLong();
        final AtomicLong bytesFromFile = new AtomicLong();
        final AtomicLong fileBytes = new AtomicLong();
        final AtomicLong progressBytes = new AtomicLong();
        final Map<String, Integer> skipped = new TreeMap<>();
        final Map<String, Integer> failed = new TreeMap<>();
        final List<Long> millis = new ArrayList<>();

        synchronized void count(Map<String, Integer> m, String reason) {
            m.merge(reason, 1, Integer::sum);
        }
    }

    private int dumpAll(Agent agent, DumpOptions options, CancelToken cancel, ExecutorService pool) {
        Path dir = outputDirectory();
        long self = ProcessHandle.current().pid();
        long started = System.nanoTime();
        List<ProcessInfo> all = agent.processes();
        Sweep s = new Sweep();
        List<ProcessInfo> targets = new ArrayList<>();
        for (ProcessInfo p : all) {
            String why = p.kernelThread() ? "kernel thread" : p.pid() == self ? "memsentry itself" : null;
            if (why != null) {
                s.count(s.skipped, why);
                report(() -> DumpRecords.notDumped(p.pid(), p.name(), "skipped", why, ""));
            } else {
                targets.add(p);
            }
        }
        try (ProgressBar bar = new ProgressBar(spec.commandLine().getErr(), !noProgress && ProgressBar.onTerminal(), 0)) {
            List<Future<?>> futures = new ArrayList<>();
            for (ProcessInfo p : targets) {
                futures.add(pool.submit(() -> dumpInSweep(agent, options, cancel, dir, p, s, bar, targets.size())));
            }
            for (Future<?> f : futures) {
                try {
                    f.get();
                } catch (InterruptedException e) {
                    cancel.cancel();
                    Thread.currentThread().interrupt();
                    break;
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IllegalStateException(e.getCause());
                } catch (java.util.concurrent.CancellationException e) {
                    // the pool was shut down by a cancellation
                }
            }
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        summarize(s, all.size(), dir, ms, cancel.isCancelled());
        return s.failed.isEmpty() && !cancel.isCancelled() ? ExitCodes.OK : ExitCodes.FAILED;
    }

    private void dumpInSweep(Agent agent, DumpOptions options, CancelToken cancel, Path dir, ProcessInfo p, Sweep s,
                             ProgressBar bar, int total) {
        Path file = dir.resolve(fileName(p.name(), p.pid(), format));
        long t0 = System.nanoTime();
        long[] last = {0};
        Optional<Container> container = containers(agent).container(p.pid());
        try {
            FreezeFallback.Outcome o = FreezeFallback.dump(agent, p.pid(), file, options, listener(p.pid(),
                (done, all) -> {
                    s.progressBytes.addAndGet(done - last[0]);
                    last[0] = done;
                    bar.update(s.finished.get(), total, s.finished.get() + "/" + total + " processes, "
                        + SizeConverter.human(s.progressBytes.get()));
                }), cancel);
            DumpResult r = o.result();
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            s.dumped.incrementAndGet();
            s.regions.addAndGet(r.regionsDumped());
            s.bytesRead.addAndGet(r.bytesRead());
            s.bytesFromFile.addAndGet(r.bytesFromFile());
            s.fileBytes.addAndGet(r.fileSize());
            synchronized (s) {
                s.millis.add(ms);
            }
            warnNotFrozen(p.pid(), p.name(), o.freezeFailed(), bar);
            warnPartial(p.pid(), p.name(), r, bar);
            report(() -> withContainer(DumpRecords.dumped(p.pid(), p.name(), file.toString(), format.wireName(), r, ms,
                o.freezeFailed()), container));
        } catch (AgentException e) {
            String skip = skipReason(e.status());
            bar.clear();
            if (skip != null) {
                s.count(s.skipped, skip);
                Log.LOG.warn("pid {} ({}): skipped, {}: {}", p.pid(), p.name(), skip, e.getMessage());
                report(() -> DumpRecords.notDumped(p.pid(), p.name(), "skipped", skip, e.getMessage()));
            } else {
                String why = e.status().message();
                s.count(s.failed, why);
                Log.LOG.error("pid {} ({}): {}: {}", p.pid(), p.name(), why, e.getMessage());
                report(() -> DumpRecords.notDumped(p.pid(), p.name(), "failed", why, e.getMessage()));
            }
        } finally {
            int done = s.finished.incrementAndGet();
            bar.update(done, total, done + "/" + total + " processes, " + SizeConverter.human(s.progressBytes.get()));
        }
    }

    private void report(java.util.function.Supplier<Object> record) {
        if (json) {
            synchronized (this) {
                jsonOut.write(record.get());
            }
        }
    }

    private void summarize(Sweep s, int processes, Path dir, long ms, boolean cancelled) {
        int skipped = s.skipped.values().stream().mapToInt(Integer::intValue).sum();
        int failed = s.failed.values().stream().mapToInt(Integer::intValue).sum();
        long median;
        synchronized (s) {
            List<Long> sorted = new ArrayList<>(s.millis);
            sorted.sort(null);
            median = sorted.isEmpty() ? 0 : sorted.get(sorted.size() / 2);
        }
        if (json) {
            var o = dev.memsentry.output.Json.object();
            var sum = o.putObject("summary");
            sum.put("processes", processes);
            sum.put("dumped", s.dumped.get());
            sum.put("skipped", skipped);
            s.skipped.forEach(sum.putObject("skipped_by_reason")::put);
            sum.put("failed", failed);
            s.failed.forEach(sum.putObject("failed_by_reason")::put);
            sum.put("regions", s.regions.get());
            sum.put("bytes_read", s.bytesRead.get());
            sum.put("bytes_from_file", s.bytesFromFile.get());
            sum.put("file_bytes", s.fileBytes.get());
            sum.put("out_dir", dir.toString());
            sum.put("elapsed_ms", ms);
            sum.put("median_ms_per_process", median);
            sum.put("cancelled", cancelled);
            report(() -> o);
            return;
        }
        StringBuilder line = new StringBuilder();
        line.append(String.format(Locale.ROOT, "dump --all: %d processes, %d dumped, %d regions, %s read (%s from files) "
                + "into %s; %d skipped", processes, s.dumped.get(), s.regions.get(), SizeConverter.human(s.bytesRead.get()),
            SizeConverter.human(s.bytesFromFile.get()), dir, skipped));
        appendReasons(line, s.skipped);
        line.append(String.format(Locale.ROOT, "; %d failed", failed));
        appendReasons(line, s.failed);
        line.append(String.format(Locale.ROOT, "; %d ms (median %d ms per process)%s", ms, median,
            cancelled ? "; CANCELLED" : ""));
        stdout.println(line);
        stdout.flush();
    }

    private static void appendReasons(StringBuilder line, Map<String, Integer> reasons) {
        if (reasons.isEmpty()) {
            return;
        }
        List<String> parts = new ArrayList<>();
        reasons.forEach((why, n) -> parts.add(n + " " + why));
        line.append(" (").append(String.join(", ", parts)).append(')');
    }

    private static void awaitQuietly(ExecutorService pool, int seconds) {
        try {
            pool.awaitTermination(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
