package dev.memsentry.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.config.ConfigLoader;
import dev.memsentry.config.ScanConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's rule table and configuration example stay true to the code. */
class ReadmeTest {
    private static String readme() throws Exception {
        return Files.readString(Path.of("README.md"));
    }

    @Test
    void everyBuiltinRuleIsInTheTableWithItsSeverityAndTechnique() throws Exception {
        String text = readme();
        for (Rule r : BuiltinRules.ALL) {
            String row = "| `" + r.id() + "` | " + r.severity().wireName() + " | " + r.techniqueId() + " | "
                + (r.jitSensitive() ? "yes " : "") + "|";
            assertTrue(text.contains(row), "README lacks the row starting " + row);
        }
    }

    @Test
    void theConfigurationExampleLoads(@TempDir Path dir) throws Exception {
        String text = readme();
        int start = text.indexOf("```yaml\nrules:");
        assertTrue(start >= 0, "no configuration example");
        int end = text.indexOf("```", start + 7);
        Path file = dir.resolve("memsentry.yaml");
        Files.writeString(file, text.substring(start + 8, end));
        Files.createDirectories(dir.resolve("rules"));
        ScanConfig c = ConfigLoader.load(file);
        assertEquals(false, c.heuristics().get("memory.rwx").enabled());
        assertEquals(Severity.CRITICAL, c.heuristics().get("code.patched").severity());
        assertEquals(1, c.allowlist().size());
        assertEquals(dir.resolve("rules"), c.rules().get(0));
    }

    /** The packaged /etc/memsentry/config.yaml loads as it is, and names every key of the README's example. */
    @Test
    void thePackagedConfigurationLoadsAndHasEveryKeyOfTheReference() throws Exception {
        Path packaged = Path.of("packaging/config.yaml");
        ScanConfig c = ConfigLoader.load(packaged);
        assertEquals(ScanConfig.defaults().knownDebuggers(), c.knownDebuggers());
        String text = readme();
        int start = text.indexOf("```yaml\nrules:");
        String reference = text.substring(start + 8, text.indexOf("```", start + 7));
        java.util.Set<String> want = keyPaths(reference);
        // Keys shown commented out count: "# key:" and "#   - item" lines are read as if uncommented.
        StringBuilder uncommented = new StringBuilder();
        for (String line : Files.readAllLines(packaged)) {
            uncommented.append(line.replaceFirst("^(\\s*)# ?(?=\\s*([A-Za-z_][\\w.]*:|- ))", "$1")).append('\n');
        }
        java.util.Set<String> have = keyPaths(uncommented.toString());
        for (String key : want) {
            assertTrue(have.contains(key), "packaging/config.yaml lacks " + key + " (has " + have + ")");
        }
    }

    /** "response.action", "jit.runtimes", ...: the object keys of a YAML document, lists not entered. */
    private static java.util.Set<String> keyPaths(String yaml) throws Exception {
        java.util.Set<String> out = new java.util.TreeSet<>();
        collect(new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
            .readTree(yaml), "", out);
        return out;
    }

    private static void collect(com.fasterxml.jackson.databind.JsonNode n, String prefix, java.util.Set<String> out) {
        if (n != null && n.isObject() && !prefix.equals("heuristics.")) {
            n.properties().forEach(e -> {
                out.add(prefix + e.getKey());
                collect(e.getValue(), prefix + e.getKey() + ".", out);
            });
        }
    }
}
