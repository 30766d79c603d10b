package dev.memsentry.detect.yara;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.BytesText;
import dev.memsentry.agent.NativeAgent;
import dev.memsentry.agent.Status;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Compiled YARA rules, compiled once per run and shared by every scanner (one
 * {@link YaraScanner} per worker thread). Thread-safe. The agent they were compiled with must stay
 * open while they are used; scanners keep the native rules alive until they are closed too.
 *
 * <pre>{@code
 * try (YaraRules rules = YaraRules.compile(agent, Path.of("rules/"));
 *      YaraScanner scanner = rules.newScanner()) {
 *     scanner.scan(pid, YaraScanOptions.DEFAULTS, match -> { ...; return true; });
 * }
 * }</pre>
 */
public final class YaraRules implements AutoCloseable {
    private final long handle;
    private final Path source;
    private final int ruleCount;
    private final List<YaraDiagnostic> warnings;
    private boolean closed;

    private YaraRules(long handle, Path source, List<YaraDiagnostic> warnings) {
        this.handle = handle;
        this.source = source;
        int[] count = new int[1];
        Yara.check(YaraNative.ruleCount(handle, count));
        this.ruleCount = count[0];
        this.warnings = List.copyOf(warnings);
    }

    /**
     * Compiles a rules source file, a directory of {@code *.yar}/{@code *.yara} files (not recursive,
     * name order, one namespace, like {@code yara DIR/*.yar}), or loads a file compiled by yarac
     * (recognised by its header).
     *
     * @throws YaraCompileException a rule does not compile (status MALFORMED), with every error
     * @throws AgentException       UNSUPPORTED when YARA is off; INVALID_ARGUMENT for a missing path
     */
    public static YaraRules compile(Agent agent, Path path) {
        return compile(agent, path, false, d -> { });
    }

    /**
     * As {@link #compile(Agent, Path)}; every warning and error also goes to diagnostics. A file compiled
     * by yarac is refused (INVALID_ARGUMENT) unless allowCompiled: libyara does not validate compiled
     * rules, so they are safe only from a trusted source.
     */
    public static YaraRules compile(Agent agent, Path path, boolean allowCompiled,
                                    Consumer<YaraDiagnostic> diagnostics) {
        NativeAgent nativeAgent = Yara.nativeAgent(agent);
        Yara.requireAvailable();
        List<YaraDiagnostic> errors = new ArrayList<>();
        List<YaraDiagnostic> warnings = new ArrayList<>();
        long[] out = new long[1];
        int code = YaraNative.compile(nativeAgent.nativeHandle(), Yara.bytes(path.toString()), null, allowCompiled,
            (level, file, line, message) -> {
                YaraDiagnostic d = new YaraDiagnostic(level == 0 ? YaraDiagnostic.Level.ERROR
                    : YaraDiagnostic.Level.WARNING, BytesText.decode(file), line, BytesText.decode(message));
                (d.level() == YaraDiagnostic.Level.ERROR ? errors : warnings).add(d);
                diagnostics.accept(d);
            }, out);
        if (code == Status.MALFORMED.ordinal() && !errors.isEmpty()) {
            throw new YaraCompileException(BytesText.decode(YaraNative.lastError()), errors);
        }
        Yara.check(code);
        return new YaraRules(out[0], path, warnings);
    }

    /** Loads a file compiled by yarac; MALFORMED when it is not one or comes from another YARA. */
    public static YaraRules load(Agent agent, Path compiled) {
        NativeAgent nativeAgent = Yara.nativeAgent(agent);
        Yara.requireAvailable();
        long[] out = new long[1];
        Yara.check(YaraNative.load(nativeAgent.nativeHandle(), Yara.bytes(compiled.toString()), out));
        return new YaraRules(out[0], compiled, List.of());
    }

    public Path source() {
        return source;
    }

    /** Rules compiled (private and global ones included). */
    public int ruleCount() {
        return ruleCount;
    }

    /** Compiler warnings (the rules compiled). */
    public List<YaraDiagnostic> warnings() {
        return warnings;
    }

    /** A new scanner over these rules, for one thread at a time. */
    public synchronized YaraScanner newScanner() {
        if (closed) {
            throw new IllegalStateException("rules are closed");
        }
        long[] out = new long[1];
        Yara.check(YaraNative.openScanner(handle, out));
        return new YaraScanner(out[0]);
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            YaraNative.closeRules(handle);
        }
    }
}
