package dev.memsentry.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.io.ByteArrayOutputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TerminalTextTest {
    @Test
    void controlsDelC1AndBidiOverridesAreEscaped() {
        assertEquals("a\\x0a\\x1b[2J\\x1b]0;t\\x07\\x7f\\u0085\\u009b\\u202e\\u2066\\u2069b",
            TerminalText.escape("a\n\u001b[2J\u001b]0;t\u0007\u007f\u0085\u009b\u202e\u2066\u2069b"));
        assertEquals("tab\\x09cr\\x0d", TerminalText.escape("tab\tcr\r"));
    }

    @Test
    void everythingElseIsKeptAsIs() {
        String s = "/tmp/évidence ✓ C:\\Windows \\xff \u202f\u2065\u206a";
        assertSame(s, TerminalText.escape(s));
    }

    @Test
    void leadingTabsOfAStackTraceLineSurviveInLogs() {
        assertEquals("\t\tat x(\\x0a)", TerminalText.escapeKeepingIndent("\t\tat x(\n)"));
        assertEquals("WARN a\\x09b", TerminalText.escapeKeepingIndent("WARN a\tb"));
    }

    @Test
    void tableCellsCannotForgeRows() {
        Table t = new Table("PID", "NAME");
        t.add(1, "evil\n2  forged");
        StringWriter w = new StringWriter();
        t.print(new java.io.PrintWriter(w));
        assertEquals(2, w.toString().lines().count(), w.toString());
    }

    @Test
    void logAndErrorLinesAreEscapedWholeButPrintIsNot() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TerminalSafeStream s = new TerminalSafeStream(bytes)) {
            s.println("WARN pid 5 (n\n\u001b[31mx): gone");
            s.print("\rprogress");
        }
        assertEquals("WARN pid 5 (n\\x0a\\x1b[31mx): gone" + System.lineSeparator() + "\rprogress",
            bytes.toString(StandardCharsets.UTF_8));
        bytes.reset();
        try (TerminalSafeWriter w = new TerminalSafeWriter(bytes)) {
            w.println("memsentry: refusing pid 5 (a\u202eb)");
            w.print("\r");
        }
        assertEquals("memsentry: refusing pid 5 (a\\u202eb)" + System.lineSeparator() + "\r",
            bytes.toString(StandardCharsets.UTF_8));
    }
}
