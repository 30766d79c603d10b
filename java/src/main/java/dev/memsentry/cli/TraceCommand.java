package dev.memsentry.cli;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.Capability;
import dev.memsentry.agent.Status;
import dev.memsentry.agent.TraceAlert;
import dev.memsentry.agent.TraceEvent;
import dev.memsentry.agent.TraceListener;
import dev.memsentry.agent.TraceOptions;
import dev.memsentry.agent.TraceSession;
import dev.memsentry.agent.TraceSummary;
import dev.memsentry.config.ConfigException;
import dev.memsentry.config.ConfigLoader;
import dev.memsentry.config.ScanConfig;
import dev.memsentry.detect.Alert;
import dev.memsentry.detect.BuiltinRules;
import dev.memsentry.detect.DetectionPolicy;
import dev.memsentry.detect.EcsWriter;
import dev.memsentry.detect.ProcessRef;
import dev.memsentry.detect.TraceDetector;
import dev.memsentry.output.JsonFields;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "trace",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    customSynopsis = {
        "memsentry trace --pid PID [--follow-forks] [--duration D] [--syscall NAME]... [--json] [--out FILE]",
        "                [--alerts-only] [--config FILE]",
        "memsentry trace [options] [--no-seccomp] -- COMMAND [ARGS...]",
        "memsentry trace --list-rules [--json]"},
    description = {
        "Watch, as they happen, the syscalls that make memory executable (mmap, mprotect and munmap, plus any",
        "--syscall NAME) in one process and every one of its threads, and raise an alert when memory that was",
        "writable becomes executable (trace.wx_transition), when memory is asked writable and executable at once",
        "(trace.map_wx), or when anonymous memory becomes executable (trace.anon_exec). Runtimes that generate",
        "code (JVMs, node, .NET, browsers, LuaJIT, PyPy) get those alerts at the JIT severity (low), as in scan.",
        "",
        "--pid attaches to a running process with ptrace: every syscall of the target then stops it twice, as",
        "under 'strace -p', and only the monitored ones are reported. '-- COMMAND' starts COMMAND under a seccomp",
        "filter that stops it only for the monitored syscalls (as 'strace --seccomp-bpf'), so everything else runs",
        "at full speed. A launched command shares memsentry's standard streams (with --json and no --out, its",
        "standard output goes to memsentry's standard error, so standard output holds JSON lines only) and is",
        "killed if the trace ends before it does (a filtered process cannot run untraced); the summary says so.",
        "",
        "Also raised: trace.injector (the program attaches to or writes into another process with ptrace,",
        "process_vm_writev or /proc/PID/mem; known debuggers excepted), trace.proc_mem_write (code written",
        "through its own /proc/PID/mem) and, where every syscall stops (--pid, --no-seccomp),",
        "trace.untraced_thread (a CLONE_UNTRACED thread, found by a rescan of /proc/PID/task every 250 ms).",
        "",
        "Output: one strace-like line per syscall on standard output and alerts highlighted; --json: one JSON",
        "object per line (pid, tid, syscall, addr, len, prot, flags, fd, ret, and error when it failed), alerts",
        "as ECS alert documents like scan's, then a trace-summary document. A summary goes to standard error",
        "otherwise. Lines are buffered and flushed every 200 ms; alerts are flushed at once.",
        "",
        "The trace ends when the target exits, after --duration, or on Ctrl-C or SIGTERM: every traced thread",
        "is then detached and left running, never stopped. A SIGKILL to memsentry detaches them too (the kernel",
        "does it), except that a launched command dies with it.",
        "",
        "Refused (exit 3): PID 1 of the namespace, kernel threads, memsentry and its ancestors, a process",
        "another tracer holds (the message names its TracerPid), and the stub backend (tracing needs the native",
        "agent). Exit codes: 0 no alerts, 1 alerts raised, 2 usage (bad pid, bad duration, unknown syscall",
        "name, no command), 3 failure. In launch mode the command's own exit status is in the summary, not in",
        "memsentry's exit code."},
    footerHeading = "%nExamples:%n",
    footer = {
        "  memsentry trace --pid 4242 --duration 30s",
        "  memsentry trace --pid 4242 --follow-forks --json --out /var/log/memsentry-trace.json",
        "  memsentry trace --alerts-only --syscall memfd_create -- ./suspicious-loader --flag",
        "  memsentry trace --json --out /dev/null -- make -j2"})
final class TraceCommand implements Callable<Integer> {
    /** How long a shutdown hook waits for the trace to detach and the summary to be written. */
    static final Duration STOP_WAIT = Duration.ofSeconds(10);

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = {"-p", "--pid"}, paramLabel = "PID", converter = PidConverter.class,
        description = "The process to attach to (all of its threads, and those it starts).")
    Long pid;

    @Option(names = {"-f", "--follow-forks"},
        description = "Also trace the children it forks (and theirs).")
    boolean followForks;

    @Option(names = {"-d", "--duration"}, paramLabel = "DURATION", converter = DurationConverter.class,
        description = "End the trace after this long (5s, 500ms, 2m; default: until the target exits or Ctrl-C).")
    Duration duration;

    @Option(names = {"-e", "--syscall"}, paramLabel = "NAME", split = ",",
        description = "Also watch this syscall (repeatable or comma-separated, e.g. memfd_create,execve).")
    List<String> syscalls;

    @Mixin
    JsonOutOptions jsonOut;

    @Mixin
    SinkOptions sinkOptions;

    @Option(names = "--alerts-only", description = "Report alerts (and the summary) only, no event lines.")
    boolean alertsOnly;

    @Option(names = "--no-seccomp",
        description = "Launch mode: no seccomp filter; the command stops on every syscall, as in attach mode.")
    boolean noSeccomp;

    @Option(names = "--config", paramLabel = "FILE",
        description = "Configuration file (YAML or JSON, as for scan): trace.* rules on/off and their severity, "
            + "the JIT runtimes and their severity.")
    Path config;

    @Option(names = "--list-rules", description = "Print the rules trace raises and exit.")
    boolean listRules;

    @Parameters(paramLabel = "COMMAND", arity = "0..*",
        description = "After --: the command to launch and trace, with its arguments.")
    List<String> command;

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (listRules) {
            RuleList.print(stdout, jsonOut.json, BuiltinRules.TRACE);
            return ExitCodes.OK;
        }
        List<String> argv = command == null ? List.of() : command;
        if (pid == null && argv.isEmpty()) {
            throw usage("give --pid PID, or -- COMMAND [ARGS...] to launch one");
        }
        if (pid != null && !argv.isEmpty()) {
            throw usage("--pid and a COMMAND exclude each other");
        }
        if (pid != null && noSeccomp) {
            throw usage("--no-seccomp applies to launch mode (-- COMMAND) only");
        }
        TraceOptions options;
        try {
            // --json without --out: the command's own output would break the JSON lines on stdout.
            options = TraceOptions.defaults().withFollowForks(followForks).withNoSeccomp(noSeccomp)
                .withStdoutToStderr(jsonOut.json && jsonOut.out == null && !argv.isEmpty())
                .withDuration(duration == null ? Duration.ZERO : duration)
                .withExtraSyscalls(syscalls == null ? List.of() : syscalls.stream().map(String::trim).toList());
        } catch (IllegalArgumentException e) {
            throw usage("--syscall: " + e.getMessage());
        }
        ScanConfig cfg;
        try {
            cfg = config == null ? ScanConfig.defaults() : ConfigLoader.load(config);
        } catch (ConfigException e) {
            err.println("memsentry: invalid configuration: " + e.getMessage());
            return ExitCodes.USAGE;
        }
        // Before the native library loads: a Kafka producer's start-up runs alongside it.
        dev.memsentry.sink.SinkSet sinks;
        try {
            sinks = AlertOutput.openSinks(sinkOptions, cfg.output(), cfg.evidence().evidenceDir());
        } catch (AlertOutput.OpenException e) {
            err.println("memsentry: " + e.getMessage());
            return e.exitCode;
        }
        Agent agent = main.agent();
        if (!agent.capabilities().contains(Capability.TRACE)) {
            err.println("memsentry: tracing needs the native agent (the " + agent.backendName() + " backend is in use)");
            if (sinks != null) {
                sinks.closeNow();
            }
            return ExitCodes.FAILED;
        }
        return new Run(agent, new TraceDetector(agent, new DetectionPolicy(cfg)), argv, sinks).trace(options);
    }

    /** One trace: the session, its output and what it counted. */
    private final class Run implements TraceListener {
        private final Agent agent;
        private final TraceDetector detector;
        private final List<String> argv;
        private final dev.memsentry.sink.SinkSet sinks;
        private final EcsWriter ecs = new EcsWriter();
        private final Map<String, Integer> byRule = new TreeMap<>();
        private TraceOutput output;
        private OrderedHandoff handoff;
        private int reported;

        Run(Agent agent, TraceDetector detector, List<String> argv, dev.memsentry.sink.SinkSet sinks) {
            this.agent = agent;
            this.detector = detector;
            this.argv = argv;
            this.sinks = sinks;
        }

        // The traced thread waits while these run: policy and process lookups stay here (the
        // process is stopped, so what /proc says is what raised the alert), formatting and writing
        // go to the handoff's thread.
        @Override
        public boolean event(TraceEvent e) {
            detector.event(e);
            return alertsOnly || handoff.submit(() -> output.event(e)); // --alerts-only: no event lines
        }

        // Only the policy's decision is made here; the alert's text and document on the handoff's thread.
        @Override
        public boolean alert(TraceAlert a) {
            Optional<TraceDetector.Decision> found = detector.decide(a);
            if (found.isEmpty()) {
                return true;
            }
            TraceDetector.Decision d = found.get();
            reported++;
            byRule.merge(d.rule().id(), 1, Integer::sum);
            return handoff.submit(() -> {
                Alert alert = TraceDetector.build(d);
                output.alert(alert, ecs.traceAlert(alert, a.event()));
            }, true);
        }

        int trace(TraceOptions options) {
            PrintWriter err = spec.commandLine().getErr();
            TraceSession session;
            try {
                session = agent.openTrace(options, this);
            } catch (AgentException e) {
                if (sinks != null) {
                    sinks.closeNow();
                }
                if (e.status() == Status.INVALID_ARGUMENT) {
                    err.println("memsentry: --syscall: " + e.getMessage());
                    return ExitCodes.USAGE;
                }
                throw e;
            }
            warmUp();
            // Ctrl-C or SIGTERM: end the trace and wait (bounded) until every thread is detached, the
            // summary written and the sinks closed, so the JVM never leaves a target stopped or traced
            // and what the sinks did not take is in the spool.
            StopHook hook = new StopHook("memsentry-trace-stop", session::stop, sinks == null ? STOP_WAIT
                : STOP_WAIT.plus(StopHook.afterStop(sinks.shutdownWait())), () -> AlertOutput.close(sinks));
            try (TraceOutput o = TraceOutput.open(spec.commandLine().getOut(), jsonOut.json, jsonOut.out,
                System.console() != null, sinks); OrderedHandoff h = new OrderedHandoff("memsentry-trace-output", 1 << 12, o::flushAlerts)) {
                output = o;
                handoff = h;
                TraceSummary s = pid != null ? session.attach(pid) : session.launch(argv);
                h.drain();
                summary(s);
                SinkReport.log(o.closeSinks());
                return reported > 0 ? ExitCodes.FINDINGS : ExitCodes.OK;
            } catch (AgentException e) {
                err.println("memsentry: " + refusal(e));
                return ExitCodes.of(e.status()) == ExitCodes.USAGE ? ExitCodes.USAGE : ExitCodes.FAILED;
            } catch (IOException | UncheckedIOException e) {
                err.println("memsentry: cannot write " + (jsonOut.out != null ? jsonOut.out : "standard output") + ": "
                    + (e instanceof UncheckedIOException u ? u.getCause().getMessage() : e.getMessage()));
                return e instanceof dev.memsentry.sink.FileSink.Refused ? ExitCodes.USAGE : ExitCodes.FAILED;
            } catch (RuntimeException e) {
                // Reported here, not by Main: after a SIGTERM the JVM halts once the hook below returns.
                err.println("memsentry: internal error: " + e);
                if (main.verbose) {
                    e.printStackTrace(err);
                }
                return ExitCodes.FAILED;
            } finally {
                session.close();
                hook.close();
            }
        }

        /**
         * Runs the alert and output paths once on a made-up W^X event, and looks up the target (its
         * name, whether it is a JIT runtime) now: the first real event should not make a target wait
         * for class loading or /proc reads.
         */
        private void warmUp() {
            long target = pid != null ? pid : ProcessHandle.current().pid();
            if (pid != null) {
                detector.process(pid);
            }
            TraceEvent e = new TraceEvent(dev.memsentry.agent.TraceEventKind.SYSCALL, System.currentTimeMillis() * 1_000_000L,
                target, target, 10, dev.memsentry.agent.TraceAbi.X86_64, "mprotect", new long[] {0x1000, 0x1000, 5, 0, 0, 0},
                "PROT_READ|PROT_EXEC", "", true, 0, "", 0, 0, 0);
            Alert sample = new Alert(e.time(), BuiltinRules.TRACE_WX_TRANSITION, BuiltinRules.TRACE_WX_TRANSITION.severity(),
                ProcessRef.pidOnly(target), new dev.memsentry.detect.AlertRegion(0x1000, 0x2000, "r-xp", "", "anonymous"),
                "warm-up", new JsonFields(), null);
            TraceOutput.warmUp(ecs.traceAlert(sample, e), e, !jsonOut.json);
        }

        /** The one line for a trace that could not start. */
        private String refusal(AgentException e) {
            String target = pid != null ? "PID " + pid : "'" + argv.get(0) + "'";
            return switch (e.status()) {
                case PROTECTED -> "refusing to trace " + target + " (" + describe(e) + "): protected";
                case BUSY -> target + " is already traced by " + tracer() + "; only one tracer can hold a process";
                case NO_SUCH_PROCESS -> pid != null ? "no such process: PID " + pid
                    : "cannot run " + target + ": " + e.getMessage();
                case ACCESS_DENIED -> "access denied: cannot trace " + target + ": " + e.getMessage()
                    + " (needs root or CAP_SYS_PTRACE; see 'memsentry doctor')";
                case UNSUPPORTED -> "cannot trace " + target + ": " + e.getMessage();
                case INVALID_ARGUMENT -> pid != null ? "cannot trace " + target + ": " + e.getMessage()
                    : "cannot run " + target + ": " + e.getMessage();
                default -> "trace of " + target + " failed: " + e.status().message() + ": " + e.getMessage();
            };
        }

        /** Why the target is protected (the agent's reason, which names it), for the refusal line. */
        private String describe(AgentException refused) {
            String why = refused.getMessage();
            if (!why.equals(Status.PROTECTED.message())) {
                return why.startsWith("refusing to trace: ") ? why.substring("refusing to trace: ".length()) : why;
            }
            try {
                return agent.process(pid).name();
            } catch (AgentException e) {
                return "?";
            }
        }

        private String tracer() {
            try {
                long tracerPid = agent.processFacts(pid).tracerPid();
                if (tracerPid <= 0) {
                    return "another tracer";
                }
                String name;
                try {
                    name = agent.process(tracerPid).name();
                } catch (AgentException e) {
                    name = "?";
                }
                return "TracerPid " + tracerPid + " (" + name + ")";
            } catch (AgentException e) {
                return "another tracer";
            }
        }

        private void summary(TraceSummary s) throws IOException {
            TraceReport report = new TraceReport(s, pid == null ? argv : List.of(), reported, byRule);
            String text = report.text();
            output.drainSinks();
            var sinkStats = output.sinkStats();
            if (jsonOut.json || jsonOut.out != null || !sinkStats.isEmpty()) {
                JsonFields ms = new JsonFields();
                JsonFields summaryJson = report.json();
                if (!sinkStats.isEmpty()) {
                    summaryJson.set("sinks", SinkReport.json(sinkStats));
                }
                ms.set("summary", summaryJson);
                ProcessRef ref = report.launch() ? new ProcessRef(s.pid(), "", "", argv, null) : detector.process(s.pid());
                output.summary(ecs.event(Instant.now(), "trace-summary", null, ref, text, ms));
            }
            output.flush();
            if (!jsonOut.json) {
                PrintWriter err = spec.commandLine().getErr();
                err.println(text);
                sinkStats.forEach(st -> err.println(st.text()));
                err.flush();
            }
        }
    }
}
