package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.memsentry.agent.TrustedCode;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Victim;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * As root, MEMSENTRY_NATIVE_LIB and MEMSENTRY_PYTHON name code root would run: a file another user
 * owns (or may replace) is refused with one line and exit 3, never loaded and never a silent
 * fall-back; the interpreter is never looked up through PATH.
 */
class CodeOverridesIT {
    @TempDir
    Path tmp;

    @BeforeEach
    void asRoot() {
        NativeSupport.requireNative();
        assumeTrue(TrustedCode.runningAsRoot(), "the rules apply to root");
    }

    private static CliIT.Run run(Map<String, String> env, String... args) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(CliIT.jarCommand(List.of(), List.of(), args));
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new CliIT.Run(p.exitValue(), out, err);
    }

    private Path copyOwnedByNobody(Path from, String name) throws Exception {
        Path copy = Files.copy(from, tmp.resolve(name));
        Files.setAttribute(copy, "unix:uid", 65534);
        return copy;
    }

    @Test
    void aNativeLibraryAnotherUserOwnsIsNotLoaded() throws Exception {
        Path lib = Victim.directory().getParent().resolve("agent-c/libmemsentry.so");
        assumeTrue(Files.isRegularFile(lib), "no built library at " + lib);
        Path theirs = copyOwnedByNobody(lib, "libmemsentry.so");
        CliIT.Run r = run(Map.of("MEMSENTRY_NATIVE_LIB", theirs.toString()), "ps");
        assertEquals(ExitCodes.FAILED, r.code(), r.out() + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("refusing to load code as root") && r.err().contains("owned by uid 65534"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void thePythonOfTheStubMustBeAbsoluteAndRootsAlone() throws Exception {
        CliIT.Run relative = run(Map.of("MEMSENTRY_PYTHON", "python3"), "--backend", "stub", "ps");
        assertEquals(ExitCodes.FAILED, relative.code(), relative.err());
        assertTrue(relative.err().contains("is not an absolute path"), relative.err());
        Path theirs = copyOwnedByNobody(Path.of("/usr/bin/python3").toRealPath(), "python3");
        CliIT.Run foreign = run(Map.of("MEMSENTRY_PYTHON", theirs.toString()), "--backend", "stub", "ps");
        assertEquals(ExitCodes.FAILED, foreign.code(), foreign.err());
        assertTrue(foreign.err().contains("owned by uid 65534"), foreign.err());
        assertEquals("", foreign.out());
        // Without an override root runs /usr/bin/python3, whatever PATH says.
        Path decoy = Files.createDirectory(tmp.resolve("bin"));
        Files.writeString(decoy.resolve("python3"), "#!/bin/sh\necho decoy >&2; exit 1\n");
        decoy.resolve("python3").toFile().setExecutable(true);
        CliIT.Run plain = run(Map.of("PATH", decoy + ":/usr/bin:/bin"), "--backend", "stub", "ps");
        assertEquals(0, plain.code(), plain.err());
        assertTrue(!plain.err().contains("decoy"), plain.err());
    }
}
