package dev.memsentry.output;

import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/**
 * The command line's error writer: each {@code println} is one message ("memsentry: ..."), often
 * with a process name or path in it, and is escaped whole ({@link TerminalText}); {@code print}
 * (the progress bar's carriage returns) is left alone.
 */
public final class TerminalSafeWriter extends PrintWriter {
    public TerminalSafeWriter(OutputStream out) {
        super(out, true, StandardCharsets.UTF_8);
    }

    /** One message: escaped whole, then ended. */
    @Override
    public void println(String message) {
        super.println(TerminalText.escapeKeepingIndent(String.valueOf(message)));
    }
}
