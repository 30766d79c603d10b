package dev.memsentry.cli;

import dev.memsentry.agent.DumpFormat;
import dev.memsentry.config.ResponseAction;
import dev.memsentry.detect.Severity;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The detection, output and response options that scan and watch share (a picocli mixin), so both
 * commands read them, default them and document them the same way. {@link Detection#prepare} turns them
 * into a ready detection engine.
 */
final class DetectionOptions {
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

    @Mixin
    JsonOutOptions output;

    @Mixin
    SinkOptions sinks;

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
        description = "Processes scanned in parallel (scan: one per core by default; watch: 2).")
    Integer threads;

    @Option(names = "--timeout", paramLabel = "SECONDS",
        description = "Time budget per process; past it the process counts as timed out (default 60).")
    Integer timeoutSeconds;

    /** A picocli converter over a parser that throws IllegalArgumentException with the message to show. */
    static <T> T parsed(java.util.function.Function<String, T> parser, String value) {
        try {
            return parser.apply(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }

    static final class SeverityConverter implements CommandLine.ITypeConverter<Severity> {
        @Override
        public Severity convert(String value) {
            return parsed(Severity::parse, value);
        }
    }

    static final class ResponseConverter implements CommandLine.ITypeConverter<ResponseAction> {
        @Override
        public ResponseAction convert(String value) {
            return parsed(ResponseAction::parse, value);
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
}
