package dev.memsentry.cli;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.ProcessEventSource;
import dev.memsentry.agent.Status;
import dev.memsentry.agent.WatchOptions;
import dev.memsentry.detect.Alert;
import dev.memsentry.detect.DetectionPolicy;
import dev.memsentry.detect.EcsDocument;
import dev.memsentry.detect.EcsWriter;
import dev.memsentry.detect.ProcessPins;
import dev.memsentry.detect.ProcessScanner;
import dev.memsentry.detect.Responder;
import dev.memsentry.detect.ScanSession;
import dev.memsentry.detect.Severity;
import dev.memsentry.output.Json;
import dev.memsentry.output.JsonFields;
import dev.memsentry.output.TerminalText;
import dev.memsentry.watch.Engine;
import dev.memsentry.watch.ListingPoller;
import dev.memsentry.watch.ProcessScope;
import dev.memsentry.watch.Signals;
import dev.memsentry.watch.WatchOutput;
import dev.memsentry.watch.WatchSettings;
import dev.memsentry.watch.Watcher;
import java.io.IOException;
import java.nio.file.Path;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "watch",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
        "Protect continuously: follow process events and scan each new program shortly after its exec, again a",
        "little later, and every watched process on a schedule, with scan's heuristics, YARA rules, policy and",
        "responses. Runs until SIGTERM, SIGINT (Ctrl-C) or --duration.",
        "",
        "Events: the backend's process event source (the netlink process connector, or its /proc poller where",
        "the connector cannot be used, e.g. inside a child PID namespace); a backend without one (the stub) is",
        "watched by repeated process listings every --poll-interval, compared by pid and start time. Events the",
        "kernel dropped are counted and answered by a resynchronising listing that scans what is new.",
        "",
        "Scans: a new program is scanned --settle after its exec, again 4, 12 and 30 settle delays after it,",
        "and --settle-late after it (early and late unpacking); a program that has already exited by then is",
        "counted, not an error. Every watched process is rescanned every --rescan, spread out and paced so that",
        "the scanning stays within --max-cpu percent of one core (the scans that follow events go first and",
        "count against the budget too).",
        "",
        "Each alert is reported once per process instance (pid and start time), not on every rescan; the",
        "response (--respond, as in scan: dump, kill, dump-kill; protected processes are never killed) is taken",
        "at most once per instance. --trace-on SEVERITY traces a process with such an alert for --trace-for",
        "(attach mode, at most --max-traces at once), so its next W^X transition is reported as it happens;",
        "every trace ends detached, leaving the process running.",
        "",
        "Scope (--scope): all (default); tree:PID, that process and its descendants; container:ID, the processes of",
        "one container (an id prefix or its name, as scan's --scope); cgroup:PATH, processes in",
        "that cgroup (v2 path, e.g. /system.slice/nginx.service) or below. Processes out of scope are never",
        "read, traced, dumped or signalled: only their /proc stat and cgroup files are read to decide.",
        "",
        "Output: alerts and response events as they happen (ECS, as scan: --json, --out FILE), and a",
        "watch-stats event every --stats-interval and at the end (events received and lost, resyncs, scans,",
        "queue depth, alerts, responses, CPU used). SIGHUP reloads the configuration file and the rules: an",
        "invalid new configuration is one ERROR line and the old one stays in force.",
        "",
        "Exit codes: 0 after a clean stop (alerts or not), 2 usage or configuration error at start, 3 when no",
        "event source can work (or the one in use fails)."},
    footerHeading = "%nExamples:%n",
    footer = {
        "  memsentry watch --json --out /var/log/memsentry/alerts.json",
        "  memsentry watch --scope tree:4242 --rescan 1m --respond kill --respond-min critical",
        "  memsentry watch --scope cgroup:/system.slice/nginx.service --trace-on high --rules /etc/memsentry/rules",
        "",
        "As a service: packaging/memsentry-watch.service (see the README)."})
final class WatchCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(WatchCommand.class);
    /** How long a stopped watch may take to end (running traces detached, scans finished) before its sinks. */
    private static final Duration WATCH_STOP_WAIT = Duration.ofSeconds(15);
    static final int DEFAULT_WORKERS = 2;

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Mixin
    DetectionOptions options;

    @Option(names = "--scope", paramLabel = "SCOPE", defaultValue = "all", converter = ScopeConverter.class,
        description = "all (default), tree:PID, cgroup:PATH or container:ID: the only processes looked at.")
    ProcessScope scope;

    @Option(names = "--settle", paramLabel = "DURATION", converter = DurationConverter.class, defaultValue = "20ms",
        description = "From a program's exec to its first scan (default 20ms); more early scans at 4, 12 and 30 times it.")
    Duration settle;

    @Option(names = "--settle-late", paramLabel = "DURATION", converter = DurationConverter.class, defaultValue = "2s",
        description = "From the exec to the second scan, for late unpacking (default 2s; 0: none).")
    Duration settleLate;

    @Option(names = "--rescan", paramLabel = "INTERVAL", converter = DurationConverter.class, defaultValue = "5m",
        description = "Rescan every watched process this often (default 5m; 0: never).")
    Duration rescan;

    @Option(names = "--max-cpu", paramLabel = "PERCENT", defaultValue = "5",
        description = "Scanning budget in percent of one core (1-100, default 5): rescans wait for it.")
    int maxCpu;

    @Option(names = "--trace-on", paramLabel = "SEVERITY", converter = DetectionOptions.SeverityConverter.class,
        description = "Trace a process with an alert at or above SEVERITY (native backend; default: never).")
    Severity traceOn;

    @Option(names = "--trace-for", paramLabel = "DURATION", converter = DurationConverter.class, defaultValue = "30s",
        description = "How long such a trace lasts (default 30s).")
    Duration traceFor;

    @Option(names = "--max-traces", paramLabel = "N", defaultValue = "4",
        description = "Traces at once (1-64, default 4); alerted processes beyond are not traced (counted).")
    int maxTraces;

    @Option(names = "--stats-interval", paramLabel = "DURATION", converter = DurationConverter.class,
        defaultValue = "60s", description = "Between two watch-stats events (default 60s; 0: only the last).")
    Duration statsInterval;

    @Option(names = {"-d", "--duration"}, paramLabel = "DURATION", converter = DurationConverter.class,
        description = "Stop after this long (default: until SIGTERM or SIGINT).")
    Duration duration;

    @Option(names = "--poll-interval", paramLabel = "DURATION", converter = DurationConverter.class,
        defaultValue = "100ms", description = "Interval of the /proc poller and of the listing poller (default 100ms).")
    Duration pollInterval;

    @Option(names = "--events", paramLabel = "auto|connector|poller|listing", defaultValue = "auto", hidden = true,
        description = "Event source: auto, the connector, the agent's /proc poller, or repeated listings.")
    String events;

    @Option(names = "--receive-buffer", paramLabel = "SIZE", converter = SizeConverter.class, defaultValue = "0",
        hidden = true, description = "The connector socket's receive buffer (0: the kernel default; tiny forces loss).")
    long receiveBuffer;

    @Option(names = "--max-tracked", paramLabel = "N", defaultValue = "65536", hidden = true,
        description = "Processes remembered at once.")
    int maxTracked;

    static final class ScopeConverter implements CommandLine.ITypeConverter<ProcessScope> {
        @Override
        public ProcessScope convert(String value) {
            return DetectionOptions.parsed(ProcessScope::parse, value);
        }
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        if (maxCpu < 1 || maxCpu > 100) {
            throw usage("--max-cpu must be from 1 to 100");
        }
        if (maxTraces < 1 || maxTraces > 64) {
            throw usage("--max-traces must be from 1 to 64");
        }
        if (pollInterval.toMillis() < 10) {
            throw usage("--poll-interval must be at least 10ms");
        }
        if (maxTracked < 16 || receiveBuffer < 0 || receiveBuffer > Integer.MAX_VALUE) {
            throw usage("--max-tracked must be at least 16, --receive-buffer at most 2G");
        }
        if (!List.of("auto", "connector", "poller", "listing").contains(events)) {
            throw usage("--events must be auto, connector, poller or listing");
        }
        Detection detection;
        try {
            detection = Detection.prepare(options, main::agent, DEFAULT_WORKERS, false);
        } catch (Detection.SetupException e) {
            if (e.usage) {
                throw usage(e.lines.get(0));
            }
            e.lines.forEach(l -> err.println("memsentry: " + l));
            return e.exitCode;
        }
        Agent agent = main.agent();
        if (traceOn != null && !agent.capabilities().contains(dev.memsentry.agent.Capability.TRACE)) {
            detection.close();
            err.println("memsentry: --trace-on needs the native agent (the " + agent.backendName() + " backend cannot trace)");
            return ExitCodes.USAGE;
        }
        ProcessEventSource source = openSource(agent);
        if (source == null) {
            detection.close();
            return ExitCodes.FAILED;
        }
        WatchSettings settings = new WatchSettings(settle, settleLate, rescan, maxCpu, traceOn, traceFor, maxTraces,
            statsInterval, detection.workers, maxTracked);
        EcsWriter ecs = new EcsWriter();
        Path evidenceBase = options.evidenceDir != null ? options.evidenceDir : detection.cfg.evidence().evidenceDir();
        try (AlertOutput out = AlertOutput.open(options.output.out, options.output.json ? spec.commandLine().getOut() : null,
            options.sinks, detection.cfg.output(), evidenceBase)) {
            return watch(agent, source, settings, ecs, out, detection);
        } catch (AlertOutput.OpenException e) {
            err.println("memsentry: " + e.getMessage());
            return e.exitCode;
        } catch (IOException e) {
            err.println("memsentry: cannot write " + options.output.out + ": " + e.getMessage());
            return e instanceof dev.memsentry.sink.FileSink.Refused ? ExitCodes.USAGE : ExitCodes.FAILED;
        } finally {
            source.close();
        }
    }

    /** The backend's event source, or the listing poller when the backend has none; null (after one line) when none works. */
    private ProcessEventSource openSource(Agent agent) {
        WatchOptions.Source which = switch (events) {
            case "connector" -> WatchOptions.Source.CONNECTOR;
            case "poller" -> WatchOptions.Source.POLLER;
            default -> WatchOptions.Source.AUTO;
        };
        String why;
        if (events.equals("listing")) {
            why = "asked for (--events listing)";
        } else {
            try {
                return agent.processEvents(new WatchOptions(which, pollInterval, (int) receiveBuffer));
            } catch (AgentException e) {
                if (e.status() != Status.UNSUPPORTED || which != WatchOptions.Source.AUTO) {
                    spec.commandLine().getErr().println("memsentry: no process event source: " + e.getMessage());
                    return null;
                }
                why = e.getMessage();
            }
        }
        return new ListingPoller(agent, pollInterval, why);
    }

    private int watch(Agent agent, ProcessEventSource source, WatchSettings settings, EcsWriter ecs, AlertOutput out,
                      Detection first) {
        PrintWriter stdout = spec.commandLine().getOut();
        boolean text = !options.output.json;
        WatchOutput output = new WatchOutput() {
            @Override
            public void alert(Alert a, EcsDocument doc) {
                out.write(doc);
                if (text) {
                    // Names and messages carry what the target chose: escaped for the terminal.
                    stdout.println(TerminalText.escape("ALERT " + a.severity().wireName() + " " + a.rule().id() + " pid "
                        + a.process().pid() + " (" + a.process().name() + ")" + (a.region() == null ? ""
                        : " " + Json.hex(a.region().start()) + " " + a.region().perms()) + ": " + a.message()));
                    stdout.flush();
                }
            }

            @Override
            public void event(EcsDocument doc, String line) {
                if ("watch-stats".equals(doc.action()) && doc.memsentry() != null
                    && doc.memsentry().get("watch_stats") instanceof JsonFields stats) {
                    var sinks = out.sinkStats();
                    if (!sinks.isEmpty()) {
                        stats.set("sinks", SinkReport.json(sinks));
                    }
                }
                out.write(doc);
                if (text) {
                    stdout.println(TerminalText.escape(line));
                    stdout.flush();
                }
            }
        };
        Watcher watcher = new Watcher(agent, source, scope.bind(agent), settings, engine(agent, first, ecs, output), ecs,
            output);
        AtomicBoolean reloading = new AtomicBoolean();
        // SIGTERM and SIGINT end the watch cleanly (exit 0); the hook below covers any other way the
        // JVM is asked to end, so no trace outlives the watch.
        Signals.on("TERM", watcher::stop);
        Signals.on("INT", watcher::stop);
        Signals.on("HUP", () -> {
            if (reloading.compareAndSet(false, true)) {
                Thread t = new Thread(() -> {
                    try {
                        reload(agent, watcher, ecs, output);
                    } finally {
                        reloading.set(false);
                    }
                }, "memsentry-watch-reload");
                t.setDaemon(true);
                t.start();
            }
        });
        // Any other way the JVM is asked to end (System.exit elsewhere) goes through this hook: the
        // watch stops, and if it has not ended (sinks closed) within the wait, the hook closes the
        // sinks itself, so queued alerts reach the spool before the JVM halts.
        StopHook hook = new StopHook("memsentry-watch-stop", watcher::stop,
            WATCH_STOP_WAIT.plus(StopHook.afterStop(out.sinkWait())), out::closeSinks);
        try {
            Watcher.End end = watcher.run(duration == null ? Duration.ZERO : duration);
            if (end == Watcher.End.SOURCE_FAILED) {
                spec.commandLine().getErr().println("memsentry: process events failed: " + watcher.sourceFailure());
                return ExitCodes.FAILED;
            }
            LOG.info("watch ended ({})", end.name().toLowerCase(java.util.Locale.ROOT));
            return ExitCodes.OK;
        } catch (AgentException e) {
            spec.commandLine().getErr().println("memsentry: cannot list processes: " + e.getMessage());
            return ExitCodes.FAILED;
        } catch (UncheckedIOException e) {
            spec.commandLine().getErr().println("memsentry: cannot write " + options.output.out + ": " + e.getCause().getMessage());
            return ExitCodes.FAILED;
        } finally {
            try {
                SinkReport.log(out.closeSinks());
            } finally {
                hook.close();
            }
        }
    }

    /** An engine over a prepared detection: its scanner, responder and threshold; retiring it closes the rules. */
    private Engine engine(Agent agent, Detection d, EcsWriter ecs, WatchOutput output) {
        ProcessPins pins = d.action.kills() ? new ProcessPins(agent) : null;
        ScanSession session = new ScanSession(agent, new DetectionPolicy(d.cfg), pins);
        ProcessScanner scanner = new ProcessScanner(session, d.yara == null ? List.of() : List.of(d.yara));
        Responder responder = new Responder(agent, d.action, d.actionMin, d.grace, d.evidence, ecs,
            e -> output.event(e, e.message()), pins);
        return new Engine(scanner, session.policy(), responder, pins, d.threshold, d.budget, () -> {
            if (pins != null) {
                pins.close();
            }
            d.close();
        });
    }

    /** SIGHUP: the configuration and rules again; on any error one ERROR line, and the engine in use stays. */
    private void reload(Agent agent, Watcher watcher, EcsWriter ecs, WatchOutput output) {
        Detection next;
        try {
            next = Detection.prepare(options, () -> agent, DEFAULT_WORKERS, true);
        } catch (Detection.SetupException e) {
            LOG.error("reload refused, the previous configuration stays in force: {}", String.join("; ", e.lines));
            return;
        } catch (RuntimeException e) {
            LOG.error("reload refused, the previous configuration stays in force: {}", e.getMessage());
            return;
        }
        watcher.reload(engine(agent, next, ecs, output));
        LOG.info("configuration reloaded{}", options.config == null ? "" : " from " + options.config);
    }
}
