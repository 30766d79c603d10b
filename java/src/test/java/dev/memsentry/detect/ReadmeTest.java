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
}
