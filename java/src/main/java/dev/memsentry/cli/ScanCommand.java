package dev.memsentry.cli;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.DumpFormat;
import dev.memsentry.agent.DumpOptions;
import dev.memsentry.agent.Status;
import dev.memsentry.config.ConfigException;
import dev.memsentry.config.ConfigLoader;
import dev.memsentry.config.ResponseAction;
import dev.memsentry.config.ScanConfig;
import dev.memsentry.container.ContainerScope;
import dev.memsentry.detect.Alert;
import dev.memsentry.detect.DetectionPolicy;
import dev.memsentry.detect.EcsWriter;
import dev.memsentry.detect.ProcessPins;
import dev.memsentry.detect.ProcessResult;
import dev.memsentry.detect.ProcessScanner;
import dev.memsentry.detect.Responder;
import dev.memsentry.detect.ScanRunner;
import dev.memsentry.detect.ScanSession;
import dev.memsentry.detect.ScanSummary;
import dev.memsentry.detect.Severity;
import dev.memsentry.detect.YaraDetector;
import dev.memsentry.detect.yara.YaraCompileException;
import dev.memsentry.detect.yara.YaraDiagnostic;
import dev.memsentry.detect.yara.YaraRules;
import dev.memsentry.output.EvidenceFiles;
import dev.memsentry.output.Json;
import dev.memsentry.output.JsonFields;
import dev.memsentry.output.Table;
import dev.memsentry.output.TerminalText;
import dev.memsentry.sink.SinkSet;
import dev.memsentry.sink.SinkStats;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "scan",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
        "Scan live processes for code that lives only in memory and report each finding as an alert.",
        "",
        "Built-in heuristics (each one on by default and switchable in --config; 'memsentry scan --list-rules'):",
        "executable anonymous memory, RWX mappings, executable heap or stack, ELF or PE images in anonymous",
        "or memfd memory, processes running from a memfd or a deleted file, code mapped from deleted files,",
        "memfds or tmpfs, library code that differs from its file on disk, LD_PRELOAD/LD_AUDIT,",
        "/etc/ld.so.preload, unknown ptrace tracers, and threads whose instruction pointer lies in anonymous",
        "executable memory. Runtimes that generate code (JVMs, node, .NET, browsers, LuaJIT, PyPy) get those",
        "findings at low severity. Nothing in the targets is changed: pages they never touched are not read.",
        "",
        "Responses (--respond, for alerts at or above --respond-min): dump writes each process's memory once to",
        "--evidence-dir as NAME.PID.YYYYMMDDTHHMMSSZ.core (or .raw), mode 0600, never replacing a file; kill",
        "terminates it through the protected termination; dump-kill dumps, then kills even if the dump failed.",
        "Each action is an ECS event.",
        "",
        "Alerts use Elastic Common Schema fields: one JSON object per line with --json or in --out FILE;",
        "otherwise a table. A summary ends the output. Exit codes: 0 nothing found, 1 findings,",
        "2 usage or configuration error, 3 failure (a --pid that could not be scanned)."})
final class ScanCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(ScanCommand.class);

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    static final class Targets {
        @Option(names = {"-p", "--pid"}, paramLabel = "PID", converter = PidConverter.class,
            description = "A process to scan (repeatable).")
        List<Long> pids;

        @Option(names = "--all", description = "Every process (memsentry itself and kernel threads are skipped).")
        boolean all;

        @Option(names = "--list-rules", description = "Print the built-in rules and exit.")
        boolean listRules;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Targets targets;

    @Mixin
    DetectionOptions options;

    @Option(names = "--no-progress", description = "No progress line on a terminal.")
    boolean noProgress;

    @Option(names = "--scope", paramLabel = "container:ID",
        description = "With --all: only the processes of one container, by id prefix (as docker and podman accept) or "
            + "name. Other processes' /proc metadata is read to decide, nothing else of them.")
    String scope;

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        if (targets.listRules) {
            RuleList.print(stdout, options.output.json, dev.memsentry.detect.BuiltinRules.SCAN);
            return ExitCodes.OK;
        }
        ContainerScope containerScope = null;
        if (scope != null) {
            if (!targets.all) {
                throw usage("--scope applies to --all");
            }
            try {
                containerScope = ContainerScope.parse(scope);
            } catch (IllegalArgumentException e) {
                throw usage("--scope: " + e.getMessage());
            }
        }
        Detection detection;
        // The sinks open as soon as the configuration is read: a Kafka producer's start-up (its
        // classes, metadata, producer id) then runs alongside the native library and rules loading.
        SinkSet[] sinks = new SinkSet[1];
        boolean prepared = false;
        try {
            detection = Detection.prepare(options, main::agent, Runtime.getRuntime().availableProcessors(), false,
                cfg -> sinks[0] = openSinks(cfg));
            prepared = true;
        } catch (Detection.SetupException e) {
            if (e.usage) {
                throw usage(e.lines.get(0));
            }
            e.lines.forEach(l -> spec.commandLine().getErr().println("memsentry: " + l));
            return e.exitCode;
        } finally {
            if (!prepared && sinks[0] != null) {
                sinks[0].closeNow();
            }
        }
        try (detection) {
            return scan(main.agent(), detection, containerScope, sinks[0]);
        }
    }

    private SinkSet openSinks(ScanConfig cfg) throws Detection.SetupException {
        try {
            return AlertOutput.openSinks(options.sinks, cfg.output(), evidenceBase(cfg));
        } catch (AlertOutput.OpenException e) {
            throw new Detection.SetupException(List.of(e.getMessage()), false, e.exitCode);
        }
    }

    private Path evidenceBase(ScanConfig cfg) {
        return options.evidenceDir != null ? options.evidenceDir : cfg.evidence().evidenceDir();
    }

    private int scan(Agent agent, Detection d, ContainerScope containerScope, SinkSet sinks) {
        boolean json = options.output.json;
        PrintWriter stdout = spec.commandLine().getOut();
        ProcessPins pins = d.action.kills() ? new ProcessPins(agent) : null;
        ScanSession session = new ScanSession(agent, new DetectionPolicy(d.cfg), pins);
        if (containerScope != null && !session.containers().supported()) {
            spec.commandLine().getErr().println("memsentry: --scope " + containerScope + ": the " + agent.backendName()
                + " backend cannot tell which container a process is in");
            if (pins != null) {
                pins.close();
            }
            if (sinks != null) {
                sinks.closeNow();
            }
            return ExitCodes.FAILED;
        }
        List<Long> pids = new ArrayList<>();
        int leftOut = 0;
        if (targets.all) {
            // Decided after the listing: a stub agent answers one request at a time.
            for (var p : agent.processes()) {
                if (containerScope == null || session.containers().inScope(containerScope, p.pid())) {
                    pids.add(p.pid());
                } else {
                    leftOut++;
                }
            }
        } else {
            pids.addAll(new LinkedHashSet<>(targets.pids));
        }

        ProcessScanner scanner = new ProcessScanner(session, d.yara == null ? List.of() : List.of(d.yara));
        ScanRunner runner = new ScanRunner(scanner, d.workers, d.budget);
        if (d.yara != null) {
            d.yara.useStreaming(Math.min(d.workers, pids.size()));
        }
        EcsWriter ecs = new EcsWriter();
        ScanSummary summary = new ScanSummary();
        summary.requested(pids.size());
        if (containerScope != null) {
            summary.scope(containerScope.toString(), leftOut);
            if (pids.isEmpty()) {
                LOG.warn("no process is in {}", containerScope);
            }
        }
        summary.threads(runner.threads());
        summary.yara(d.yaraStatus);
        LOG.debug("scan: {} processes, {} threads, {} s per process, respond {} at {}+", pids.size(), d.workers,
            d.budget.toSeconds(), d.action.wireName(), d.actionMin.wireName());

        List<Alert> shown = new ArrayList<>();
        List<String> actions = new ArrayList<>();
        List<Long> failedExplicit = new ArrayList<>();
        long started = System.nanoTime();
        AlertOutput output;
        try {
            output = AlertOutput.open(options.output.out, json ? stdout : null, sinks);
        } catch (AlertOutput.OpenException e) {
            if (pins != null) {
                pins.close();
            }
            spec.commandLine().getErr().println("memsentry: " + e.getMessage());
            return e.exitCode;
        }
        Responder responder = new Responder(agent, d.action, d.actionMin, d.grace, d.evidence, ecs, e -> {
            output.write(e);
            actions.add(e.message());
        }, pins);
        // SIGTERM or Ctrl-C: stop scanning, let the agent resume a target being dumped (the partial
        // file removed), then the summary and the sinks' bounded wait; what is not delivered is spooled.
        StopHook hook = new StopHook("memsentry-scan-stop", () -> {
            summary.interrupted();
            runner.stop();
            responder.cancelAndWait();
        }, StopHook.afterStop(output.sinkWait()), output::closeSinks);
        try (hook; output) {
            ScanRunner.Progress progress = !noProgress && System.console() != null && pids.size() > 1
                ? new TerminalProgress(spec.commandLine().getErr()) : ScanRunner.Progress.NONE;
            runner.run(pids, !targets.all, r -> {
                summary.add(r);
                report(r, failedExplicit);
                for (Alert a : r.alerts()) {
                    if (!a.severity().atLeast(d.threshold)) {
                        summary.belowThreshold();
                        continue;
                    }
                    summary.reported(a);
                    output.write(ecs.alert(a));
                    if (!json) {
                        shown.add(a);
                    }
                }
                responder.respond(r);
                if (pins != null) {
                    pins.release(r.pid());
                }
            }, progress);
            summary.responses(responder.counts());
            summary.unsupported(session.unsupportedRules());
            summary.elapsed(System.nanoTime() - started);
            output.drain();
            List<SinkStats> sinkStats = output.sinkStats();
            if (!json) {
                printTable(stdout, shown);
                actions.forEach(a -> stdout.println(TerminalText.escape(a)));
                stdout.print(summary.toText());
                sinkStats.forEach(st -> stdout.println(st.text()));
                stdout.flush();
            }
            JsonFields ms = new JsonFields();
            JsonFields summaryJson = summary.toJson();
            if (!sinkStats.isEmpty()) {
                summaryJson.set("sinks", SinkReport.json(sinkStats));
            }
            ms.set("summary", summaryJson);
            output.write(ecs.event(Instant.now(), "scan-summary", null, null, "scanned " + summary.toJson()
                .get("processes_scanned") + " processes, " + summary.findings() + " findings", ms));
            SinkReport.log(output.closeSinks());
        } catch (IOException e) {
            spec.commandLine().getErr().println("memsentry: cannot write " + options.output.out + ": " + e.getMessage());
            return e instanceof dev.memsentry.sink.FileSink.Refused ? ExitCodes.USAGE : ExitCodes.FAILED;
        } finally {
            if (pins != null) {
                pins.close();
            }
        }
        if (summary.findings() > 0) {
            return ExitCodes.FINDINGS;
        }
        return failedExplicit.isEmpty() ? ExitCodes.OK : ExitCodes.FAILED;
    }

    private void report(ProcessResult r, List<Long> failedExplicit) {
        for (String w : r.warnings()) {
            LOG.warn("pid {}: {}", r.pid(), w);
        }
        switch (r.outcome()) {
            case VANISHED, DENIED, FAILED -> {
                LOG.warn("pid {}: {}: {}", r.pid(), r.outcome().description(), r.detail());
                if (!targets.all) {
                    failedExplicit.add(r.pid());
                }
            }
            case TIMED_OUT -> LOG.warn("pid {}: timed out: {}", r.pid(), r.detail());
            default -> {
            }
        }
    }

    private static void printTable(PrintWriter stdout, List<Alert> alerts) {
        if (alerts.isEmpty()) {
            stdout.println("no findings");
            return;
        }
        Table t = new Table("SEVERITY", "RULE", "PID", "PROCESS", "REGION", "WHAT");
        alerts.stream()
            .sorted(Comparator.comparing(Alert::severity).reversed().thenComparingLong(a -> a.process().pid()))
            .forEach(a -> t.add(a.severity().wireName(), a.rule().id(), a.process().pid(), a.process().name(),
                a.region() == null ? "-" : Json.hex(a.region().start()) + " " + a.region().perms(), a.message()));
        t.print(stdout);
    }
}
