package dev.memsentry.config;

import dev.memsentry.detect.Severity;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The validated configuration file (see {@link ConfigLoader} and the README). Absent keys keep
 * their defaults; command-line options override what is set here.
 *
 * @param heuristics     per built-in rule id: switched on or off, and a severity, where set
 * @param protectedList  names or executable paths never to terminate, added to the agent's defaults; null: none added
 * @param responseGraceSeconds time between SIGTERM and SIGKILL for --respond kill; null: the default (5 s)
 * @param threads        null: one per core
 * @param evidence       how --respond dump and dump-kill keep their evidence
 * @param output         sinks and spool
 */
public record ScanConfig(Path source, List<Path> rules, Map<String, RuleSetting> heuristics, Severity jitSeverity,
                         List<JitRuntime> jitRuntimes, List<AllowEntry> allowlist, List<String> protectedList,
                         List<String> knownDebuggers, ResponseAction responseAction, Severity responseMin,
                         Integer responseGraceSeconds, Integer threads, Integer processTimeoutSeconds,
                         boolean compareAllPages, EvidenceSettings evidence, OutputSettings output) {

    /** A rule's setting; a null field keeps the rule's default. */
    public record RuleSetting(Boolean enabled, Severity severity) {
    }

    /** Debuggers whose ptrace attachment is not an alert (matched on the tracer's executable file name). */
    public static final List<String> DEFAULT_DEBUGGERS = List.of("gdb", "gdbserver", "lldb", "lldb-server", "strace",
        "ltrace", "rr", "valgrind", "perf");

    public ScanConfig {
        rules = List.copyOf(rules);
        heuristics = Map.copyOf(heuristics);
        jitRuntimes = List.copyOf(jitRuntimes);
        allowlist = List.copyOf(allowlist);
        protectedList = protectedList == null ? null : List.copyOf(protectedList);
        knownDebuggers = List.copyOf(knownDebuggers);
        evidence = evidence == null ? EvidenceSettings.DEFAULTS : evidence;
        output = output == null ? OutputSettings.DEFAULTS : output;
    }

    public static ScanConfig defaults() {
        return new ScanConfig(null, List.of(), Map.of(), Severity.LOW, JitRuntime.DEFAULTS, List.of(), null,
            DEFAULT_DEBUGGERS, ResponseAction.ALERT, Severity.HIGH, null, null, null, false,
            EvidenceSettings.DEFAULTS, OutputSettings.DEFAULTS);
    }
}
