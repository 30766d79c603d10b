package dev.memsentry.output;

/**
 * Text a process chose (its name, command line, mapped paths) made safe for a terminal or a log:
 * C0 controls and DEL become {@code \xNN}, C1 controls and the bidirectional embeddings, overrides
 * and isolates (U+202A..U+202E, U+2066..U+2069) become <code>&#92;uNNNN</code>. No newline, escape sequence
 * or reordering survives, so such text cannot forge rows or log lines, recolour the terminal, set
 * its title or clear it. Everything else, backslashes included, is kept.
 */
public final class TerminalText {
    private TerminalText() {
    }

    /** Whether c must not reach a terminal raw. */
    static boolean unsafe(char c) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= '\u202a' && c <= '\u202e')
            || (c >= '\u2066' && c <= '\u2069');
    }

    /** s with every unsafe character escaped; s itself when it holds none (the common case). */
    public static String escape(String s) {
        return escape(s, 0);
    }

    /**
     * As {@link #escape(String)}, keeping the tabs that start s: the indentation of stack-trace
     * lines, which a log may carry.
     */
    public static String escapeKeepingIndent(String s) {
        int from = 0;
        while (from < s.length() && s.charAt(from) == '\t') {
            from++;
        }
        return escape(s, from);
    }

    private static String escape(String s, int from) {
        int i = from;
        while (i < s.length() && !unsafe(s.charAt(i))) {
            i++;
        }
        if (i == s.length()) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length() + 16).append(s, 0, i);
        for (; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!unsafe(c)) {
                out.append(c);
            } else if (c < 0x80) {
                out.append(String.format("\\x%02x", (int) c));
            } else {
                out.append(String.format("\\u%04x", (int) c));
            }
        }
        return out.toString();
    }
}
