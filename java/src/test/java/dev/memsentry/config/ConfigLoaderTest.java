package dev.memsentry.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.detect.Severity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigLoaderTest {
    private static final String SHA = "a".repeat(64);

    private static String error(String name, String text) {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse(Path.of(name), text));
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void fullYamlIsRead(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("rules"));
        Path file = dir.resolve("memsentry.yaml");
        Files.writeString(file, """
            rules: [rules]
            heuristics:
              memory.rwx: off
              code.patched: {severity: critical}
              inject.tracer: {enabled: false, severity: low}
            jit:
              severity: medium
              runtimes:
                - {name: mine, executables: ["my-jit*"]}
            allowlist:
              - sha256: %s
                name: runc
                rules: [fileless.exe_memfd]
            protected: [sshd, /usr/sbin/cron]
            known_debuggers: [gdb]
            response: {action: alert, min_severity: critical, grace_seconds: 0}
            scan: {threads: 3, process_timeout_seconds: 9, compare_all_pages: true}
            """.formatted(SHA.toUpperCase()));
        ScanConfig c = ConfigLoader.load(file);
        assertEquals(List.of(dir.resolve("rules")), c.rules(), "relative to the file");
        assertEquals(false, c.heuristics().get("memory.rwx").enabled());
        assertEquals(Severity.CRITICAL, c.heuristics().get("code.patched").severity());
        assertNull(c.heuristics().get("code.patched").enabled());
        assertEquals(Severity.MEDIUM, c.jitSeverity());
        assertEquals(List.of(new JitRuntime("mine", List.of(), List.of("my-jit*"))), c.jitRuntimes());
        assertEquals(new AllowEntry(SHA, "runc", Set.of("fileless.exe_memfd")), c.allowlist().get(0));
        assertEquals(List.of("sshd", "/usr/sbin/cron"), c.protectedList());
        assertEquals(List.of("gdb"), c.knownDebuggers());
        assertEquals(ResponseAction.ALERT, c.responseAction());
        assertEquals(Severity.CRITICAL, c.responseMin());
        assertEquals(0, c.responseGraceSeconds());
        assertEquals(3, c.threads());
        assertEquals(9, c.processTimeoutSeconds());
        assertTrue(c.compareAllPages());
    }

    @Test
    void jsonIsReadTooAndEmptyMeansDefaults() {
        ScanConfig c = ConfigLoader.parse(Path.of("c.json"), "{\"heuristics\": {\"memory.rwx\": false}}");
        assertEquals(false, c.heuristics().get("memory.rwx").enabled());
        ScanConfig empty = ConfigLoader.parse(Path.of("c.yaml"), "");
        assertEquals(ScanConfig.defaults().jitRuntimes(), empty.jitRuntimes());
        assertNull(empty.protectedList(), "not configured: the agent's defaults apply");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "heuristic: {}|heuristic: unknown key (expected one of: rules, heuristics,",
        "heuristics: {memory.rwz: off}|heuristics.memory.rwz: unknown rule (known: memory.exec_anonymous",
        "heuristics: {memory.rwx: {severity: hgh}}|heuristics.memory.rwx.severity: 'hgh' is not a severity (low, medium, high, critical)",
        "heuristics: {memory.rwx: {enabled: maybe}}|heuristics.memory.rwx.enabled: expected true or false, found 'maybe'",
        "heuristics: {memory.rwx: {color: red}}|heuristics.memory.rwx.color: unknown key (expected one of: enabled, severity)",
        "heuristics: [memory.rwx]|heuristics: expected a mapping of keys to values, found a list",
        "scan: {threads: 0}|scan.threads: expected a whole number from 1 to 1024, found 0",
        "scan: {threads: two}|scan.threads: expected a whole number from 1 to 1024, found 'two'",
        "response: {action: explode}|response.action: 'explode' is not a response (alert, dump, kill, dump-kill)",
        "response: {grace_seconds: 7200}|response.grace_seconds: expected a whole number from 0 to 3600, found 7200",
        "allowlist: [{name: runc}]|allowlist[0].sha256: is required",
        "allowlist: [{sha256: abc}]|allowlist[0].sha256: 'abc' is not a SHA-256 (64 hex digits)",
        "jit: {runtimes: [{name: x}]}|jit.runtimes[0]: needs libraries or executables",
        "jit: {runtimes: [{name: x, libraries: [/usr/lib/libx.so]}]}|jit.runtimes[0].libraries[0]: '/usr/lib/libx.so' must be a file name pattern",
        "known_debuggers: [/usr/bin/gdb]|known_debuggers[0]: '/usr/bin/gdb' must be an executable's file name",
        "rules: [/no/such/rules.yar]|rules[0]: /no/such/rules.yar does not exist",
        "rules: []|rules: the list is empty",
        "protected: sshd|protected: expected a list, found 'sshd'",
        "- just a list|expected a mapping of keys to values, found a list",
    })
    void badValuesNameTheKey(String yaml, String expected) {
        String msg = error("m.yaml", yaml);
        assertTrue(msg.startsWith("m.yaml: "), msg);
        assertTrue(msg.contains(expected), msg + "\n  does not contain: " + expected);
    }

    @Test
    void syntaxErrorsAndDuplicatesGiveTheLine() {
        String yaml = error("m.yaml", "scan:\n  threads: 2\n   bad: [\n");
        assertTrue(yaml.matches("m\\.yaml: line \\d+, column \\d+: not valid YAML: .*"), yaml);
        String dup = error("m.yaml", "scan: {threads: 2}\nscan: {threads: 3}\n");
        assertTrue(dup.contains("Duplicate field 'scan'"), dup);
        String json = error("m.json", "{\"scan\": {\"threads\": 2,}}");
        assertTrue(json.matches("m\\.json: line 1, column \\d+: not valid JSON: .*"), json);
    }

    @Test
    void missingFileIsOneClearError(@TempDir Path dir) {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(dir.resolve("nope.yaml")));
        assertEquals(dir.resolve("nope.yaml") + ": does not exist", e.getMessage());
        ConfigException d = assertThrows(ConfigException.class, () -> ConfigLoader.load(dir));
        assertTrue(d.getMessage().endsWith(": is not a regular file"), d.getMessage());
    }

    @Test
    void evidenceKeysOfTheResponse(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("m.yaml");
        Files.writeString(file, "response: {action: dump-kill, evidence_dir: ev, dump_format: RAW, max_region_size: 64K, "
            + "freeze: off}\n");
        ScanConfig c = ConfigLoader.load(file);
        assertEquals(ResponseAction.DUMP_KILL, c.responseAction());
        assertEquals(new EvidenceSettings(dir.resolve("ev"), dev.memsentry.agent.DumpFormat.RAW, 65536L, false),
            c.evidence(), "evidence_dir is relative to the file");
        ScanConfig bytes = ConfigLoader.parse(Path.of("m.yaml"), "response: {max_region_size: 0, evidence_dir: /srv/ev}");
        assertEquals(0L, bytes.evidence().maxRegionSize());
        assertEquals(Path.of("/srv/ev"), bytes.evidence().evidenceDir());
        assertNull(bytes.evidence().format(), "unset keys keep the defaults");
        assertNull(bytes.evidence().freeze());
        assertEquals(EvidenceSettings.DEFAULTS, ConfigLoader.parse(Path.of("m.yaml"), "response: {action: kill}").evidence());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "response: {dump_format: elf}|m.yaml: response.dump_format: 'elf' is not a dump format (core, raw)",
        "response: {max_region_size: 10X}|m.yaml: response.max_region_size: '10X' is not a size (examples: 4096, 512K, 10M, 1G)",
        "response: {max_region_size: -1}|m.yaml: response.max_region_size: expected a size such as 10M or a number of bytes, found -1",
        "response: {freeze: maybe}|m.yaml: response.freeze: expected true or false, found 'maybe'",
        "response: {evidence_dir: ''}|m.yaml: response.evidence_dir: expected a non-empty string, found ''"})
    void badEvidenceKeysNameTheKey(String text, String message) {
        assertEquals(message, error("m.yaml", text));
    }

    @Test
    void outputKeysAreReadAndChecked(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("memsentry.yaml");
        Files.writeString(file, """
            output:
              sinks: ["file:alerts.json?keep=2", "kafka://k1:9092,k2:9092/alerts"]
              spool_dir: spool
              spool_max_size: 64M
              shutdown_wait_seconds: 3
              kafka: {compression.type: lz4, linger.ms: 20}
            """);
        OutputSettings o = ConfigLoader.load(file).output();
        assertEquals(List.of("file:alerts.json?keep=2", "kafka://k1:9092,k2:9092/alerts"), o.sinks());
        assertEquals(dir.resolve("spool"), o.spoolDir(), "relative to the file");
        assertEquals(64L << 20, o.spoolMaxSize());
        assertEquals(3, o.shutdownWaitSeconds());
        assertEquals(java.util.Map.of("compression.type", "lz4", "linger.ms", "20"), o.kafka());
        assertEquals(OutputSettings.DEFAULTS, ScanConfig.defaults().output());

        assertTrue(error("m.yaml", "output: {sinks: ['syslog+tcp://relay']}")
            .contains("output.sinks[0]: sink 'syslog+tcp://relay': 'relay' is not HOST:PORT"));
        assertTrue(error("m.yaml", "output: {sinks: ['gopher://x:70']}").contains("unknown scheme 'gopher'"));
        assertTrue(error("m.yaml", "output: {spool: /x}").contains("output.spool: unknown key"));
        assertTrue(error("m.yaml", "output: {spool_max_size: 1K}").contains("at least 4K"));
        assertTrue(error("m.yaml", "output: {kafka: {acks: [all]}}").contains("output.kafka.acks"));
    }
}
