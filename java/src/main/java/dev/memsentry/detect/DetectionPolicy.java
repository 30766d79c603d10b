package dev.memsentry.detect;

import dev.memsentry.agent.ProcessInfo;
import dev.memsentry.config.AllowEntry;
import dev.memsentry.config.JitRuntime;
import dev.memsentry.config.ScanConfig;
import java.util.List;
import java.util.Optional;

/**
 * The configuration as the checks use it: which rules run, at what severity, the JIT list and
 * severity, the allowlist and known debuggers.
 */
public final class DetectionPolicy {
    private final ScanConfig config;

    public DetectionPolicy(ScanConfig config) {
        this.config = config;
    }

    public ScanConfig config() {
        return config;
    }

    public boolean enabled(Rule rule) {
        ScanConfig.RuleSetting s = config.heuristics().get(rule.id());
        return s == null || s.enabled() == null || s.enabled();
    }

    public boolean anyEnabled(List<Rule> rules) {
        return rules.stream().anyMatch(this::enabled);
    }

    /** The rule's severity after the configuration's override. */
    public Severity configured(Rule rule) {
        ScanConfig.RuleSetting s = config.heuristics().get(rule.id());
        return s != null && s.severity() != null ? s.severity() : rule.severity();
    }

    /** The final severity of a finding: configured, shifted by the check, capped for JIT runtimes. */
    public Severity severity(Finding f, Optional<JitRuntime> jit) {
        Severity s = configured(f.rule()).shifted(f.severityShift());
        if (jit.isPresent() && f.rule().jitSensitive() && s.compareTo(config.jitSeverity()) > 0) {
            s = config.jitSeverity();
        }
        return s;
    }

    public List<JitRuntime> jitRuntimes() {
        return config.jitRuntimes();
    }

    public List<AllowEntry> allowlist() {
        return config.allowlist();
    }

    public List<String> knownDebuggers() {
        return config.knownDebuggers();
    }

    /**
     * A debugger on the known_debuggers list, by its executable's file name (not comm, which a
     * process sets for itself), running from a file that still exists and is not a memfd.
     */
    public boolean knownDebugger(ProcessInfo p) {
        if (p.exeDeleted() || p.exe().isEmpty() || p.exe().startsWith("/memfd:")) {
            return false;
        }
        return knownDebuggers().contains(ProcessContext.fileName(p.exe()));
    }

    public boolean compareAllPages() {
        return config.compareAllPages();
    }
}
