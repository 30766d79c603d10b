package dev.memsentry.output;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Standard error for log lines: slf4j-simple writes each message with one {@code println}, so
 * escaping there ({@link TerminalText}) covers every log call that names a process or a path,
 * without touching progress drawn with {@code print}.
 */
public final class TerminalSafeStream extends PrintStream {
    public TerminalSafeStream(OutputStream out) {
        super(out, true, StandardCharsets.UTF_8);
    }

    @Override
    public void println(String line) {
        super.println(line == null ? null : TerminalText.escapeKeepingIndent(line));
    }

    @Override
    public void println(Object o) {
        println(String.valueOf(o));
    }
}
