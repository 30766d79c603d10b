package dev.memsentry.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.config.ConfigLoader;
import dev.memsentry.config.JitRuntime;
import dev.memsentry.config.ScanConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DetectionPolicyTest {
    private static final Optional<JitRuntime> JVM = Optional.of(JitRuntime.DEFAULTS.get(0));

    @Test
    void defaultsRunEveryRuleAtItsOwnSeverity() {
        DetectionPolicy p = new DetectionPolicy(ScanConfig.defaults());
        for (Rule r : BuiltinRules.ALL) {
            assertTrue(p.enabled(r), r.id());
            assertEquals(r.severity(), p.severity(Finding.of(r, null, "x"), Optional.empty()), r.id());
        }
    }

    @Test
    void jitRuntimesCapOnlyJitSensitiveRules() {
        DetectionPolicy p = new DetectionPolicy(ScanConfig.defaults());
        assertEquals(Severity.LOW, p.severity(Finding.of(BuiltinRules.RWX, null, "x"), JVM));
        assertEquals(Severity.LOW, p.severity(Finding.of(BuiltinRules.THREAD_ANONYMOUS, null, "x"), JVM));
        assertEquals(Severity.HIGH, p.severity(Finding.of(BuiltinRules.CODE_PATCHED, null, "x"), JVM),
            "patched library code is not something a JIT does");
        assertEquals(Severity.HIGH, p.severity(Finding.of(BuiltinRules.REFLECTIVE_ELF, null, "x"), JVM));
    }

    @Test
    void configOverridesAndCheckShiftsCombine() {
        ScanConfig c = ConfigLoader.parse(Path.of("c.yaml"), """
            heuristics:
              fileless.map_deleted: {severity: critical}
              memory.rwx: off
            jit: {severity: medium}
            """);
        DetectionPolicy p = new DetectionPolicy(c);
        assertFalse(p.enabled(BuiltinRules.RWX));
        assertTrue(p.enabled(BuiltinRules.EXEC_ANONYMOUS));
        Finding replaced = Finding.of(BuiltinRules.MAP_DELETED, null, "x").lowered(2);
        assertEquals(Severity.MEDIUM, p.severity(replaced, Optional.empty()), "critical, two steps down");
        assertEquals(Severity.MEDIUM, p.severity(Finding.of(BuiltinRules.EXEC_ANONYMOUS, null, "x"), JVM));
        assertEquals(Severity.LOW, p.severity(Finding.of(BuiltinRules.LD_PRELOAD, null, "x").lowered(5),
            Optional.empty()), "clamped at low");
        assertThrows(IllegalArgumentException.class,
            () -> new Finding(BuiltinRules.RWX, 1, null, "x", new dev.memsentry.output.JsonFields(), null));
    }

    @Test
    void severityParsingAndNumbers() {
        assertEquals(Severity.HIGH, Severity.parse(" High "));
        assertEquals(List.of(21, 47, 73, 99), List.of(Severity.LOW.score(), Severity.MEDIUM.score(),
            Severity.HIGH.score(), Severity.CRITICAL.score()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Severity.parse("severe"));
        assertEquals("'severe' is not a severity (low, medium, high, critical)", e.getMessage());
    }

    @Test
    void ruleIdsAreUniqueAndEveryRuleHasATechnique() {
        assertEquals(BuiltinRules.ALL.size(), BuiltinRules.ALL.stream().map(Rule::id).distinct().count());
        for (Rule r : BuiltinRules.ALL) {
            assertTrue(r.techniqueId().matches("T\\d{4}(\\.\\d{3})?"), r.id());
            assertFalse(r.description().isBlank(), r.id());
            assertEquals(Optional.of(r), BuiltinRules.byId(r.id()));
        }
    }
}
