package dev.memsentry.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.DumpFormat;
import dev.memsentry.agent.DumpOptions;
import dev.memsentry.agent.Status;
import dev.memsentry.config.ConfigException;
import dev.memsentry.config.ConfigLoader;
import dev.memsentry.config.ResponseAction;
import dev.memsentry.config.ScanConfig;
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
import dev.memsentry.output.JsonLines;
import dev.memsentry.output.Table;
import dev.memsentry.output.TerminalText;
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
    /** Relative to the current directory, where a responder running scan by hand looks first. */
    static final String DEFAULT_EVIDENCE_DIR = "memsentry-evidence";

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

    @Option(names = "--rules", paramLabel = "PATH",
        description = "YARA rules: a .yar file, a folder of them, or a file compiled by yarac (repeatable; "
            + "replaces the configuration's rules). Compiled once; one pass over each process per PATH.")
    List<Path> rules;

    @Option(names = "--allow-compiled-rules", description = "Accept rules compiled by yarac. libyara does not "
        + "validate them: load them only from a trusted source.")
    boolean allowCompiledRules;

    @Option(names = "--yara-max-block", paramLabel = "SIZE", converter = SizeConverter.class, defaultValue = "0",
        description = "Scan mappings in YARA blocks of at most SIZE (e.g. 64M): bounds memsentry's memory to one "
            + "block per thread, with the results of yara --max-process-memory-chunk=SIZE (a string across a "
            + "block boundary is not matched). Default 0: libyara's 1 GiB, the results of a plain yara RULES PID.")
    long yaraMaxBlock;

    @Option(names = "--no-heuristics", description = "Run no built-in heuristic (YARA only).")
    boolean noHeuristics;

    @Option(names = "--config", paramLabel = "FILE", description = "Configuration file (YAML or JSON).")
    Path config;

    @Option(names = "--json", description = "One ECS JSON object per line on standard output.")
    boolean json;

    @Option(names = "--out", paramLabel = "FILE",
        description = "Append the JSON lines to FILE (created with mode 0600; refused: a symbolic link, or an existing "
            + "file that is not yours alone: another user's, writable by group or others, hard-linked).")
    Path out;

    @Mixin
    SinkOptions sinkOptions;

    @Option(names = "--min-severity", paramLabel = "SEVERITY", converter = SeverityConverter.class,
        description = "Report only alerts at or above this severity (low, medium, high, critical; default low).")
    Severity minSeverity;

    @Option(names = "--respond", paramLabel = "ACTION", converter = ResponseConverter.class,
        description = "What to do about alerts at or above --respond-min: alert (default), dump, kill, dump-kill.")
    ResponseAction respond;

    @Option(names = "--respond-min", paramLabel = "SEVERITY", converter = SeverityConverter.class,
        description = "Minimum severity that triggers --respond (default high).")
    Severity respondMin;

    @Option(names = "--respond-grace", paramLabel = "DURATION", converter = DurationConverter.class,
        description = "For kill: time between SIGTERM and SIGKILL (default 5s; 0 kills at once).")
    Duration respondGrace;

    @Option(names = "--evidence-dir", paramLabel = "DIR",
        description = "For dump and dump-kill: where the evidence goes (default ./memsentry-evidence, created 0700; "
            + "refused: a symbolic link, another user's directory, one group or others may write). One file "
            + "NAME.PID.YYYYMMDDTHHMMSSZ.FORMAT per process, never replaced.")
    Path evidenceDir;

    @Option(names = "--dump-format", paramLabel = "core|raw", converter = DumpFormatConverter.class,
        description = "For dump and dump-kill: core (default; an ELF core file gdb opens) or raw (bytes plus a JSON "
            + "manifest). The stub backend writes raw only: core becomes raw there, with one warning.")
    DumpFormat dumpFormat;

    @Option(names = {"-j", "--threads"}, paramLabel = "N",
        description = "Processes scanned in parallel (default: one per core).")
    Integer threads;

    @Option(names = "--timeout", paramLabel = "SECONDS",
        description = "Time budget per process; past it the process counts as timed out (default 60).")
    Integer timeoutSeconds;

    @Option(names = "--no-progress", description = "No progress line on a terminal.")
    boolean noProgress;

    static final class SeverityConverter implements CommandLine.ITypeConverter<Severity> {
        @Override
        public Severity convert(String value) {
            try {
                return Severity.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    static final class ResponseConverter implements CommandLine.ITypeConverter<ResponseAction> {
        @Override
        public ResponseAction convert(String value) {
            try {
                return ResponseAction.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    static final class DumpFormatConverter implements CommandLine.ITypeConverter<DumpFormat> {
        @Override
        public DumpFormat convert(String value) {
            return switch (value.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "core" -> DumpFormat.CORE;
                case "raw" -> DumpFormat.RAW;
                default -> throw new CommandLine.TypeConversionException("'" + value + "' is not a dump format (core, raw)");
            };
        }
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        if (targets.listRules) {
            RuleList.print(stdout, json, dev.memsentry.detect.BuiltinRules.SCAN);
            return ExitCodes.OK;
        }
        ScanConfig cfg;
        try {
            cfg = config == null ? ScanConfig.defaults() : ConfigLoader.load(config);
        } catch (ConfigException e) {
            spec.commandLine().getErr().println("memsentry: invalid configuration: " + e.getMessage());
            return ExitCodes.USAGE;
        }
        ResponseAction action = respond != null ? respond : cfg.responseAction();
        Severity actionMin = respondMin != null ? respondMin : cfg.responseMin();
        if (!action.dumps() && (evidenceDir != null || dumpFormat != null)) {
            throw usage("--evidence-dir and --dump-format apply to --respond dump and dump-kill");
        }
        Duration grace = respondGrace != null ? respondGrace : cfg.responseGraceSeconds() != null
            ? Duration.ofSeconds(cfg.responseGraceSeconds()) : Duration.ofSeconds(5);
        if (grace.compareTo(Agent.MAX_GRACE) > 0) {
            throw usage("--respond-grace: at most 1h");
        }
        int workers = threads != null ? threads : cfg.threads() != null ? cfg.threads()
            : Runtime.getRuntime().availableProcessors();
        if (workers < 1 || workers > 1024) {
            throw usage("--threads must be from 1 to 1024");
        }
        int budget = timeoutSeconds != null ? timeoutSeconds : cfg.processTimeoutSeconds() != null
            ? cfg.processTimeoutSeconds() : 60;
        if (budget < 1 || budget > 86_400) {
            throw usage("--timeout must be from 1 to 86400 seconds");
        }
        Severity threshold = minSeverity != null ? minSeverity : Severity.LOW;
        if (noHeuristics) {
            cfg = withoutHeuristics(cfg);
        }
        List<Path> rulePaths = rules != null ? rules : cfg.rules();

        Path evidencePath = null;
        if (action.dumps()) {
            Path dir = evidenceDir != null ? evidenceDir : cfg.evidence().evidenceDir() != null
                ? cfg.evidence().evidenceDir() : Path.of(DEFAULT_EVIDENCE_DIR);
            try {
                evidencePath = EvidenceFiles.prepareDirectory(dir, true);
            } catch (IOException e) {
                spec.commandLine().getErr().println("memsentry: evidence directory: " + e.getMessage());
                return ExitCodes.USAGE;
            }
        }

        Agent agent = main.agent();
        Responder.Evidence evidence = evidencePath == null ? null : new Responder.Evidence(evidencePath,
            evidenceOptions(agent, cfg));
        if (action.kills() && cfg.protectedList() != null) {
            for (String entry : cfg.protectedList()) {
                try {
                    agent.protect(entry);
                } catch (IllegalArgumentException e) {
                    spec.commandLine().getErr().println("memsentry: invalid configuration: " + cfg.source()
                        + ": protected: '" + entry + "': " + e.getMessage());
                    return ExitCodes.USAGE;
                }
            }
        }
        YaraDetector yara = null;
        String yaraStatus = "off (no rules given)";
        if (!rulePaths.isEmpty()) {
            try {
                yara = YaraDetector.compile(agent, rulePaths, yaraMaxBlock, allowCompiledRules);
                yaraStatus = yara.describe();
                for (YaraRules r : yara.rules()) {
                    r.warnings().forEach(w -> LOG.warn("rules: {}", w));
                }
            } catch (YaraCompileException e) {
                PrintWriter err = spec.commandLine().getErr();
                for (YaraDiagnostic d : e.errors()) {
                    err.println("memsentry: rules error: " + d);
                }
                if (e.errors().isEmpty()) {
                    err.println("memsentry: rules error: " + e.getMessage());
                }
                return ExitCodes.USAGE;
            } catch (AgentException e) {
                if (e.status() != Status.UNSUPPORTED) {
                    throw e;
                }
                // Rules were asked for: scanning without them would look like a clean result.
                spec.commandLine().getErr().println("memsentry: YARA rules were given but YARA is not available: "
                    + e.getMessage() + " (run 'doctor')");
                return ExitCodes.FAILED;
            }
        }
        try {
            return scan(agent, cfg, yara, yaraStatus, workers, budget, threshold, action, actionMin, grace, evidence);
        } finally {
            if (yara != null) {
                yara.close();
            }
        }
    }

    /**
     * How response dumps are taken: the configured format (core by default), cap per region (the
     * dump default of 10 MiB) and freeze (on by default: the native dump always resumes the target,
     * and the core then holds every thread's registers); fsync'd, since evidence must survive a
     * crash of the host that the implant may cause next. The stub writes raw dumps only and cannot
     * freeze: core becomes raw there, with one WARN.
     */
    private DumpOptions evidenceOptions(Agent agent, ScanConfig cfg) {
        DumpFormat format = dumpFormat != null ? dumpFormat : cfg.evidence().format() != null ? cfg.evidence().format()
            : DumpFormat.CORE;
        boolean freeze = cfg.evidence().freeze() == null || cfg.evidence().freeze();
        if (agent.backendName().equals("stub")) {
            if (format == DumpFormat.CORE) {
                LOG.warn("the stub backend writes raw dumps only: response evidence is raw (bytes and a JSON manifest), "
                    + "not core");
                format = DumpFormat.RAW;
            }
            freeze = false;
        } else if (!format.writtenOn(System.getProperty("os.name", ""))) {
            LOG.warn("{} dumps are not written on this system: response evidence is raw (bytes and a JSON manifest)",
                format.wireName());
            format = DumpFormat.RAW;
        }
        long maxRegion = cfg.evidence().maxRegionSize() != null ? cfg.evidence().maxRegionSize()
            : DumpOptions.DEFAULT_MAX_REGION;
        return new DumpOptions(format, freeze, false, false, true, maxRegion, 0, 0, 0);
    }

    /** The configuration with every built-in rule switched off. */
    private static ScanConfig withoutHeuristics(ScanConfig c) {
        java.util.Map<String, ScanConfig.RuleSetting> off = new java.util.HashMap<>();
        for (dev.memsentry.detect.Rule r : dev.memsentry.detect.BuiltinRules.ALL) {
            off.put(r.id(), new ScanConfig.RuleSetting(false, null));
        }
        return new ScanConfig(c.source(), c.rules(), off, c.jitSeverity(), c.jitRuntimes(), c.allowlist(),
            c.protectedList(), c.knownDebuggers(), c.responseAction(), c.responseMin(), c.responseGraceSeconds(),
            c.threads(), c.processTimeoutSeconds(), c.compareAllPages(), c.evidence(), c.output());
    }

    private int scan(Agent agent, ScanConfig cfg, YaraDetector yara, String yaraStatus, int workers, int budget,
                     Severity threshold, ResponseAction action, Severity actionMin, Duration grace,
                     Responder.Evidence evidence) {
        PrintWriter stdout = spec.commandLine().getOut();
        List<Long> pids = new ArrayList<>();
        if (targets.all) {
            agent.forEachProcess(p -> pids.add(p.pid()));
        } else {
            pids.addAll(new LinkedHashSet<>(targets.pids));
        }

        ProcessPins pins = action.kills() ? new ProcessPins(agent) : null;
        ScanSession session = new ScanSession(agent, new DetectionPolicy(cfg), pins);
        ProcessScanner scanner = new ProcessScanner(session, yara == null ? List.of() : List.of(yara));
        ScanRunner runner = new ScanRunner(scanner, workers, Duration.ofSeconds(budget));
        EcsWriter ecs = new EcsWriter();
        ScanSummary summary = new ScanSummary();
        summary.requested(pids.size());
        summary.threads(runner.threads());
        summary.yara(yaraStatus);
        LOG.debug("scan: {} processes, {} threads, {} s per process, respond {} at {}+", pids.size(), workers, budget,
            action.wireName(), actionMin.wireName());

        List<Alert> shown = new ArrayList<>();
        List<String> actions = new ArrayList<>();
        List<Long> failedExplicit = new ArrayList<>();
        long started = System.nanoTime();
        Path evidenceBase = evidenceDir != null ? evidenceDir : cfg.evidence().evidenceDir();
        try (AlertOutput output = AlertOutput.open(out, json ? new JsonLines(stdout) : null, sinkOptions, cfg.output(),
            evidenceBase)) {
            Responder responder = new Responder(agent, action, actionMin, grace, evidence, ecs, e -> {
                output.write(e);
                actions.add(e.get("message").asText());
            }, pins);
            // Ctrl-C during a response dump: let the agent resume the target and remove the partial file.
            Thread hook = new Thread(responder::cancelAndWait, "memsentry-scan-cancel");
            Runtime.getRuntime().addShutdownHook(hook);
            ScanRunner.Progress progress = !noProgress && System.console() != null && pids.size() > 1
                ? new TerminalProgress(spec.commandLine().getErr()) : ScanRunner.Progress.NONE;
            runner.run(pids, !targets.all, r -> {
                summary.add(r);
                report(r, failedExplicit);
                for (Alert a : r.alerts()) {
                    if (!a.severity().atLeast(threshold)) {
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
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running and finishes the cancellation
            }
            summary.responses(responder.counts());
            summary.unsupported(session.unsupportedRules());
            summary.elapsed(System.nanoTime() - started);
            output.drain();
            List<SinkStats> sinks = output.sinkStats();
            if (!json) {
                printTable(stdout, shown);
                actions.forEach(a -> stdout.println(TerminalText.escape(a)));
                stdout.print(summary.toText());
                sinks.forEach(st -> stdout.println(st.text()));
                stdout.flush();
            }
            ObjectNode ms = Json.object();
            ObjectNode summaryJson = summary.toJson();
            if (!sinks.isEmpty()) {
                summaryJson.set("sinks", SinkReport.json(sinks));
            }
            ms.set("summary", summaryJson);
            output.write(ecs.event(Instant.now(), "scan-summary", null, null, "scanned " + summary.toJson()
                .get("processes_scanned").asInt() + " processes, " + summary.findings() + " findings", ms));
            SinkReport.log(output.closeSinks());
        } catch (AlertOutput.OpenException e) {
            spec.commandLine().getErr().println("memsentry: " + e.getMessage());
            return e.exitCode;
        } catch (IOException e) {
            spec.commandLine().getErr().println("memsentry: cannot write " + out + ": " + e.getMessage());
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
