package dev.memsentry.detect.yara;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.NativeAgent;
import dev.memsentry.agent.Status;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Victim;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java API over the native engine, against the victim the C oracle tests use. */
class YaraScannerTest {
    static final Path RULES = Path.of("tests-native", "rules");
    static NativeAgent agent;

    @BeforeAll
    static void open() {
        NativeSupport.requireNative();
        agent = NativeAgent.open();
        assertTrue(Yara.status().available(), Yara.status().detail());
    }

    @AfterAll
    static void close() {
        if (agent != null) {
            agent.close();
        }
    }

    @Test
    void findsTheVictimsMarkersWithAddressesTagsAndMetadata() throws Exception {
        try (Victim v = Victim.start("victim_yara");
             YaraRules rules = YaraRules.compile(agent, RULES.resolve("good/markers.yar"));
             YaraScanner scanner = rules.newScanner()) {
            assertEquals(5, rules.ruleCount());
            List<YaraMatch> matches = scanner.scan(v.pid(), YaraScanOptions.DEFAULTS);
            Map<String, YaraMatch> byRule = matches.stream().collect(Collectors.toMap(YaraMatch::rule, m -> m));
            YaraMatch alpha = byRule.get("heap_alpha");
            assertEquals("default", alpha.namespace());
            assertEquals(List.of("victim", "heap"), alpha.tags());
            assertEquals(v.pid(), alpha.pid());
            assertEquals("the heap marker", alpha.meta("description").orElseThrow());
            assertEquals(70L, alpha.meta("severity").orElseThrow());
            assertEquals(true, alpha.meta("tested").orElseThrow());
            YaraStringMatch s = alpha.strings().get(0);
            assertEquals("$alpha", s.identifier());
            assertEquals(v.hex("alpha"), s.address());
            assertEquals("MEMSENTRY-YARA-ALPHA-4242", new String(s.data(), StandardCharsets.US_ASCII));
            assertEquals(25, s.length());
            assertEquals(v.hex("memfd"), byRule.get("memfd_marker").strings().get(0).address());
            assertTrue(byRule.containsKey("rodata_string"));
            assertTrue(byRule.containsKey("straddling_beta"));
        }
    }

    @Test
    void streamedAndWholeBlockReadsGiveTheSameMatches() throws Exception {
        try (Victim v = Victim.start("victim_bigheap", "32");
             YaraRules rules = YaraRules.compile(agent, RULES.resolve("big/markers.yar"));
             YaraScanner scanner = rules.newScanner()) {
            List<YaraMatch> streamed = scanner.scan(v.pid(), YaraScanOptions.DEFAULTS);
            List<YaraMatch> whole = scanner.scan(v.pid(), YaraScanOptions.DEFAULTS.withStreaming(false));
            assertEquals(whole, streamed);
            assertEquals(1, streamed.size());
            List<Long> addresses = streamed.get(0).strings().stream().map(YaraStringMatch::address).toList();
            assertEquals(List.of(v.hex("marker0"), v.hex("marker1"), v.hex("marker2"), v.hex("marker3")), addresses);
        }
    }

    @Test
    void smallBlocksLoseTheStraddlingMarkerAsYaraWould() throws Exception {
        try (Victim v = Victim.start("victim_yara");
             YaraRules rules = YaraRules.compile(agent, RULES.resolve("good/markers.yar"));
             YaraScanner scanner = rules.newScanner()) {
            List<String> found = scanner.scan(v.pid(), YaraScanOptions.DEFAULTS.withMaxBlockSize(64 * 1024))
                .stream().map(YaraMatch::rule).toList();
            assertFalse(found.contains("straddling_beta"), found.toString());
            assertTrue(found.contains("heap_alpha"), found.toString());
        }
    }

    @Test
    void aBrokenRuleGivesFileLineAndMessageAndStatusMalformed() {
        Path broken = RULES.resolve("bad/broken.yar");
        YaraCompileException e = assertThrows(YaraCompileException.class, () -> YaraRules.compile(agent, broken));
        assertEquals(Status.MALFORMED, e.status());
        assertEquals(1, e.errors().size());
        YaraDiagnostic d = e.errors().get(0);
        assertEquals(broken.toString(), d.file());
        assertEquals(9, d.line());
        assertTrue(d.message().contains("undefined string"), d.message());
        assertTrue(e.getMessage().startsWith(broken + "(9): "), e.getMessage());
    }

    @Test
    void missingRulesPathIsAClearInvalidArgument() {
        AgentException e = assertThrows(AgentException.class,
            () -> YaraRules.compile(agent, Path.of("/nonexistent/memsentry.yar")));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.getMessage().contains("/nonexistent/memsentry.yar"), e.getMessage());
    }

    @Test
    void compiledRulesLoadAndScanersOnSeveralThreadsAgree(@TempDir Path tmp) throws Exception {
        Path compiled = tmp.resolve("markers.yarc");
        Process yarac = new ProcessBuilder("yarac", RULES.resolve("good/markers.yar").toString(), compiled.toString())
            .redirectErrorStream(true).start();
        assertEquals(0, yarac.waitFor(), new String(yarac.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        assertTrue(Files.size(compiled) > 0);
        try (Victim v = Victim.start("victim_yara"); YaraRules rules = YaraRules.load(agent, compiled)) {
            Map<Integer, List<String>> results = new ConcurrentHashMap<>();
            Thread[] threads = new Thread[3];
            for (int i = 0; i < threads.length; i++) {
                int n = i;
                threads[i] = new Thread(() -> {
                    try (YaraScanner s = rules.newScanner()) {
                        results.put(n, s.scan(v.pid(), YaraScanOptions.DEFAULTS).stream().map(YaraMatch::rule)
                            .sorted().toList());
                    }
                });
                threads[i].start();
            }
            for (Thread t : threads) {
                t.join();
            }
            assertEquals(3, results.size());
            assertEquals(results.get(0), results.get(1));
            assertEquals(results.get(0), results.get(2));
            assertTrue(results.get(0).contains("heap_alpha"), results.toString());
        }
    }

    @Test
    void aSinkThatThrowsStopsTheScanAndTheScannerStaysUsable() throws Exception {
        try (Victim v = Victim.start("victim_yara");
             YaraRules rules = YaraRules.compile(agent, RULES.resolve("good/markers.yar"));
             YaraScanner scanner = rules.newScanner()) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> scanner.scan(v.pid(), YaraScanOptions.DEFAULTS, m -> {
                    throw new IllegalStateException("sink failed on " + m.rule());
                }));
            assertTrue(e.getMessage().startsWith("sink failed on "), e.getMessage());
            assertEquals(5, scanner.scan(v.pid(), YaraScanOptions.DEFAULTS).size());
        }
    }

    @Test
    void stoppingCancellingAndAVanishedProcess() throws Exception {
        try (YaraRules rules = YaraRules.compile(agent, RULES.resolve("good")); YaraScanner scanner = rules.newScanner()) {
            long gone;
            try (Victim v = Victim.start("victim_yara")) {
                int[] seen = new int[1];
                YaraScanStats stats = scanner.scan(v.pid(), YaraScanOptions.DEFAULTS, m -> ++seen[0] < 1);
                assertTrue(stats.stopped());
                assertEquals(1, seen[0]);
                YaraScanStats full = scanner.scan(v.pid(), YaraScanOptions.DEFAULTS.withTimeout(Duration.ofSeconds(60)),
                    m -> true);
                assertFalse(full.stopped());
                assertTrue(full.rulesMatched() >= 5, full.toString());
                assertTrue(full.bytesRead() > 0 && full.blocks() > 10, full.toString());
                gone = v.pid();
            }
            AgentException e = assertThrows(AgentException.class, () -> scanner.scan(gone, YaraScanOptions.DEFAULTS));
            assertEquals(Status.NO_SUCH_PROCESS, e.status(), e.getMessage());
        }
    }
}
