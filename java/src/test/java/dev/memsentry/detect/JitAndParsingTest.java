package dev.memsentry.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.agent.ProcessInfo;
import dev.memsentry.agent.Region;
import dev.memsentry.agent.RegionKind;
import dev.memsentry.config.JitRuntime;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class JitAndParsingTest {
    private static Region file(String path, RegionKind kind) {
        return new Region(0x1000, 0x2000, 0, 7, 8, 1, Region.READ | Region.EXEC | Region.PRIVATE, kind, path);
    }

    private static ProcessInfo proc(String exe, int flags) {
        return new ProcessInfo(10, 1, 0, flags, "x", exe, List.of(exe));
    }

    @Test
    void aMappedRuntimeLibraryMakesAJitRuntimeWhateverTheName() {
        Optional<JitRuntime> rt = ProcessContext.jitRuntime(JitRuntime.DEFAULTS, proc("/opt/app/server", 0),
            List.of(file("/usr/lib/jvm/java-17/lib/server/libjvm.so", RegionKind.FILE)));
        assertEquals("jvm", rt.orElseThrow().name());
    }

    @Test
    void aDeletedOrMemfdLibraryDoesNot() {
        assertTrue(ProcessContext.jitRuntime(JitRuntime.DEFAULTS, proc("/opt/x", 0),
            List.of(file("/tmp/libjvm.so (deleted)", RegionKind.DELETED))).isEmpty());
        assertTrue(ProcessContext.jitRuntime(JitRuntime.DEFAULTS, proc("/memfd:java (deleted)", ProcessInfo.EXE_DELETED),
            List.of()).isEmpty(), "a memfd named java is not a JVM");
        assertTrue(ProcessContext.jitRuntime(JitRuntime.DEFAULTS, proc("/tmp/node (deleted)", ProcessInfo.EXE_DELETED),
            List.of()).isEmpty());
    }

    @Test
    void executableNamesAndGlobs() {
        assertEquals("node", ProcessContext.jitRuntime(JitRuntime.DEFAULTS, proc("/usr/bin/node", 0), List.of())
            .orElseThrow().name());
        assertEquals("pypy", ProcessContext.jitRuntime(JitRuntime.DEFAULTS, proc("/usr/bin/pypy3.10", 0), List.of())
            .orElseThrow().name());
        assertTrue(ProcessContext.jitRuntime(JitRuntime.DEFAULTS, proc("/usr/bin/python3", 0), List.of()).isEmpty());
        JitRuntime lua = JitRuntime.DEFAULTS.stream().filter(r -> r.name().equals("luajit")).findFirst().orElseThrow();
        assertTrue(lua.matchesLibrary("libluajit-5.1.so.2.1.0"));
        assertFalse(lua.matchesLibrary("liblua5.1.so.0"));
    }

    @Test
    void preloadListsSplitLikeTheDynamicLinker() {
        assertEquals(List.of("/a.so", "/b.so", "libc.so"), InjectionCheck.splitLibraries(" /a.so:/b.so  libc.so "));
        assertEquals(List.of(), InjectionCheck.splitLibraries("  : "));
    }

    @Test
    void sizesReadWell() {
        assertEquals("512 B", ScanSummary.size(512));
        assertEquals("1.5 KiB", ScanSummary.size(1536));
        assertEquals("2.0 GiB", ScanSummary.size(2L << 30));
    }
}
