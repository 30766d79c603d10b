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
import dev.memsentry.detect.Responder;
import dev.memsentry.detect.Severity;
import dev.memsentry.detect.YaraDetector;
import dev.memsentry.detect.yara.YaraCompileException;
import dev.memsentry.detect.yara.YaraDiagnostic;
import dev.memsentry.detect.yara.YaraRules;
import dev.memsentry.output.EvidenceFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A detection engine made ready from {@link DetectionOptions} and the configuration file: the
 * configuration, the compiled YARA rules, the response settings and the evidence directory. scan
 * prepares one per run; watch prepares one at start and another on each SIGHUP.
 */
final class Detection implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Detection.class);
    /** Relative to the current directory, where a responder running scan by hand looks first. */
    static final String DEFAULT_EVIDENCE_DIR = "memsentry-evidence";

    /** Why the engine could not be prepared: the lines to show, and whether it was a usage error. */
    static final class SetupException extends Exception {
        private static final long serialVersionUID = 1L;
        final transient List<String> lines;
        final boolean usage;
        /** The exit code when it is not a usage error: 2 for bad configuration or rules, 3 for a failure. */
        final int exitCode;

        SetupException(List<String> lines, boolean usage, int exitCode) {
            super(String.join("; ", lines));
            this.lines = List.copyOf(lines);
            this.usage = usage;
            this.exitCode = exitCode;
        }

        static SetupException usage(String message) {
            return new SetupException(List.of(message), true, ExitCodes.USAGE);
        }

        static SetupException invalid(String line) {
            return new SetupException(List.of(line), false, ExitCodes.USAGE);
        }
    }

    final ScanConfig cfg;
    final ResponseAction action;
    final Severity actionMin;
    final Duration grace;
    final Severity threshold;
    final int workers;
    final Duration budget;
    final Responder.Evidence evidence;
    final YaraDetector yara;
    final String yaraStatus;

    private Detection(ScanConfig cfg, ResponseAction action, Severity actionMin, Duration grace, Severity threshold,
                      int workers, Duration budget, Responder.Evidence evidence, YaraDetector yara, String yaraStatus) {
        this.cfg = cfg;
        this.action = action;
        this.actionMin = actionMin;
        this.grace = grace;
        this.threshold = threshold;
        this.workers = workers;
        this.budget = budget;
        this.evidence = evidence;
        this.yara = yara;
        this.yaraStatus = yaraStatus;
    }

    /**
     * Reads the configuration, checks the options against it, prepares the evidence directory, adds
     * the configured protected processes (after the defaults again when replacing, so a reload never
     * keeps an entry the new file dropped) and compiles the rules. The agent is asked for only after
     * the configuration and options are known to be good.
     */
    /** Told the configuration as soon as it is read and checked, before the native library and the rules load. */
    interface Configured {
        void accept(ScanConfig cfg) throws SetupException;
    }

    static Detection prepare(DetectionOptions o, Supplier<Agent> agents, int defaultWorkers, boolean replacing)
        throws SetupException {
        return prepare(o, agents, defaultWorkers, replacing, cfg -> { });
    }

    static Detection prepare(DetectionOptions o, Supplier<Agent> agents, int defaultWorkers, boolean replacing,
                             Configured configured) throws SetupException {
        ScanConfig cfg;
        try {
            cfg = o.config == null ? ScanConfig.defaults() : ConfigLoader.load(o.config);
        } catch (ConfigException e) {
            throw SetupException.invalid("invalid configuration: " + e.getMessage());
        }
        ResponseAction action = o.respond != null ? o.respond : cfg.responseAction();
        Severity actionMin = o.respondMin != null ? o.respondMin : cfg.responseMin();
        if (!action.dumps() && (o.evidenceDir != null || o.dumpFormat != null)) {
            throw SetupException.usage("--evidence-dir and --dump-format apply to --respond dump and dump-kill");
        }
        Duration grace = o.respondGrace != null ? o.respondGrace : cfg.responseGraceSeconds() != null
            ? Duration.ofSeconds(cfg.responseGraceSeconds()) : Duration.ofSeconds(5);
        if (grace.compareTo(Agent.MAX_GRACE) > 0) {
            throw SetupException.usage("--respond-grace: at most 1h");
        }
        int workers = o.threads != null ? o.threads : cfg.threads() != null ? cfg.threads() : defaultWorkers;
        if (workers < 1 || workers > 1024) {
            throw SetupException.usage("--threads must be from 1 to 1024");
        }
        int budget = o.timeoutSeconds != null ? o.timeoutSeconds : cfg.processTimeoutSeconds() != null
            ? cfg.processTimeoutSeconds() : 60;
        if (budget < 1 || budget > 86_400) {
            throw SetupException.usage("--timeout must be from 1 to 86400 seconds");
        }
        Severity threshold = o.minSeverity != null ? o.minSeverity : Severity.LOW;
        if (o.noHeuristics) {
            cfg = withoutHeuristics(cfg);
        }
        List<Path> rulePaths = o.rules != null ? o.rules : cfg.rules();

        Path evidencePath = null;
        if (action.dumps()) {
            Path dir = o.evidenceDir != null ? o.evidenceDir : cfg.evidence().evidenceDir() != null
                ? cfg.evidence().evidenceDir() : Path.of(DEFAULT_EVIDENCE_DIR);
            try {
                evidencePath = EvidenceFiles.prepareDirectory(dir, true);
            } catch (IOException e) {
                throw SetupException.invalid("evidence directory: " + e.getMessage());
            }
        }

        configured.accept(cfg);
        Agent agent = agents.get();
        Responder.Evidence evidence = evidencePath == null ? null : new Responder.Evidence(evidencePath,
            evidenceOptions(o, agent, cfg));
        if (action.kills() && cfg.protectedList() != null) {
            if (replacing) {
                // Checked before the list is emptied, so a bad new entry leaves the old list in force.
                for (String entry : cfg.protectedList()) {
                    if (entry.isEmpty() || entry.indexOf('\0') >= 0
                        || entry.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 4095) {
                        throw SetupException.invalid("invalid configuration: " + cfg.source() + ": protected: '"
                            + entry + "': not a process name or path");
                    }
                }
                agent.clearProtected();
                agent.protectDefaults();
            }
            for (String entry : cfg.protectedList()) {
                try {
                    agent.protect(entry);
                } catch (IllegalArgumentException e) {
                    throw SetupException.invalid("invalid configuration: " + cfg.source() + ": protected: '" + entry
                        + "': " + e.getMessage());
                }
            }
        }
        YaraDetector yara = null;
        String yaraStatus = "off (no rules given)";
        if (!rulePaths.isEmpty()) {
            try {
                yara = YaraDetector.compile(agent, rulePaths, o.yaraMaxBlock, o.allowCompiledRules);
                yaraStatus = yara.describe();
                for (YaraRules r : yara.rules()) {
                    r.warnings().forEach(w -> LOG.warn("rules: {}", w));
                }
            } catch (YaraCompileException e) {
                List<String> lines = new ArrayList<>();
                for (YaraDiagnostic d : e.errors()) {
                    lines.add("rules error: " + d);
                }
                if (e.errors().isEmpty()) {
                    lines.add("rules error: " + e.getMessage());
                }
                throw new SetupException(lines, false, ExitCodes.USAGE);
            } catch (AgentException e) {
                if (e.status() != Status.UNSUPPORTED) {
                    throw e;
                }
                // Rules were asked for: scanning without them would look like a clean result.
                throw new SetupException(List.of("YARA rules were given but YARA is not available: " + e.getMessage()
                    + " (run 'doctor')"), false, ExitCodes.FAILED);
            }
        }
        return new Detection(cfg, action, actionMin, grace, threshold, workers, Duration.ofSeconds(budget), evidence,
            yara, yaraStatus);
    }

    /**
     * How response dumps are taken: the configured format (core by default), cap per region (the
     * dump default of 10 MiB) and freeze (on by default: the native dump always resumes the target,
     * and the core then holds every thread's registers); fsync'd, since evidence must survive a
     * crash of the host that the implant may cause next. The stub writes raw dumps only and cannot
     * freeze: core becomes raw there, with one WARN.
     */
    private static DumpOptions evidenceOptions(DetectionOptions o, Agent agent, ScanConfig cfg) {
        DumpFormat format = o.dumpFormat != null ? o.dumpFormat : cfg.evidence().format() != null
            ? cfg.evidence().format() : DumpFormat.CORE;
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

    @Override
    public void close() {
        if (yara != null) {
            yara.close();
        }
    }
}
