package dev.memsentry.output;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;

/**
 * One JSON object per line, flushed per record, written field by field through {@link JsonLine}
 * (which writes what Jackson writes for the same fields). For short commands ({@code ps}): setting
 * Jackson up (its ObjectMapper, or even jackson-core's factory and generator classes) costs a cold
 * JVM more than listing a hundred processes, so the lines are the same as {@link JsonLines} prints
 * without any of it being loaded.
 */
public final class JsonObjectLines {
    private final PrintWriter out;
    private final JsonLine line = new JsonLine();

    public JsonObjectLines(PrintWriter out) {
        this.out = out;
    }

    /** Writes one record's fields (the braces are written around them). */
    public interface Fields {
        void write(JsonObjectLines record);
    }

    public void write(Fields fields) {
        line.clear();
        line.startObject();
        fields.write(this);
        line.endObject();
        try {
            line.writeTo(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a PrintWriter does not throw; it sets its error flag
        }
        out.println();
        out.flush();
    }

    public JsonObjectLines field(String name, long value) {
        line.field(name, value);
        return this;
    }

    public JsonObjectLines field(String name, boolean value) {
        line.name(name).bool(value);
        return this;
    }

    /** A string field; null is written as JSON null. */
    public JsonObjectLines field(String name, String value) {
        line.name(name);
        string(value);
        return this;
    }

    public JsonObjectLines field(String name, Iterable<String> values) {
        line.name(name).startArray();
        for (String v : values) {
            string(v);
        }
        line.endArray();
        return this;
    }

    /** Starts a nested object field; end it with {@link #endObject()}. */
    public JsonObjectLines startObject(String name) {
        line.name(name).startObject();
        return this;
    }

    public JsonObjectLines endObject() {
        line.endObject();
        return this;
    }

    private void string(String s) {
        if (s == null) {
            line.nul();
        } else {
            line.string(s);
        }
    }
}
