package dev.memsentry.output;

import java.io.PrintWriter;

/**
 * One JSON object per line, flushed per record, written field by field. For short commands
 * ({@code ps}): setting Jackson up (its ObjectMapper, or even jackson-core's factory and generator
 * classes) costs a cold JVM more than listing a hundred processes. Strings are escaped as Jackson
 * escapes them (the quote, the backslash, and control characters: the short form where JSON has
 * one, else a six-character escape with upper-case hex), so the lines are the same as
 * {@link JsonLines} prints for the same fields.
 */
public final class JsonObjectLines {
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private final PrintWriter out;
    private final StringBuilder line = new StringBuilder(512);
    private boolean first;

    public JsonObjectLines(PrintWriter out) {
        this.out = out;
    }

    /** Writes one record's fields (the braces are written around them). */
    public interface Fields {
        void write(JsonObjectLines record);
    }

    public void write(Fields fields) {
        line.setLength(0);
        startObject();
        fields.write(this);
        endObject();
        out.println(line);
        out.flush();
    }

    public JsonObjectLines field(String name, long value) {
        name(name).append(value);
        return this;
    }

    public JsonObjectLines field(String name, boolean value) {
        name(name).append(value);
        return this;
    }

    /** A string field; null is written as JSON null. */
    public JsonObjectLines field(String name, String value) {
        name(name);
        string(value);
        return this;
    }

    public JsonObjectLines field(String name, Iterable<String> values) {
        name(name).append('[');
        boolean firstValue = true;
        for (String v : values) {
            if (!firstValue) {
                line.append(',');
            }
            string(v);
            firstValue = false;
        }
        line.append(']');
        return this;
    }

    /** Starts a nested object field; end it with {@link #endObject()}. */
    public JsonObjectLines startObject(String name) {
        name(name);
        return startObject();
    }

    private JsonObjectLines startObject() {
        line.append('{');
        first = true;
        return this;
    }

    public JsonObjectLines endObject() {
        line.append('}');
        first = false;
        return this;
    }

    private StringBuilder name(String name) {
        if (!first) {
            line.append(',');
        }
        first = false;
        string(name);
        return line.append(':');
    }

    private void string(String s) {
        if (s == null) {
            line.append("null");
            return;
        }
        line.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> line.append("\\\"");
                case '\\' -> line.append("\\\\");
                case '\b' -> line.append("\\b");
                case '\f' -> line.append("\\f");
                case '\n' -> line.append("\\n");
                case '\r' -> line.append("\\r");
                case '\t' -> line.append("\\t");
                default -> {
                    if (c < 0x20) {
                        line.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xf]);
                    } else {
                        line.append(c);
                    }
                }
            }
        }
        line.append('"');
    }
}
