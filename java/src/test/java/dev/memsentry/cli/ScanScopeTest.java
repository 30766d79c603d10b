package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** --scope mistakes are usage errors: one line, exit 2, nothing scanned (ContainerIT runs real scopes). */
class ScanScopeTest {
    private static void assertUsage(String expected, String... args) {
        CliRun r = CliRun.of(args);
        assertEquals(ExitCodes.USAGE, r.exitCode(), r.err());
        assertTrue(r.err().contains(expected), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void scopeNeedsAllAndAContainer() {
        assertUsage("--scope applies to --all", "scan", "--pid", "1", "--scope", "container:8e2c");
        assertUsage("is not a container scope", "scan", "--all", "--scope", "tree:1");
        assertUsage("needs a container id or name", "scan", "--all", "--scope", "container:");
    }
}
